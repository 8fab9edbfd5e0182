// A finished HLS package from one source file: probe → plan → one ffmpeg run → measure → master.
//
// Output layout (the users' contract, DESIGN.md):
//   OUTDIR/master.m3u8        written by hlsforge from measurements, never by ffmpeg
//   OUTDIR/<i>/index.m3u8     rendition i, 0 = lowest
//   OUTDIR/<i>/<n>.ts         2-second MPEG-TS segments, n from 0
//
// Atomicity: everything is produced in a hidden sibling folder (OUTDIR/../.NAME.tmp-XXXXXX, same
// file system) and renamed onto OUTDIR only when all of it succeeded. On any failure,
// cancellation or timeout the temporary folder is removed and OUTDIR is untouched: no
// master.m3u8 appears. OUTDIR must be missing, empty, or a previous hlsforge package (which is
// replaced); anything else is refused before encoding.
//
// EncodePackage blocks for the whole encode; call it from a worker thread. Progress callbacks run
// on the calling thread. Thread-safe in the sense that concurrent calls on different OUTDIRs are
// independent.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "hls/playlist.h"
#include "media/ladder.h"
#include "media/probe.h"
#include "media/progress.h"

namespace hlsforge::media {

struct EncodeOptions {
  std::string profile = "ladder";        // "ladder", "single" or a TOML profile file
  int threads = 0;                       // ffmpeg -threads; 0 = automatic
  std::string preset_override;           // tests only: replaces the profile's x264 preset
  std::chrono::milliseconds timeout{0};  // encode time limit; 0 = max(10 min, 20x duration)
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const Progress&)> on_progress;
};

// What was actually produced for one rendition (measured, not planned).
struct RenditionResult {
  int index = 0;
  std::string label;  // "720p"
  int width = 0, height = 0;
  int64_t bandwidth = 0;          // peak segment bitrate, bits/s
  int64_t average_bandwidth = 0;  // total bytes * 8 / total duration
  std::string codecs;             // "avc1.64001f,mp4a.40.2"
  double frame_rate = 0;
  int segments = 0;
  int64_t bytes = 0;    // all segments
  double duration = 0;  // sum of EXTINF
  nlohmann::json ToJson() const;
};

struct EncodeResult {
  SourceInfo source;
  Ladder ladder;
  std::vector<RenditionResult> renditions;  // by index
  hls::MasterPlaylist master;               // as written (variants sorted by bandwidth)
  double encode_seconds = 0;                // wall time of the ffmpeg run
  nlohmann::json ToJson() const;
};

// The whole job. Error codes: kNotFound (no input), kBadInput (not a usable video; not worth
// retrying), kInvalidArgument (bad profile), kPermissionDenied / kFailedPrecondition (OUTDIR
// unusable; checked before encoding), kCancelled, kDeadlineExceeded, kResourceExhausted,
// kInternal.
Result<EncodeResult> EncodePackage(const std::filesystem::path& input,
                                   const std::filesystem::path& outdir,
                                   const EncodeOptions& options = {});

// ---- building blocks, exposed for tests and for callers that measure existing packages ----

// Facts of one rendition folder (<dir>/index.m3u8 and its segments), measured: bandwidths from
// EXTINF and file sizes, CODECS / RESOLUTION / FRAME-RATE from the first segment's streams.
Result<RenditionResult> MeasureRendition(const std::filesystem::path& rendition_dir);

// hls::ParseMedia plus the layout contract: a complete playlist of "<n>.ts" entries numbered
// from 0 with positive durations. kInternal otherwise (ffmpeg wrote something unexpected).
Result<hls::MediaPlaylist> ReadMediaPlaylist(std::string_view text);

// RFC 6381 "avc1.PPCCLL" from the SPS's profile_idc, constraint-flags byte and level_idc.
std::string AvcCodecString(int profile_idc, int constraint_flags, int level_idc);
// Fallback when the SPS cannot be read: from ffprobe's profile name and level (x264's
// constraint flags: Constrained Baseline c0, Baseline 00, Main 40, High 00).
std::string AvcCodecStringFromProbe(std::string_view profile_name, int level);
// Finds the first SPS in an Annex B byte stream; false if there is none.
bool FindSps(std::string_view annexb, int* profile_idc, int* constraint_flags, int* level_idc);

}  // namespace hlsforge::media
