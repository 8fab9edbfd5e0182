#include "hls/parser.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

namespace hlsforge::hls {
namespace {

constexpr std::string_view kWhitespace = " \t\r";

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kWhitespace);
  return s.substr(b, e - b + 1);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Splits the input into lines (LF or CRLF), trimmed, with their 1-based numbers.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {
    if (StartsWith(text_, "\xEF\xBB\xBF")) text_.remove_prefix(3);  // tolerate a UTF-8 BOM
  }
  bool Next(std::string_view& line, int& number) {
    if (pos_ >= text_.size()) return false;
    size_t nl = text_.find('\n', pos_);
    if (nl == std::string_view::npos) nl = text_.size();
    line = Trim(text_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    number = ++line_;
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 0;
};

Status LineError(int line, const std::string& message) {
  return InvalidArgument("line " + std::to_string(line) + ": " + message);
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;  // keep messages short whatever the input holds
  std::string out = "'";
  for (char c : s.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? '?' : c;
  }
  if (s.size() > kMax) out += "...";
  return out + "'";
}

// decimal-integer (RFC 8216 §4.2): digits only, fits int64.
std::optional<int64_t> ParseInteger(std::string_view s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return {};
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return {};
  return v;
}

// decimal-floating-point: digits with an optional fraction; no sign, exponent, inf or nan.
std::optional<double> ParseDecimal(std::string_view s) {
  if (s.empty() || s.find_first_not_of("0123456789.") != std::string_view::npos) return {};
  if (s.find('.') != s.rfind('.') || s == ".") return {};
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return {};
  return v;
}

Status CheckHeader(LineReader& reader) {
  std::string_view line;
  int n = 0;
  if (!reader.Next(line, n) || line != "#EXTM3U") {
    return LineError(1, "playlist does not start with #EXTM3U");
  }
  return Status::Ok();
}

Status CheckSize(std::string_view text) {
  if (text.size() > kMaxPlaylistBytes) {
    return InvalidArgument("playlist too large: " + std::to_string(text.size()) + " bytes (limit " +
                           std::to_string(kMaxPlaylistBytes) + ")");
  }
  return Status::Ok();
}

struct Attribute {
  std::string_view name;
  std::string_view value;  // without quotes
  bool quoted = false;
};

// attribute-list (RFC 8216 §4.2): NAME=value pairs separated by commas, where a value is a
// quoted-string (may contain commas) or runs to the next comma. Whitespace around pairs is
// tolerated; duplicate names are refused as the RFC asks clients to.
Result<std::vector<Attribute>> ParseAttributes(std::string_view s, int line) {
  std::vector<Attribute> attrs;
  size_t i = 0;
  while (true) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= s.size()) break;
    size_t eq = s.find('=', i);
    if (eq == std::string_view::npos) {
      return LineError(line, "attribute without '=': " + Quote(s.substr(i)));
    }
    Attribute a;
    a.name = Trim(s.substr(i, eq - i));
    if (a.name.empty() ||
        a.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != std::string::npos) {
      return LineError(line, "bad attribute name " + Quote(a.name));
    }
    i = eq + 1;
    if (i < s.size() && s[i] == '"') {
      size_t close = s.find('"', i + 1);
      if (close == std::string_view::npos) {
        return LineError(line, "unterminated quoted string in attribute " + Quote(a.name));
      }
      a.value = s.substr(i + 1, close - i - 1);
      a.quoted = true;
      i = close + 1;
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
      if (i < s.size() && s[i] != ',') {
        return LineError(line, "garbage after quoted value of " + Quote(a.name));
      }
    } else {
      size_t comma = s.find(',', i);
      if (comma == std::string_view::npos) comma = s.size();
      a.value = Trim(s.substr(i, comma - i));
      i = comma;
    }
    for (const auto& other : attrs) {
      if (other.name == a.name) return LineError(line, "duplicate attribute " + Quote(a.name));
    }
    attrs.push_back(a);
    if (i < s.size()) ++i;  // the comma
  }
  return attrs;
}

