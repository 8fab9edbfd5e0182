// Running child programs (ffmpeg, ffprobe) without a shell.
//
// Run() blocks the calling thread until the child exits, the time limit passes or
// the cancel flag is raised; in the last two cases the child's whole process group
// gets SIGTERM, then SIGKILL after a grace period. The child also gets SIGKILL if
// this process dies (PR_SET_PDEATHSIG), so a killed worker leaves no orphan ffmpeg.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace hlsforge {

struct SubprocessOptions {
  // 0 = no limit.
  std::chrono::milliseconds timeout{0};
  // Polled every 100 ms; when it becomes true the child is stopped and Run returns kCancelled.
  const std::atomic<bool>* cancel = nullptr;
  // Called for each complete line of stdout / stderr (without the newline), on the calling thread.
  std::function<void(const std::string&)> on_stdout_line;
  std::function<void(const std::string&)> on_stderr_line;
  // Keep at most this many bytes of each stream in the result (the tail).
  size_t capture_limit = 1 << 20;
  // Extra environment entries (the parent's environment is inherited).
  std::map<std::string, std::string> env;
  // Working directory of the child ("" = inherit).
  std::string cwd;
};

struct SubprocessResult {
  int exit_code = -1;     // valid when !signaled
  bool signaled = false;  // killed by a signal
  int signal = 0;
  std::string out;  // captured stdout (tail, up to capture_limit)
  std::string err;  // captured stderr (tail)
};

// argv[0] is looked up in PATH. Returns a non-OK Status only when the program could not be
// started, timed out (kDeadlineExceeded) or was cancelled (kCancelled); a non-zero exit code
// is reported in the result, not as an error.
Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const SubprocessOptions& options = {});

// Quotes argv for logs only (never executed by a shell).
std::string ShellQuoteForLog(const std::vector<std::string>& argv);

}  // namespace hlsforge
