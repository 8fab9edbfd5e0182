// Ladder planning: which renditions a source gets, at which sizes and rates.
//
// Pure functions of (SourceInfo, Profile); no I/O, thread-safe, deterministic.
//
// Rules (issue 2): never upscale; rungs are named by the SHORT side (a portrait 720p rung is
// 720x1280; rotation metadata counts, since ffmpeg autorotates before scaling); aspect kept
// and both dimensions even; a source within `near_rung_tolerance` under a rung gets that rung
// at its own size; a source more than `extra_top_margin` above the highest kept rung gets an
// extra top rung at its own size with bitrates scaled by pixel count; a source below every rung
// gets one rung at its own size. Rendition index = position, 0 = lowest.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "media/probe.h"
#include "media/profile.h"

namespace hlsforge::media {

struct Rendition {
  int index = 0;      // folder number, 0 = lowest
  std::string label;  // "720p"
  int width = 0;      // output picture, display orientation, even
  int height = 0;
  int64_t video_bitrate = 0;  // -b:v; 0 with CRF
  int64_t maxrate = 0;        // -maxrate; 0 with CRF
  int64_t bufsize = 0;        // -bufsize; 0 with CRF
  int64_t audio_bitrate = 0;  // 0 when the source has no audio
  bool native = false;        // at the source's own size (not scaled to the table height)

  nlohmann::json ToJson() const;
};

struct Ladder {
  std::string profile;
  std::vector<Rendition> renditions;  // ascending size; index == position
  Rational frame_rate;                // constant output rate (capped at profile.max_fps)
  int gop = 0;                        // frames per keyframe interval = round(segment * fps)
  double segment_seconds = 2.0;
  bool audio = false;
  int audio_channels = 2;
  int audio_sample_rate = 48000;
  std::string video_codec = "libx264";
  std::string x264_preset;
  std::string x264_profile;
  int crf = 0;  // > 0: CRF instead of the rungs' bitrates

  nlohmann::json ToJson() const;
};

// Plans the ladder for `src` (uses display_width/height, frame_rate, has_audio).
// kBadInput when the picture size or frame rate is unusable.
Result<Ladder> PlanLadder(const SourceInfo& src, const Profile& profile);

// The output frame rate: the source's, or, above max_fps, the source's divided by the smallest
// integer that brings it under the cap (120 → 60, 100 → 50, 119.88 → 59.94) as long as that
// stays >= 24 fps, else max_fps itself.
Rational PlanFrameRate(const Rational& source, double max_fps);

// Rounds to the nearest even number, at least 2.
int RoundEven(double v);

}  // namespace hlsforge::media