Result<Variant> ParseStreamInf(std::string_view attrs_text, int line) {
  ASSIGN_OR_RETURN(auto attrs, ParseAttributes(attrs_text, line));
  Variant v;
  bool have_bandwidth = false;
  for (const auto& a : attrs) {
    auto bad = [&] { return LineError(line, "bad " + std::string(a.name) + " " + Quote(a.value)); };
    if (a.name == "BANDWIDTH" || a.name == "AVERAGE-BANDWIDTH") {
      auto n = ParseInteger(a.value);
      if (!n || a.quoted) return bad();
      (a.name == "BANDWIDTH" ? v.bandwidth : v.average_bandwidth) = *n;
      have_bandwidth |= a.name == "BANDWIDTH";
    } else if (a.name == "CODECS") {
      if (!a.quoted) return bad();
      v.codecs = a.value;
    } else if (a.name == "NAME") {
      if (!a.quoted) return bad();
      v.name = a.value;
    } else if (a.name == "RESOLUTION") {
      size_t x = a.value.find('x');
      if (x == std::string_view::npos || a.quoted) return bad();
      auto w = ParseInteger(a.value.substr(0, x));
      auto h = ParseInteger(a.value.substr(x + 1));
      if (!w || !h || *w > 1'000'000 || *h > 1'000'000) return bad();
      v.width = static_cast<int>(*w);
      v.height = static_cast<int>(*h);
    } else if (a.name == "FRAME-RATE") {
      auto f = ParseDecimal(a.value);
      if (!f || a.quoted) return bad();
      v.frame_rate = *f;
    }
  }
  if (!have_bandwidth) return LineError(line, "EXT-X-STREAM-INF without BANDWIDTH");
  return v;
}

Result<int64_t> TagInteger(std::string_view line, std::string_view tag, int n,
                           int64_t max = INT64_MAX) {
  auto v = ParseInteger(line.substr(tag.size()));
  if (!v || *v > max) {
    return LineError(n, "bad number in " + std::string(tag.substr(0, tag.size() - 1)) + ": " +
                            Quote(line.substr(tag.size())));
  }
  return *v;
}

}  // namespace

std::string DecodeUriPath(std::string_view uri) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  uri = uri.substr(0, uri.find_first_of("?#"));
  std::string out;
  out.reserve(uri.size());
  for (size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size() && hex(uri[i + 1]) >= 0 && hex(uri[i + 2]) >= 0) {
      out += static_cast<char>(hex(uri[i + 1]) * 16 + hex(uri[i + 2]));
      i += 2;
    } else {
      out += uri[i];
    }
  }
  return out;
}

Result<PlaylistKind> DetectPlaylistKind(std::string_view text) {
  RETURN_IF_ERROR(CheckSize(text));
  LineReader reader(text);
  RETURN_IF_ERROR(CheckHeader(reader));
  std::string_view line;
  int n;
  while (reader.Next(line, n)) {
    if (StartsWith(line, "#EXT-X-STREAM-INF:")) return PlaylistKind::kMaster;
  }
  return PlaylistKind::kMedia;
}

