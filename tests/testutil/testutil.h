// Helpers for tests: generated media, the hlsforge binary, temp folders.
#pragma once

#include <filesystem>
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

// Path of the built `hlsforge` binary (from the HLSFORGE_BIN compile definition or env).
std::string HlsforgeBin();

// Runs hlsforge with args; never fails unless it could not start.
SubprocessResult RunHlsforge(const std::vector<std::string>& args, int timeout_s = 300);

// Duration in seconds of a media file or playlist as ffprobe reports it (format=duration),
// or a negative number on failure.
double ProbeDuration(const std::string& url_or_path);

}  // namespace hlsforge::testing
