// Encoding profiles: the data that decides which renditions exist and how they are encoded.
//
// The built-in profiles ("ladder" and "single") are written once, as TOML text in profile.cc,
// and parsed by the same loader that reads user files, so the rung table lives in exactly one
// place. Pure functions: no I/O except LoadProfileFile; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hlsforge::media {

// One row of the ladder table. The label is "<height>p"; `height` is the SHORT side of the
// picture (so a portrait 720p rung is 720x1280).
struct RungSpec {
  int height = 0;
  int64_t video_bitrate = 0;  // target, bits/s (-b:v)
  int64_t maxrate = 0;        // VBV cap, bits/s (-maxrate)
  int64_t bufsize = 0;        // VBV buffer, bits (-bufsize)
  int64_t audio_bitrate = 0;  // AAC, bits/s
};

struct Profile {
  std::string name;
  // true: one rendition at the source's own size (no table), constant quality.
  bool single = false;
  // Ascending by height, distinct heights. Empty iff single.
  std::vector<RungSpec> rungs;

  std::string video_codec = "libx264";
  std::string x264_preset = "faster";
  std::string x264_profile = "high";  // 8-bit 4:2:0 output: High is always enough
  int crf = 0;                        // > 0: CRF rate control (single); 0: capped VBR from rungs
  int64_t audio_bitrate = 0;          // single only (rungs carry their own)
  int audio_channels = 2;
  int audio_sample_rate = 48000;

  double segment_seconds = 2.0;  // also the keyframe interval
  double max_fps = 60.0;         // frame rate kept, capped here
  // A source whose short side is within this fraction under a rung gets that rung at its own
  // size (1278x718 -> "720p" at 1278x718).
  double near_rung_tolerance = 0.05;
  // A source more than this fraction above the highest kept rung gets an extra top rung at its
  // own size (900p -> 360p, 720p, 900p).
  double extra_top_margin = 0.10;
};

// Built-in profiles by name: "ladder" (the DESIGN.md table) and "single" (the mission's basic
// command: one rendition, libx264 CRF 23 preset medium, AAC 128k).
Result<Profile> BuiltinProfile(std::string_view name);

// Parses a profile from TOML text (format: see kLadderToml in profile.cc). kInvalidArgument
// with the offending key on any error; never throws.
Result<Profile> ParseProfileToml(std::string_view toml_text, std::string_view source_name = "");

// "ladder" / "single" → built-in; anything else is read as a TOML file path.
Result<Profile> ResolveProfile(const std::string& name_or_path);

// "800k" / "1.5M" / "96000" → bits/s. kInvalidArgument on junk, negatives or overflow.
Result<int64_t> ParseBitrate(std::string_view text);

}  // namespace hlsforge::media
