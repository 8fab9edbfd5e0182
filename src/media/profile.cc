#include "media/profile.h"

#include <toml++/toml.h>

#include <cmath>
#include <limits>
#include <set>

#include "common/fs.h"

namespace hlsforge::media {
namespace {

// The one place the default ladder lives (DESIGN.md, "Default ladder"). Bitrates follow the
// mission's ladder command: -b:v = -maxrate = the rung's rate, -bufsize = twice that.
//
// Preset "faster": the benchmark issue requires the full 1080p ladder to cost <= 0.75x the
// mission command's wall time and <= 0.35x its bytes with SSIM within 0.01 of it per rung.
// Bytes and most of the time are won by not upscaling (a 1080p source gets 3 rungs, 1.56x its
// pixel rate to encode, where the mission command encodes 5 rungs including 1440p/2160p
// upscales, over 7x). The x264 preset is the remaining knob: at a fixed VBV-capped bitrate the
// rate is the same whatever the preset, and only quality per bit moves. Measured on a 3 s 1080p
// mandelbrot clip at 5000k: SSIM 0.9737 veryfast, 0.9741 faster, 0.9743 medium, so "faster"
// stays ~0.0002 from medium (far inside 0.01) and leaves headroom for harder content, where
// veryfast (1 reference frame, weaker subpel search) drifts further.
constexpr std::string_view kLadderToml = R"(
name = "ladder"
video_codec = "libx264"
x264_preset = "faster"
x264_profile = "high"
segment_seconds = 2
max_fps = 60
audio_channels = 2
audio_sample_rate = 48000
near_rung_tolerance = 0.05
extra_top_margin = 0.10

[[rung]]
height = 360
video_bitrate = "800k"
maxrate = "800k"
bufsize = "1600k"
audio_bitrate = "96k"

[[rung]]
height = 720
video_bitrate = "2800k"
maxrate = "2800k"
bufsize = "5600k"
audio_bitrate = "128k"

[[rung]]
height = 1080
video_bitrate = "5000k"
maxrate = "5000k"
bufsize = "10000k"
audio_bitrate = "192k"

[[rung]]
height = 1440
video_bitrate = "10000k"
maxrate = "10000k"
bufsize = "20000k"
audio_bitrate = "192k"

[[rung]]
height = 2160
video_bitrate = "20000k"
maxrate = "20000k"
bufsize = "40000k"
audio_bitrate = "256k"
)";

// The mission's basic command: ffmpeg -i input.mp4 -c:v libx264 -preset medium -crf 23
// -c:a aac -b:a 128k -hls_time 2 -hls_playlist_type vod ...
constexpr std::string_view kSingleToml = R"(
name = "single"
single = true
video_codec = "libx264"
x264_preset = "medium"
x264_profile = "high"
crf = 23
audio_bitrate = "128k"
segment_seconds = 2
max_fps = 60
audio_channels = 2
audio_sample_rate = 48000
)";

const std::set<std::string>& KnownTopKeys() {
  static const std::set<std::string> k = {"name",
                                          "single",
                                          "video_codec",
                                          "x264_preset",
                                          "x264_profile",
                                          "crf",
                                          "audio_bitrate",
                                          "audio_channels",
                                          "audio_sample_rate",
                                          "segment_seconds",
                                          "max_fps",
                                          "near_rung_tolerance",
                                          "extra_top_margin",
                                          "rung"};
  return k;
}

const std::set<std::string>& KnownPresets() {
  static const std::set<std::string> k = {"ultrafast", "superfast", "veryfast", "faster",
                                          "fast",      "medium",    "slow",     "slower",
                                          "veryslow",  "placebo"};
  return k;
}

// Reads a bitrate given as a TOML string ("800k") or integer (800000).
Result<int64_t> BitrateField(const toml::node_view<const toml::node>& node,
                             const std::string& key) {
  if (auto i = node.value<int64_t>(); i && node.is_integer()) {
    if (*i <= 0) return InvalidArgument(key + " must be positive");
    return *i;
  }
  if (auto s = node.value<std::string>()) {
    auto r = ParseBitrate(*s);
    if (!r.ok()) return r.status().Annotate(key);
    return r;
  }
  return InvalidArgument(key + " must be a bitrate like \"800k\"");
}

