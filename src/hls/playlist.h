// HLS playlist model (RFC 8216), independent of how it is read or written.
//
// URIs (Segment::uri, Variant::uri) are plain relative paths, i.e. object keys relative to the
// playlist ("0.ts", "my clip.mov/1/index.m3u8"), NOT percent-encoded: the writer (writer.h)
// encodes them and the parser (parser.h) decodes them. Do not pre-encode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hlsforge::hls {

struct Segment {
  double duration = 0;  // EXTINF seconds
  std::string uri;      // relative to the playlist, e.g. "0.ts" (not URI-encoded)
};

// A media playlist of one rendition (VOD: complete, with EXT-X-ENDLIST).
struct MediaPlaylist {
  int version = 3;
  int target_duration = 0;  // EXT-X-TARGETDURATION: ceil of the longest segment
  int64_t media_sequence = 0;
  std::string playlist_type = "VOD";  // "" = none
  bool independent_segments = true;
  bool endlist = true;
  std::vector<Segment> segments;

  double TotalDuration() const;
};

// One EXT-X-STREAM-INF entry.
struct Variant {
  int64_t bandwidth = 0;          // peak, bits/s
  int64_t average_bandwidth = 0;  // 0 = omitted
  std::string codecs;             // e.g. "avc1.64001f,mp4a.40.2"
  int width = 0, height = 0;      // 0 = omitted
  double frame_rate = 0;          // 0 = omitted
  std::string name;               // NAME attribute ("" = omitted); the catalog uses it
  std::string uri;                // relative path, e.g. "0/index.m3u8" (not URI-encoded)
};

// A multivariant ("master") playlist.
struct MasterPlaylist {
  int version = 3;
  bool independent_segments = true;
  std::vector<Variant> variants;
};

}  // namespace hlsforge::hls
