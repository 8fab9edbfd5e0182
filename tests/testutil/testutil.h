// Helpers for tests: generated media, the hlsforge binary, temp folders.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "common/subprocess.h"

namespace hlsforge::testing {

struct ClipSpec {
  int width = 320;
  int height = 180;
  double seconds = 3.0;
  int fps = 30;
  bool audio = true;
  int audio_channels = 2;
  std::string pix_fmt = "yuv420p";  // e.g. yuv420p10le
  std::string vcodec = "libx264";   // e.g. libx265, prores_ks, mpeg4
  std::string container = "mp4";    // extension of the output
  int rotate = 0;                   // display rotation in metadata: 0, 90, 180, 270
  bool vfr = false;                 // variable frame rate
  std::string source = "testsrc2";  // lavfi video source
};

// Generates a clip with ffmpeg's lavfi sources into `dir`; returns its path. Cached per spec
// within `dir`, so repeated calls are cheap.
Result<std::filesystem::path> MakeClip(const std::filesystem::path& dir, const ClipSpec& spec,
                                       const std::string& name = "");

// Sets the display rotation (clockwise degrees: 0, 90, 180, 270) of the video track of an MP4/MOV
// file in place, by rewriting its tkhd matrix.
Status SetMp4Rotation(const std::filesystem::path& path, int degrees);

// Path of the built `hlsforge` binary (from the HLSFORGE_BIN compile definition or env).
std::string HlsforgeBin();

// Runs hlsforge with args; never fails unless it could not start.
SubprocessResult RunHlsforge(const std::vector<std::string>& args, int timeout_s = 300);

// Duration in seconds of a media file or playlist as ffprobe reports it (format=duration),
// or a negative number on failure.
double ProbeDuration(const std::string& url_or_path);

}  // namespace hlsforge::testing

namespace hlsforge::testing {

// A long-running child (e.g. `hlsforge serve`) with stdout+stderr going to a log file.
// Killed with SIGKILL on destruction if still running.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  Status Start(const std::vector<std::string>& argv, const std::filesystem::path& log,
               const std::map<std::string, std::string>& env = {});
  // Sends `sig`; when wait, reaps the child (up to 30 s, then SIGKILL). Returns the exit code,
  // or 128+signal.
  int Stop(int sig, bool wait = true);
  bool Running();
  int pid() const { return pid_; }
  // The log so far.
  std::string Log() const;

 private:
  int pid_ = -1;
  std::filesystem::path log_;
};

// Polls `pred` every 100 ms until it is true or `seconds` pass; returns its last value.
bool WaitFor(const std::function<bool()>& pred, double seconds);

// HTTP GET on 127.0.0.1:port; returns the body, or an error Status for transport failures
// and non-2xx answers (the message carries the status code).
Result<std::string> HttpGet(int port, const std::string& path);

}  // namespace hlsforge::testing
