#include "pipeline/naming.h"

#include <cstdint>
#include <cstdio>

namespace hlsforge::pipeline {
namespace {

bool Plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// FNV-1a 64: stable across platforms and releases (std::hash is not).
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Result<std::string> MakeSlug(std::string_view name) {
  if (name.empty()) return InvalidArgument("empty object name");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("object name contains control characters");
  }
  bool plain = name.size() <= 200 && name.front() != '.';
  for (char c : name) plain = plain && Plain(c);
  if (plain) return std::string(name);

  std::string out;
  for (char c : name) {
    char m = Plain(c) ? c : '_';
    if (m == '_' && !out.empty() && out.back() == '_') continue;
    out += m;
  }
  size_t start = out.find_first_not_of("._");
  out = start == std::string::npos ? std::string() : out.substr(start);
  if (out.size() > 180) out.resize(180);
  while (!out.empty() && (out.back() == '.' || out.back() == '_')) out.pop_back();
  if (out.empty()) out = "video";
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "-%08x", static_cast<unsigned>(Fnv1a(name) & 0xffffffffu));
  return out + suffix;
}

bool IsCandidateObject(std::string_view key) {
  if (key.empty() || key.back() == '/') return false;
  size_t slash = key.rfind('/');
  std::string_view base = slash == std::string_view::npos ? key : key.substr(slash + 1);
  if (base.empty() || base.front() == '.') return false;
  for (std::string_view s : {".part", ".tmp", ".crdownload", ".partial", ".uploading"}) {
    if (EndsWith(base, s)) return false;
  }
  return true;
}

}  // namespace hlsforge::pipeline
