#include "state/sql_text.h"

#include "common/utf8.h"

#include <cctype>

namespace hlsforge::state {

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Status CheckIdentifier(std::string_view what, std::string_view s, size_t max_bytes) {
  if (s.empty()) return InvalidArgument(std::string(what) + " is empty");
  if (s.size() > max_bytes) {
    return InvalidArgument(std::string(what) + " is " + std::to_string(s.size()) +
                           " bytes long; the limit is " + std::to_string(max_bytes));
  }
  if (s.find('\0') != std::string_view::npos) {
    return InvalidArgument(std::string(what) + " contains a NUL byte");
  }
  if (!IsValidUtf8(s)) return InvalidArgument(std::string(what) + " is not valid UTF-8");
  return Status::Ok();
}

std::string SanitizeText(std::string_view s, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  static constexpr std::string_view kCut = "...(truncated)";
  std::string out;
  out.reserve(std::min(s.size(), max_bytes));
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\0') {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s, i);
    const std::string_view piece = n ? s.substr(i, n) : kReplacement;
    if (out.size() + piece.size() > max_bytes) {
      // Cut at a character boundary and leave room for the marker.
      while (out.size() + kCut.size() > max_bytes && !out.empty()) {
        size_t k = out.size() - 1;
        while (k > 0 && (static_cast<unsigned char>(out[k]) & 0xC0) == 0x80) --k;
        out.resize(k);
      }
      if (out.size() + kCut.size() <= max_bytes) out += kCut;
      return out;
    }
    out += piece;
    i += n ? n : 1;
  }
  return out;
}

std::string ContainsPattern(std::string_view needle) {
  std::string p = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  p += '%';
  return p;
}

namespace {
// Masks "password=..." in a libpq-style query string.
std::string RedactQueryPassword(std::string s) {
  for (size_t pos = 0; (pos = s.find("password=", pos)) != std::string::npos;) {
    if (pos > 0 && s[pos - 1] != '?' && s[pos - 1] != '&') {
      pos += 9;
      continue;
    }
    const size_t start = pos + 9;
    const size_t end = s.find('&', start);
    s.replace(start, end == std::string::npos ? std::string::npos : end - start, "***");
    pos = start + 3;
  }
  return s;
}

std::string RedactUserinfo(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t auth_start = scheme + 3;
  const size_t auth_end = url.find_first_of("/?#", auth_start);
  const std::string_view authority =
      url.substr(auth_start, auth_end == std::string_view::npos ? std::string_view::npos
                                                                : auth_end - auth_start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const size_t colon = authority.find(':');
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  std::string out(url.substr(0, auth_start));
  out += authority.substr(0, colon);
  out += ":***";
  out += authority.substr(at);
  if (auth_end != std::string_view::npos) out += url.substr(auth_end);
  return out;
}
}  // namespace

std::string RedactUrl(std::string_view url) { return RedactQueryPassword(RedactUserinfo(url)); }

}  // namespace hlsforge::state
