// Offline checks of an HLS package against the Apple HLS authoring rules we can check without a
// player: the layout `master.m3u8`, `<i>/index.m3u8`, `<i>/<n>.ts` (any relative layout works).
//
// ValidatePackage blocks: it reads every playlist, the first MiB of every segment, and runs
// ffprobe (through common/subprocess, no shell) once per variant, or once per segment where a
// variant is irregular (ValidateOptions::probe_each_segment), a few in parallel.
// Thread-safe (no shared state). Segments are probed with `-f mpegts` and only the `file:`
// protocol, so a hostile package cannot make ffprobe read anything but the named segment.
//
// Each violation names the file (relative to the package folder) and a stable rule id:
//
//   rule                       what is checked
//   syntax                     a playlist does not parse (parser.h), or is the wrong kind
//   no-variants                the multivariant playlist lists no variant (not for a catalog)
//   independent-segments       master lacks EXT-X-INDEPENDENT-SEGMENTS
//   uri-escape                 a URI is absolute, has a scheme, a ".." segment, a control
//                              character, or resolves (symlinks too) outside the package folder
//   missing-file               a referenced playlist or segment is not a readable regular file
//   variant-bandwidth          BANDWIDTH missing or 0
//   variant-average-bandwidth  AVERAGE-BANDWIDTH missing
//   variant-codecs             CODECS missing
//   variant-resolution         RESOLUTION missing on a variant with video
//   variant-frame-rate         FRAME-RATE missing on a variant with video
//   bandwidth-peak             BANDWIDTH not within 10% of the measured peak segment bit rate
//                              (max over segments of file bytes * 8 / EXTINF)
//   bandwidth-average          AVERAGE-BANDWIDTH not within 10% of the measured mean
//                              (all segment bytes * 8 / sum of EXTINF)
//   resolution-mismatch        RESOLUTION differs from the coded size of the video stream
//   codecs-mismatch            CODECS does not match the streams: avc1.PPCCLL profile_idc (PP)
//                              and level_idc (LL) against the SPS in the segment (ffprobe's
//                              profile/level when no SPS is found); constraint flags (CC) are
//                              not compared; audio declared but absent or the reverse; mp4a
//                              object type against the AAC profile
//   frame-rate-mismatch        FRAME-RATE more than 2% away from both r_frame_rate and
//                              avg_frame_rate of the stream
//   playlist-type              media playlist lacks EXT-X-PLAYLIST-TYPE:VOD
//   endlist                    media playlist lacks EXT-X-ENDLIST
//   target-duration            EXT-X-TARGETDURATION missing (0)
//   segment-duration           an EXTINF rounded to the nearest integer exceeds the target, or an
//                              EXTINF or a measured segment duration exceeds target + 0.5 s
//   segment-idr                a segment's first access unit is not an IDR (ts_scan.h reads the
//                              NAL unit types itself: ffprobe's key flag cannot tell an IDR from
//                              an open-GOP recovery-point I-frame)
//   segment-unreadable         ffprobe cannot read the segment as MPEG-TS
//   extinf-sum                 sum of EXTINF differs from the measured media duration (sum of
//                              each segment's video duration from packet timestamps: last
//                              pts + duration - first pts) by more than one frame (+1 ms)
//   variant-duration           variants' total EXTINF differ by more than one frame (0.1 s when
//                              no frame rate is known)
//   segment-alignment          variants have different segment counts or boundaries (one frame)
//
// The last two compare variants with each other and are skipped for a catalog (options).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "hls/playlist.h"

namespace hlsforge::hls {

struct Violation {
  std::string file;  // relative to the package folder, e.g. "1/index.m3u8", "1/3.ts"
  std::string rule;  // stable id from the table above
  std::string message;

  std::string ToString() const { return file + ": " + rule + ": " + message; }
};

struct ValidationReport {
  int variants = 0;
  int segments = 0;      // segments referenced by all media playlists
  int ffprobe_runs = 0;  // how many ffprobe processes the validation took
  std::vector<Violation> violations;

  bool ok() const { return violations.empty(); }
  bool Has(const std::string& rule) const;
  // "OK: 3 variants, 6 segments" or one violation per line.
  std::string ToText() const;
};

struct ValidateOptions {
  // The variants are different videos (the catalog): skip variant-duration and
  // segment-alignment, and accept zero variants (the empty catalog, see catalog.h).
  bool catalog = false;
  // ffprobe processes run at once (0 = min(4, hardware threads)).
  int jobs = 0;
  // By default a variant whose segments all start with an IDR and the same parameter sets is
  // probed in ONE ffprobe run (concat protocol, packets attributed to segments by byte
  // position); otherwise, or when that run looks off, each segment gets its own run. True
  // forces one run per segment (slower, same findings; tests compare the two).
  bool probe_each_segment = false;
  // Per ffprobe call.
  int probe_timeout_s = 60;
};

// `path` is a package folder (its master.m3u8 is read) or a multivariant playlist file; the
// package folder is the playlist's folder. Violations go into the report; a non-OK Status only
// when there is nothing to validate or the tools fail: kNotFound (no such folder or playlist),
// kPermissionDenied / kInternal (cannot read it), kUnavailable (ffprobe cannot be run).
Result<ValidationReport> ValidatePackage(const std::filesystem::path& path,
                                         const ValidateOptions& options = {});

// The measurements behind bandwidth-peak / bandwidth-average, for writers of master playlists
// (so the encoder declares exactly what the validator measures). Segment URIs are resolved
// against `dir` (the media playlist's folder); segments with EXTINF 0 are ignored for the peak.
struct BitrateMeasurement {
  int64_t peak_bps = 0;     // max over segments of round(bytes * 8 / EXTINF)
  int64_t average_bps = 0;  // round(total bytes * 8 / total EXTINF)
};
Result<BitrateMeasurement> MeasureBitrate(const MediaPlaylist& playlist,
                                          const std::filesystem::path& dir);

}  // namespace hlsforge::hls
