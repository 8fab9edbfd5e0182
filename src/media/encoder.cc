#include "media/encoder.h"

#include <algorithm>
#include <sstream>

#include "common/log.h"
#include "common/subprocess.h"

namespace hlsforge::media {

std::chrono::milliseconds DefaultEncodeTimeout(double duration_s) {
  using std::chrono::milliseconds;
  milliseconds scaled(static_cast<int64_t>(std::max(0.0, duration_s) * 20 * 1000));
  return std::max(milliseconds(10 * 60 * 1000), scaled);
}

Status ClassifyFfmpegFailure(int exit_code, std::string_view err) {
  std::string text(err);
  std::string last;
  {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) last = line;
    }
  }
  if (last.size() > 200) last = last.substr(0, 200) + "...";
  auto has = [&](const char* s) { return text.find(s) != std::string::npos; };
  if (has("No space left on device")) return ResourceExhausted("disk full while encoding");
  if (has("Permission denied") || has("Read-only file system")) {
    return PermissionDenied("cannot write the output: " + last);
  }
  if (has("Invalid data found") || has("Error while decoding") || has("corrupt") ||
      has("partial file") || has("moov atom not found") || has("Format not on whitelist") ||
      has("Protocol not on whitelist") || has("Unsafe file name")) {
    return BadInput("input cannot be decoded: " + last);
  }
  return Internal("ffmpeg failed (exit " + std::to_string(exit_code) + ")" +
                  (last.empty() ? "" : ": " + last));
}

Status RunEncodeCommand(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                        double duration_s, const RunOptions& options) {
  ProgressParser parser(duration_s);
  SubprocessOptions so;
  so.cwd = cwd.string();
  so.cancel = options.cancel;
  so.timeout = options.timeout.count() > 0 ? options.timeout : DefaultEncodeTimeout(duration_s);
  so.capture_limit = 64 << 10;
  so.on_stdout_line = [&](const std::string& line) {
    auto p = parser.Feed(line);
    if (p && options.on_progress) options.on_progress(*p);
  };
  HF_LOG_DEBUG("ffmpeg: {}", ShellQuoteForLog(argv));
  auto r = RunSubprocess(argv, so);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) {
      return Internal("ffmpeg is not installed: " + r.status().message());
    }
    return r.status();
  }
  if (r->signaled) {
    return Internal("ffmpeg was killed by signal " + std::to_string(r->signal));
  }
  if (r->exit_code != 0) return ClassifyFfmpegFailure(r->exit_code, r->err);
  return Status::Ok();
}

}  // namespace hlsforge::media
