#include "hls/writer.h"

#include "common/utf8.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace hlsforge::hls {
namespace {

// Durations are formatted once and the target duration is computed from the formatted text,
// so the EXTINF a player reads and the target we promise can never disagree by rounding.
std::string FormatDuration(double d) {
  if (!std::isfinite(d) || d < 0) d = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", d);
  return buf;
}


}  // namespace

std::string SanitizeQuotedString(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      out += '\'';
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      out += ' ';
      ++i;
    } else if (size_t n = Utf8SequenceLength(s, i); n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string EncodeUriPath(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string WriteMedia(const MediaPlaylist& p) {
  std::vector<std::string> durations;
  durations.reserve(p.segments.size());
  int target = std::max(p.target_duration, 0);
  for (const auto& seg : p.segments) {
    if (seg.uri.empty()) continue;
    durations.push_back(FormatDuration(seg.duration));
    double written = std::strtod(durations.back().c_str(), nullptr);
    target = std::max(target, static_cast<int>(std::ceil(written)));
  }

  std::string out = "#EXTM3U\n";
  out += "#EXT-X-VERSION:" + std::to_string(std::max(p.version, 3)) + "\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(target) + "\n";
  out += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(std::max<int64_t>(p.media_sequence, 0)) + "\n";
  if (p.playlist_type == "VOD" || p.playlist_type == "EVENT") {
    out += "#EXT-X-PLAYLIST-TYPE:" + p.playlist_type + "\n";
  }
  if (p.independent_segments) out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  size_t d = 0;
  for (const auto& seg : p.segments) {
    if (seg.uri.empty()) continue;
    out += "#EXTINF:" + durations[d++] + ",\n";
    out += EncodeUriPath(seg.uri) + "\n";
  }
  if (p.endlist) out += "#EXT-X-ENDLIST\n";
  return out;
}

std::string WriteMaster(const MasterPlaylist& p) {
  std::string out = "#EXTM3U\n";
  out += "#EXT-X-VERSION:" + std::to_string(std::max(p.version, 3)) + "\n";
  if (p.independent_segments) out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const auto& v : p.variants) {
    if (v.uri.empty()) continue;
    out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(std::max<int64_t>(v.bandwidth, 0));
    if (v.average_bandwidth > 0) {
      out += ",AVERAGE-BANDWIDTH=" + std::to_string(v.average_bandwidth);
    }
    if (!v.codecs.empty()) out += ",CODECS=\"" + SanitizeQuotedString(v.codecs) + "\"";
    if (v.width > 0 && v.height > 0) {
      out += ",RESOLUTION=" + std::to_string(v.width) + "x" + std::to_string(v.height);
    }
    if (std::isfinite(v.frame_rate) && v.frame_rate > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.3f", v.frame_rate);
      out += ",FRAME-RATE=";
      out += buf;
    }
    if (!v.name.empty()) out += ",NAME=\"" + SanitizeQuotedString(v.name) + "\"";
    out += "\n" + EncodeUriPath(v.uri) + "\n";
  }
  return out;
}

}  // namespace hlsforge::hls
