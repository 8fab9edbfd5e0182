#include "storage/object_store.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <random>

#include "storage/internal.h"

namespace hlsforge::storage {
namespace {

constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxSegmentBytes = 255;

// Length of the UTF-8 sequence starting at s[i], or 0 if it is not a valid, shortest-form
// encoding of a scalar value (no surrogates, <= U+10FFFF), or if it is a C1 control character.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    if (!cont(i + 1)) return 0;
    if (c == 0xC2 && b(i + 1) <= 0x9F) return 0;  // U+0080..U+009F: C1 controls
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

// Byte-level rules shared by keys, segments and prefixes.
Status CheckBytes(std::string_view s, std::string_view what) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return InvalidArgument(std::string(what) + " contains a NUL byte");
    if (c < 0x20 || c == 0x7F) {
      return InvalidArgument(std::string(what) + " contains a control character");
    }
    // Backslash is a path separator on other systems and in some URL parsers ("..\x");
    // keys never need it, so it is refused rather than mapped.
    if (c == '\\') return InvalidArgument(std::string(what) + " contains a backslash");
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      return InvalidArgument(std::string(what) +
                             " is not valid UTF-8 (or contains a C1 control character)");
    }
    i += n;
  }
  return Status::Ok();
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 120)) {
    if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 120) out += "...";
  return out + "\"";
}

}  // namespace

namespace internal {

Status ValidateSegment(std::string_view seg, std::string_view what) {
  if (seg.empty()) return InvalidArgument(std::string(what) + " has an empty path segment");
  if (seg.size() > kMaxSegmentBytes) {
    return InvalidArgument(std::string(what) + " has a path segment longer than 255 bytes");
  }
  if (seg[0] == '.') {
    return InvalidArgument(std::string(what) +
                           " has a path segment starting with '.' (\".\", \"..\" or hidden)");
  }
  return CheckBytes(seg, what);
}

Status ValidatePrefix(std::string_view prefix, bool allow_empty) {
  if (prefix.empty()) {
    return allow_empty ? Status::Ok() : InvalidArgument("prefix must not be empty");
  }
  if (prefix.size() > kMaxKeyBytes) return InvalidArgument("prefix longer than 1024 bytes");
  if (prefix[0] == '/') return InvalidArgument("prefix " + Quote(prefix) + " starts with '/'");
  RETURN_IF_ERROR(CheckBytes(prefix, "prefix " + Quote(prefix)));
  size_t start = 0;
  for (;;) {
    size_t slash = prefix.find('/', start);
    if (slash == std::string_view::npos) {
      // The last, partial segment: any bytes allowed above, but "." and ".." are refused
      // so a prefix can never spell a parent directory.
      std::string_view last = prefix.substr(start);
      if (last == "." || last == "..") {
        return InvalidArgument("prefix " + Quote(prefix) + " ends with a dot segment");
      }
      return Status::Ok();
    }
    RETURN_IF_ERROR(
        ValidateSegment(prefix.substr(start, slash - start), "prefix " + Quote(prefix)));
    start = slash + 1;
  }
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
      return InvalidArgument("malformed percent-escape in " + Quote(s));
    }
    out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
    i += 2;
  }
  for (unsigned char c : out) {
    if (c < 0x20 || c == 0x7F) return InvalidArgument("control character in " + Quote(s));
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    unsigned v = static_cast<unsigned>(rng() & 0xFF);
    out.push_back(kHex[v >> 4]);
    out.push_back(kHex[v & 15]);
  }
  return out;
}

}  // namespace internal

