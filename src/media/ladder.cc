#include "media/ladder.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hlsforge::media {
namespace {

int FloorEven(int v) { return std::max(2, v - (v % 2)); }

struct Size {
  int width = 0, height = 0;
  int64_t pixels() const { return static_cast<int64_t>(width) * height; }
  int short_side() const { return std::min(width, height); }
};

// The source scaled so that its short side is `short_side`, aspect kept, even dimensions.
Size ScaledTo(const Size& src, int short_side) {
  bool portrait = src.height > src.width;
  int s = std::min(src.width, src.height);
  int l = std::max(src.width, src.height);
  int new_long = RoundEven(static_cast<double>(l) * short_side / s);
  return portrait ? Size{short_side, new_long} : Size{new_long, short_side};
}

int64_t Scale(int64_t rate, double factor) {
  return static_cast<int64_t>(std::llround(static_cast<double>(rate) * factor / 1000.0)) * 1000;
}

}  // namespace

int RoundEven(double v) {
  long r = std::lround(v / 2.0) * 2;
  return static_cast<int>(std::max(2L, r));
}

Rational PlanFrameRate(const Rational& source, double max_fps) {
  if (!source.valid()) return source;
  double fps = source.value();
  if (fps <= max_fps + 1e-9) return source;
  for (int64_t k = 2; k <= 16; ++k) {
    double f = fps / k;
    if (f <= max_fps + 1e-9) {
      if (f >= 24.0 - 1e-9) return Rational{source.num, source.den * k};
      break;
    }
  }
  // Cap: max_fps as a rational with millisecond precision (60 → 60/1).
  int64_t num = std::llround(max_fps * 1000);
  int64_t den = 1000;
  int64_t g = std::gcd(num, den);
  return Rational{num / g, den / g};
}

nlohmann::json Rendition::ToJson() const {
  return {{"index", index},
          {"label", label},
          {"width", width},
          {"height", height},
          {"video_bitrate", video_bitrate},
          {"maxrate", maxrate},
          {"bufsize", bufsize},
          {"audio_bitrate", audio_bitrate},
          {"native", native}};
}

nlohmann::json Ladder::ToJson() const {
  nlohmann::json r = nlohmann::json::array();
  for (const auto& x : renditions) r.push_back(x.ToJson());
  return {{"profile", profile},
          {"renditions", r},
          {"frame_rate", frame_rate.ToString()},
          {"fps", frame_rate.value()},
          {"gop", gop},
          {"segment_seconds", segment_seconds},
          {"audio", audio},
          {"x264_preset", x264_preset},
          {"crf", crf}};
}

Result<Ladder> PlanLadder(const SourceInfo& src, const Profile& profile) {
  if (src.display_width < 2 || src.display_height < 2) {
    return BadInput("picture too small to encode (" + std::to_string(src.display_width) + "x" +
                    std::to_string(src.display_height) + ")");
  }
  if (!src.frame_rate.valid()) return BadInput("source has no usable frame rate");

  Ladder l;
  l.profile = profile.name;
  l.segment_seconds = profile.segment_seconds;
  l.frame_rate = PlanFrameRate(src.frame_rate, profile.max_fps);
  l.gop =
      std::max(1, static_cast<int>(std::lround(profile.segment_seconds * l.frame_rate.value())));
  l.audio = src.has_audio;
  l.audio_channels = profile.audio_channels;
  l.audio_sample_rate = profile.audio_sample_rate;
  l.video_codec = profile.video_codec;
  l.x264_preset = profile.x264_preset;
  l.x264_profile = profile.x264_profile;
  l.crf = profile.crf;

  const Size source{src.display_width, src.display_height};
  const Size native{FloorEven(source.width), FloorEven(source.height)};
  const int src_short = source.short_side();
  auto label_of = [](int short_side) { return std::to_string(short_side) + "p"; };

  std::vector<Rendition> out;
  if (profile.single) {
    Rendition r;
    r.label = label_of(native.short_side());
    r.width = native.width;
    r.height = native.height;
    r.audio_bitrate = profile.audio_bitrate;
    r.native = true;
    out.push_back(r);
  } else {
    // Sizes of the table rungs that we keep, and which table row each came from.
    int top_row = -1;
    Size top_size;
    for (size_t i = 0; i < profile.rungs.size(); ++i) {
      const RungSpec& spec = profile.rungs[i];
      Rendition r;
      r.label = label_of(spec.height);
      r.video_bitrate = spec.video_bitrate;
      r.maxrate = spec.maxrate;
      r.bufsize = spec.bufsize;
      r.audio_bitrate = spec.audio_bitrate;
      Size size;
      if (spec.height <= src_short) {
        size = ScaledTo(source, spec.height);
        // Never larger than the source (rounding to even could add a pixel).
        size.width = std::min(size.width, native.width);
        size.height = std::min(size.height, native.height);
      } else if (src_short >= spec.height * (1.0 - profile.near_rung_tolerance)) {
        size = native;  // just under the rung: the rung at the source's own size
        r.native = true;
      } else {
        break;  // rungs are ascending: every later one is taller still
      }
      r.width = size.width;
      r.height = size.height;
      out.push_back(r);
      top_row = static_cast<int>(i);
      top_size = size;
    }

    if (top_row < 0) {
      // Smaller than every rung: one rung at its own size, the lowest row's rates scaled by
      // pixel count (against that row at the source's aspect), but not below 1/8 of them, so a
      // 160x90 clip still gets a watchable rate.
      const RungSpec& spec = profile.rungs.front();
      Size ref = ScaledTo(source, spec.height);
      double f = std::max(1.0 / 8, static_cast<double>(native.pixels()) / ref.pixels());
      Rendition r;
      r.label = label_of(native.short_side());
      r.width = native.width;
      r.height = native.height;
      r.video_bitrate = Scale(spec.video_bitrate, f);
      r.maxrate = Scale(spec.maxrate, f);
      r.bufsize = Scale(spec.bufsize, f);
      r.audio_bitrate = spec.audio_bitrate;
      r.native = true;
      out.push_back(r);
    } else if (native.short_side() > top_size.short_side() * (1.0 + profile.extra_top_margin)) {
      // Well above the highest kept rung: keep the source's own quality as an extra top rung.
      // Rates scale with pixels from the top kept rung, capped at the next row's rates (a
      // 3840x1920 source never gets more than the 2160p row would).
      const RungSpec& spec = profile.rungs[top_row];
      double f = static_cast<double>(native.pixels()) / top_size.pixels();
      Rendition r;
      r.label = label_of(native.short_side());
      r.width = native.width;
      r.height = native.height;
      r.video_bitrate = Scale(spec.video_bitrate, f);
      r.maxrate = Scale(spec.maxrate, f);
      r.bufsize = Scale(spec.bufsize, f);
      r.audio_bitrate = spec.audio_bitrate;
      if (static_cast<size_t>(top_row + 1) < profile.rungs.size()) {
        const RungSpec& next = profile.rungs[top_row + 1];
        r.video_bitrate = std::min(r.video_bitrate, next.video_bitrate);
        r.maxrate = std::min(r.maxrate, next.maxrate);
        r.bufsize = std::min(r.bufsize, next.bufsize);
        r.audio_bitrate = std::max(r.audio_bitrate, next.audio_bitrate);
      }
      r.native = true;
      out.push_back(r);
    }
  }

  for (size_t i = 0; i < out.size(); ++i) {
    out[i].index = static_cast<int>(i);
    if (!src.has_audio) out[i].audio_bitrate = 0;
  }
  l.renditions = std::move(out);
  return l;
}

}  // namespace hlsforge::media
