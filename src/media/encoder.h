// Running the ffmpeg encode built by command.h, with progress, a time limit and cancellation.
//
// RunEncodeCommand blocks the calling thread for the whole encode; progress callbacks run on
// that same thread. Cancellation / timeout stop ffmpeg's whole process group (common/subprocess).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "media/progress.h"

namespace hlsforge::media {

struct RunOptions {
  std::chrono::milliseconds timeout{0};  // 0 = DefaultEncodeTimeout(duration)
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const Progress&)> on_progress;
};

// max(10 min, 20x the source duration).
std::chrono::milliseconds DefaultEncodeTimeout(double duration_s);

// Runs `argv` (an ffmpeg command with `-progress pipe:1`) in `cwd`. kCancelled, kDeadlineExceeded,
// or the classified failure (ClassifyFfmpegFailure) when ffmpeg exits non-zero.
Status RunEncodeCommand(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                        double duration_s, const RunOptions& options);

// Maps a failed ffmpeg's stderr to a Status with a one-line message: kBadInput for undecodable
// input, kResourceExhausted for a full disk, kPermissionDenied for unwritable output, else
// kInternal.
Status ClassifyFfmpegFailure(int exit_code, std::string_view stderr_text);

}  // namespace hlsforge::media