Result<MediaPlaylist> ParseMedia(std::string_view text) {
  RETURN_IF_ERROR(CheckSize(text));
  LineReader reader(text);
  RETURN_IF_ERROR(CheckHeader(reader));
  MediaPlaylist p;
  p.version = 1;
  p.playlist_type = "";
  p.independent_segments = false;
  p.endlist = false;
  std::optional<double> pending;  // EXTINF waiting for its URI
  int pending_line = 0;
  std::string_view line;
  int n;
  while (reader.Next(line, n)) {
    if (line.empty()) continue;
    if (line[0] != '#') {
      if (!pending) return LineError(n, "URI without EXTINF: " + Quote(line));
      p.segments.push_back({*pending, DecodeUriPath(line)});
      pending.reset();
      continue;
    }
    if (!StartsWith(line, "#EXT")) continue;  // comment
    if (StartsWith(line, "#EXTINF:")) {
      if (pending) return LineError(pending_line, "EXTINF without a URI");
      std::string_view v = line.substr(8);
      v = Trim(v.substr(0, v.find(',')));
      auto d = ParseDecimal(v);
      if (!d) return LineError(n, "bad EXTINF duration " + Quote(v));
      pending = *d;
      pending_line = n;
    } else if (StartsWith(line, "#EXT-X-TARGETDURATION:")) {
      ASSIGN_OR_RETURN(int64_t t, TagInteger(line, "#EXT-X-TARGETDURATION:", n, 1'000'000));
      p.target_duration = static_cast<int>(t);
    } else if (StartsWith(line, "#EXT-X-VERSION:")) {
      ASSIGN_OR_RETURN(int64_t v, TagInteger(line, "#EXT-X-VERSION:", n, 1000));
      p.version = static_cast<int>(v);
    } else if (StartsWith(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      ASSIGN_OR_RETURN(p.media_sequence, TagInteger(line, "#EXT-X-MEDIA-SEQUENCE:", n));
    } else if (StartsWith(line, "#EXT-X-PLAYLIST-TYPE:")) {
      std::string_view t = line.substr(21);
      if (t != "VOD" && t != "EVENT") return LineError(n, "bad EXT-X-PLAYLIST-TYPE " + Quote(t));
      p.playlist_type = t;
    } else if (line == "#EXT-X-INDEPENDENT-SEGMENTS") {
      p.independent_segments = true;
    } else if (line == "#EXT-X-ENDLIST") {
      p.endlist = true;
    } else if (StartsWith(line, "#EXT-X-STREAM-INF:") ||
               StartsWith(line, "#EXT-X-I-FRAME-STREAM-INF:") ||
               StartsWith(line, "#EXT-X-MEDIA:")) {
      return LineError(n, "multivariant playlist tag in a media playlist");
    }
  }
  if (pending) return LineError(pending_line, "EXTINF without a URI");
  return p;
}

Result<MasterPlaylist> ParseMaster(std::string_view text) {
  RETURN_IF_ERROR(CheckSize(text));
  LineReader reader(text);
  RETURN_IF_ERROR(CheckHeader(reader));
  MasterPlaylist m;
  m.version = 1;
  m.independent_segments = false;
  std::optional<Variant> pending;  // EXT-X-STREAM-INF waiting for its URI
  int pending_line = 0;
  std::string_view line;
  int n;
  while (reader.Next(line, n)) {
    if (line.empty()) continue;
    if (line[0] != '#') {
      if (!pending) return LineError(n, "URI without EXT-X-STREAM-INF: " + Quote(line));
      pending->uri = DecodeUriPath(line);
      m.variants.push_back(std::move(*pending));
      pending.reset();
      continue;
    }
    if (!StartsWith(line, "#EXT")) continue;  // comment
    if (StartsWith(line, "#EXT-X-STREAM-INF:")) {
      if (pending) return LineError(pending_line, "EXT-X-STREAM-INF without a URI");
      ASSIGN_OR_RETURN(Variant v, ParseStreamInf(line.substr(18), n));
      pending = std::move(v);
      pending_line = n;
    } else if (StartsWith(line, "#EXT-X-VERSION:")) {
      ASSIGN_OR_RETURN(int64_t v, TagInteger(line, "#EXT-X-VERSION:", n, 1000));
      m.version = static_cast<int>(v);
    } else if (line == "#EXT-X-INDEPENDENT-SEGMENTS") {
      m.independent_segments = true;
    } else if (StartsWith(line, "#EXTINF:") || StartsWith(line, "#EXT-X-TARGETDURATION:") ||
               StartsWith(line, "#EXT-X-ENDLIST") || StartsWith(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      return LineError(n, "media playlist tag in a multivariant playlist");
    }
  }
  if (pending) return LineError(pending_line, "EXT-X-STREAM-INF without a URI");
  return m;
}

}  // namespace hlsforge::hls
