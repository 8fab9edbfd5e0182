// Parsing ffmpeg's `-progress` output (key=value lines, one block per update, each block ending
// with "progress=continue" or "progress=end") into percent / speed / ETA.
//
// Not thread-safe (one parser per ffmpeg run); no I/O.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace hlsforge::media {

struct Progress {
  double percent = 0;     // 0..100 of the source duration
  double speed = 0;       // x realtime; 0 = unknown yet
  double eta_s = -1;      // seconds left; -1 = unknown
  double out_time_s = 0;  // media time encoded so far
  bool done = false;      // ffmpeg said progress=end

  // {"percent":..,"speed":..,"eta_s":..} (eta_s null when unknown).
  nlohmann::json ToJson() const;
};

class ProgressParser {
 public:
  explicit ProgressParser(double duration_s) : duration_s_(duration_s) {}

  // Feeds one line (without newline). Returns an update when a block ends. Junk lines, "N/A"
  // values and negative times are ignored; percent never goes backwards and never exceeds 100.
  std::optional<Progress> Feed(std::string_view line);

 private:
  double duration_s_;
  double out_time_s_ = 0;
  double speed_ = 0;
  double best_percent_ = 0;
};

}  // namespace hlsforge::media