template <typename T>
Status NumberField(const toml::table& t, const std::string& key, T* out, double lo, double hi) {
  auto node = t[key];
  if (!node) return Status::Ok();
  std::optional<double> v;
  if (node.is_integer())
    v = static_cast<double>(*node.value<int64_t>());
  else if (node.is_floating_point())
    v = *node.value<double>();
  if (!v || !std::isfinite(*v) || *v < lo || *v > hi) {
    return InvalidArgument(key + " must be a number in [" + std::to_string(lo) + ", " +
                           std::to_string(hi) + "]");
  }
  *out = static_cast<T>(*v);
  return Status::Ok();
}

Result<Profile> FromTable(const toml::table& t) {
  for (const auto& [k, _] : t) {
    if (!KnownTopKeys().count(std::string(k.str()))) {
      return InvalidArgument("unknown key '" + std::string(k.str()) + "'");
    }
  }
  Profile p;
  auto name = t["name"].value<std::string>();
  if (!name || name->empty()) return InvalidArgument("name must be a non-empty string");
  p.name = *name;
  if (auto node = t["single"]) {
    auto b = node.value<bool>();
    if (!b || !node.is_boolean()) return InvalidArgument("single must be true or false");
    p.single = *b;
  }
  if (auto node = t["video_codec"]) {
    auto v = node.value<std::string>();
    if (!v || *v != "libx264") return InvalidArgument("video_codec: only libx264 is supported");
    p.video_codec = *v;
  }
  if (auto node = t["x264_preset"]) {
    auto v = node.value<std::string>();
    if (!v || !KnownPresets().count(*v)) return InvalidArgument("x264_preset: unknown preset");
    p.x264_preset = *v;
  }
  if (auto node = t["x264_profile"]) {
    auto v = node.value<std::string>();
    if (!v || (*v != "high" && *v != "main" && *v != "baseline")) {
      return InvalidArgument("x264_profile must be high, main or baseline");
    }
    p.x264_profile = *v;
  }
  RETURN_IF_ERROR(NumberField(t, "crf", &p.crf, 0, 51));
  RETURN_IF_ERROR(NumberField(t, "audio_channels", &p.audio_channels, 1, 2));
  RETURN_IF_ERROR(NumberField(t, "audio_sample_rate", &p.audio_sample_rate, 8000, 96000));
  RETURN_IF_ERROR(NumberField(t, "segment_seconds", &p.segment_seconds, 1, 10));
  RETURN_IF_ERROR(NumberField(t, "max_fps", &p.max_fps, 1, 240));
  RETURN_IF_ERROR(NumberField(t, "near_rung_tolerance", &p.near_rung_tolerance, 0, 0.5));
  RETURN_IF_ERROR(NumberField(t, "extra_top_margin", &p.extra_top_margin, 0, 10));
  if (auto node = t["audio_bitrate"]) {
    ASSIGN_OR_RETURN(p.audio_bitrate, BitrateField(node, "audio_bitrate"));
  }

  if (auto node = t["rung"]) {
    const toml::array* arr = node.as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      return InvalidArgument("rung must be an array of tables ([[rung]])");
    }
    int i = 0;
    for (const auto& el : *arr) {
      const toml::table& r = *el.as_table();
      std::string where = "rung[" + std::to_string(i++) + "]";
      for (const auto& [k, _] : r) {
        static const std::set<std::string> keys = {"height", "video_bitrate", "maxrate", "bufsize",
                                                   "audio_bitrate"};
        if (!keys.count(std::string(k.str()))) {
          return InvalidArgument(where + ": unknown key '" + std::string(k.str()) + "'");
        }
      }
      RungSpec s;
      RETURN_IF_ERROR(NumberField(r, "height", &s.height, 2, 8640).Annotate(where));
      if (s.height == 0) return InvalidArgument(where + ": height is required");
      if (s.height % 2 != 0) return InvalidArgument(where + ": height must be even");
      for (const char* key : {"video_bitrate", "maxrate", "bufsize", "audio_bitrate"}) {
        if (!r[key]) return InvalidArgument(where + ": " + key + " is required");
      }
      ASSIGN_OR_RETURN(s.video_bitrate, BitrateField(r["video_bitrate"], where + ".video_bitrate"));
      ASSIGN_OR_RETURN(s.maxrate, BitrateField(r["maxrate"], where + ".maxrate"));
      ASSIGN_OR_RETURN(s.bufsize, BitrateField(r["bufsize"], where + ".bufsize"));
      ASSIGN_OR_RETURN(s.audio_bitrate, BitrateField(r["audio_bitrate"], where + ".audio_bitrate"));
      if (s.maxrate < s.video_bitrate) {
        return InvalidArgument(where + ": maxrate must be >= video_bitrate");
      }
      if (!p.rungs.empty() && s.height <= p.rungs.back().height) {
        return InvalidArgument(where + ": rungs must be sorted by height, ascending, distinct");
      }
      p.rungs.push_back(s);
    }
  }

  if (p.single) {
    if (!p.rungs.empty()) return InvalidArgument("a single profile has no [[rung]] entries");
    if (p.crf <= 0) return InvalidArgument("a single profile needs crf");
    if (p.audio_bitrate <= 0) return InvalidArgument("a single profile needs audio_bitrate");
  } else {
    if (p.rungs.empty()) return InvalidArgument("a ladder profile needs at least one [[rung]]");
    if (p.crf != 0) return InvalidArgument("crf is only for single profiles");
  }
  return p;
}

}  // namespace