Status ValidateKey(std::string_view key) {
  if (key.empty()) return InvalidArgument("object key must not be empty");
  if (key.size() > kMaxKeyBytes) {
    return InvalidArgument("object key longer than 1024 bytes (" + std::to_string(key.size()) +
                           ")");
  }
  std::string what = "object key " + Quote(key);
  if (key[0] == '/') return InvalidArgument(what + " is absolute (starts with '/')");
  size_t start = 0;
  for (;;) {
    size_t slash = key.find('/', start);
    std::string_view seg =
        key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    RETURN_IF_ERROR(internal::ValidateSegment(seg, what));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

std::string GuessContentType(std::string_view key) {
  size_t slash = key.rfind('/');
  std::string_view base = slash == std::string_view::npos ? key : key.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == base.size()) return "application/octet-stream";
  std::string ext(base.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::array<std::pair<std::string_view, std::string_view>, 31> kTypes = {{
      {"m3u8", "application/vnd.apple.mpegurl"},
      {"m3u", "audio/mpegurl"},
      {"ts", "video/mp2t"},
      {"m4s", "video/iso.segment"},
      {"mp4", "video/mp4"},
      {"m4v", "video/mp4"},
      {"m4a", "audio/mp4"},
      {"mov", "video/quicktime"},
      {"mkv", "video/x-matroska"},
      {"webm", "video/webm"},
      {"avi", "video/x-msvideo"},
      {"mpd", "application/dash+xml"},
      {"aac", "audio/aac"},
      {"mp3", "audio/mpeg"},
      {"vtt", "text/vtt"},
      {"json", "application/json"},
      {"xml", "application/xml"},
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css"},
      {"js", "text/javascript"},
      {"mjs", "text/javascript"},
      {"txt", "text/plain; charset=utf-8"},
      {"log", "text/plain; charset=utf-8"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"png", "image/png"},
      {"webp", "image/webp"},
      {"gif", "image/gif"},
      {"svg", "image/svg+xml"},
      {"ico", "image/x-icon"},
  }};
  for (const auto& [e, t] : kTypes) {
    if (e == ext) return std::string(t);
  }
  return "application/octet-stream";
}

Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& url,
                                                     const StoreOptions& options) {
  if (url.empty()) return InvalidArgument("empty object store URL");
  for (unsigned char c : url) {
    if (c < 0x21 || c == 0x7F) {
      return InvalidArgument("object store URL " + Quote(url) +
                             " contains whitespace or control characters (percent-encode them)");
    }
  }
  size_t colon = url.find("://");
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument("object store URL " + Quote(url) +
                           " has no scheme (want file:///abs/dir, s3://bucket or memory://name)");
  }
  std::string scheme = url.substr(0, colon);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string rest = url.substr(colon + 3);

  if (scheme == "file") {
    // file:///abs/dir only: no host part (file://host/ would silently mean something else),
    // no query or fragment, percent-escapes decoded, no dot segments.
    if (rest.empty() || rest[0] != '/') {
      return InvalidArgument("file URL " + Quote(url) +
                             " must be file:///absolute/path (no host, not relative)");
    }
    if (rest.find_first_of("?#") != std::string::npos) {
      return InvalidArgument("file URL " + Quote(url) + " must not have '?' or '#'");
    }
    ASSIGN_OR_RETURN(std::string path, internal::PercentDecode(rest));
    if (path.find('\\') != std::string::npos) {
      return InvalidArgument("file URL " + Quote(url) + " contains a backslash");
    }
    std::filesystem::path p(path);
    for (const auto& part : p) {
      if (part == "." || part == "..") {
        return InvalidArgument("file URL " + Quote(url) + " contains '.' or '..' segments");
      }
    }
    if (p == "/") return InvalidArgument("file URL " + Quote(url) + ": '/' cannot be a bucket");
    return internal::OpenFileStore(p, url);
  }
  if (scheme == "memory") {
    if (rest.empty() || rest.size() > 200 ||
        !std::all_of(rest.begin(), rest.end(), [](unsigned char c) {
          return std::isalnum(c) || c == '-' || c == '_' || c == '.';
        })) {
      return InvalidArgument("memory URL " + Quote(url) + " must be memory://name with name " +
                             "made of [A-Za-z0-9._-]");
    }
    return internal::OpenMemoryStore(rest, "memory://" + rest);
  }
  if (scheme == "s3") return internal::OpenS3StoreForFactory(url, options);
  return InvalidArgument("unknown object store scheme '" + scheme + "' in " + Quote(url) +
                         " (want file://, s3:// or memory://)");
}

}  // namespace hlsforge::storage
