// Probing a source file with ffprobe: what the ladder planner and command builder need to know.
//
// Security: a media file can be a *playlist* in disguise (an HLS or ffconcat text renamed to
// .mp4) that makes a demuxer open other local files or URLs. Every ffprobe/ffmpeg run on an
// input therefore gets `-protocol_whitelist file` AND `-format_whitelist <kAllowedDemuxers>`,
// so only real media containers are ever opened; the encode then forces the demuxer that probing
// detected (`-f <SourceInfo::demuxer>`), so it cannot pick another one.
//
// Probe() blocks (runs ffprobe); the rest are pure functions. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace hlsforge::media {

// Demuxers an input may be read with (ffmpeg names, comma-separated, as -format_whitelist
// wants them): real media containers only. Deliberately absent: hls/applehttp, concat, image2
// and *_pipe image demuxers, lavfi, tty, sdp/rtp/rtsp, subtitle and raw elementary streams.
extern const char kAllowedDemuxers[];

struct Rational {
  int64_t num = 0;
  int64_t den = 1;
  double value() const { return den != 0 ? static_cast<double>(num) / den : 0.0; }
  bool valid() const { return num > 0 && den > 0; }
  std::string ToString() const { return std::to_string(num) + "/" + std::to_string(den); }
  bool operator==(const Rational& o) const { return num * o.den == o.num * den; }
};

// "30000/1001" or "25" → Rational; {0,1} on junk, "0/0" or "N/A".
Rational ParseRational(std::string_view s);

struct SourceInfo {
  std::string path;         // absolute
  std::string format_name;  // ffprobe's, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string demuxer;      // the allowlisted name to force with -f, e.g. "mov"
  double duration = 0;      // seconds (> 0)
  int64_t size_bytes = 0;
  int64_t bit_rate = 0;  // container, bits/s; 0 = unknown

  // Video (the first video stream that is not cover art).
  int video_index = 0;        // stream index within the file
  std::string video_codec;    // "h264", "hevc", "prores", ...
  std::string video_profile;  // "High", "Main 10", ...
  int width = 0, height = 0;  // as coded (storage), before rotation
  Rational sample_aspect{1, 1};
  int rotation = 0;       // clockwise degrees to display upright: 0, 90, 180, 270
  int display_width = 0;  // after SAR and rotation: what a viewer sees
  int display_height = 0;
  Rational avg_frame_rate;
  Rational r_frame_rate;
  Rational frame_rate;  // best estimate of the nominal rate (see ParseProbeJson)
  double fps = 0;       // frame_rate.value()
  bool vfr = false;     // avg and r frame rates disagree
  std::string pix_fmt;  // "yuv420p10le"
  int bit_depth = 8;
  int64_t video_bit_rate = 0;  // 0 = unknown
  int64_t frames = 0;          // nb_frames, 0 = unknown
  bool interlaced = false;     // field_order tt/bb/tb/bt: deinterlace before scaling

  // Audio (the first audio stream).
  bool has_audio = false;
  int audio_index = 0;  // stream index within the file
  std::string audio_codec;
  int audio_channels = 0;
  int audio_sample_rate = 0;
  int64_t audio_bit_rate = 0;

  bool portrait() const { return display_height > display_width; }
  nlohmann::json ToJson() const;
};

struct ProbeOptions {
  std::chrono::milliseconds timeout{60000};
  const std::atomic<bool>* cancel = nullptr;
};

// Runs ffprobe on `input`. kNotFound: no such file. kBadInput (one-line reason): empty,
// truncated, not a regular file, not an allowed container, no video stream, a still image,
// no duration. kDeadlineExceeded / kCancelled / kInternal as the run goes.
Result<SourceInfo> Probe(const std::filesystem::path& input, const ProbeOptions& options = {});

// The pure part of Probe(): ffprobe's `-print_format json -show_format -show_streams` output →
// SourceInfo (path and size_bytes are left for the caller). Same kBadInput rules.
Result<SourceInfo> ParseProbeJson(std::string_view json);

// Turns ffprobe's stderr for a failed probe into a one-line reason, e.g.
// "not a supported video container (looks like 'hls')".
std::string ExplainProbeFailure(std::string_view ffprobe_stderr);

}  // namespace hlsforge::media
