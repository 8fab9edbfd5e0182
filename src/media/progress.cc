#include "media/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

namespace hlsforge::media {
namespace {

bool ParseDouble(std::string_view s, double* out) {
  std::string t(s);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\r')) t.pop_back();
  if (t.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || *end != '\0' || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// "00:01:02.500000" → 62.5
bool ParseClock(std::string_view s, double* out) {
  double parts[3];
  for (int i = 0; i < 2; ++i) {
    size_t c = s.find(':');
    if (c == std::string_view::npos || !ParseDouble(s.substr(0, c), &parts[i])) return false;
    s.remove_prefix(c + 1);
  }
  if (!ParseDouble(s, &parts[2])) return false;
  *out = parts[0] * 3600 + parts[1] * 60 + parts[2];
  return true;
}

}  // namespace

nlohmann::json Progress::ToJson() const {
  nlohmann::json j;
  j["percent"] = std::round(percent * 10) / 10;
  j["speed"] = std::round(speed * 100) / 100;
  if (eta_s >= 0)
    j["eta_s"] = std::round(eta_s * 10) / 10;
  else
    j["eta_s"] = nullptr;
  return j;
}

std::optional<Progress> ProgressParser::Feed(std::string_view line) {
  size_t eq = line.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  std::string_view key = line.substr(0, eq);
  std::string_view value = line.substr(eq + 1);
  double v = 0;
  if (key == "out_time_us" || key == "out_time_ms") {
    // ffmpeg 5.x prints microseconds under both names (out_time_ms is mis-named upstream).
    if (ParseDouble(value, &v) && v >= 0) out_time_s_ = v / 1e6;
  } else if (key == "out_time") {
    if (ParseClock(value, &v) && v >= 0) out_time_s_ = std::max(out_time_s_, v);
  } else if (key == "speed") {
    std::string_view s = value;
    while (!s.empty() && (s.back() == 'x' || s.back() == ' ')) s.remove_suffix(1);
    if (ParseDouble(s, &v) && v >= 0) speed_ = v;
  } else if (key == "progress") {
    Progress p;
    p.done = value == "end";
    p.out_time_s = out_time_s_;
    double pct = duration_s_ > 0 ? out_time_s_ / duration_s_ * 100 : 0;
    if (p.done) pct = 100;
    pct = std::clamp(pct, 0.0, 100.0);
    best_percent_ = std::max(best_percent_, pct);
    p.percent = best_percent_;
    p.speed = speed_;
    if (p.done) {
      p.eta_s = 0;
    } else if (speed_ > 0 && duration_s_ > 0) {
      p.eta_s = std::max(0.0, duration_s_ - out_time_s_) / speed_;
    }
    return p;
  }
  return std::nullopt;
}

}  // namespace hlsforge::media