Result<int64_t> ParseBitrate(std::string_view text) {
  if (text.empty()) return InvalidArgument("empty bitrate");
  size_t i = 0;
  double v = 0;
  bool digits = false, dot = false;
  double frac = 0.1;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits = true;
      if (dot) {
        v += (c - '0') * frac;
        frac /= 10;
      } else {
        v = v * 10 + (c - '0');
      }
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!digits) return InvalidArgument("bad bitrate '" + std::string(text) + "'");
  std::string_view suffix = text.substr(i);
  double mult = 1;
  if (suffix == "k" || suffix == "K")
    mult = 1e3;
  else if (suffix == "M" || suffix == "m")
    mult = 1e6;
  else if (!suffix.empty())
    return InvalidArgument("bad bitrate '" + std::string(text) + "'");
  v *= mult;
  if (v < 1 || v > 1e11) return InvalidArgument("bitrate out of range '" + std::string(text) + "'");
  return static_cast<int64_t>(std::llround(v));
}

Result<Profile> ParseProfileToml(std::string_view toml_text, std::string_view source_name) {
  std::string where = source_name.empty() ? "profile" : "profile " + std::string(source_name);
  toml::table t;
  try {
    t = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return InvalidArgument(where + ": TOML error at line " + std::to_string(b.line) + ": " +
                           std::string(e.description()));
  } catch (const std::exception& e) {
    return InvalidArgument(where + ": " + e.what());
  }
  auto p = FromTable(t);
  if (!p.ok()) return p.status().Annotate(where);
  return p;
}

Result<Profile> BuiltinProfile(std::string_view name) {
  if (name == "ladder") return ParseProfileToml(kLadderToml, "ladder");
  if (name == "single") return ParseProfileToml(kSingleToml, "single");
  return InvalidArgument("unknown profile '" + std::string(name) +
                         "' (ladder, single or a .toml file)");
}

Result<Profile> ResolveProfile(const std::string& name_or_path) {
  if (name_or_path == "ladder" || name_or_path == "single") return BuiltinProfile(name_or_path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(name_or_path, ec)) {
    return InvalidArgument("unknown profile '" + name_or_path +
                           "' (ladder, single or a .toml file)");
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(name_or_path));
  if (text.size() > (1 << 20)) return InvalidArgument("profile file too large: " + name_or_path);
  return ParseProfileToml(text, name_or_path);
}

}  // namespace hlsforge::media
