#include "media/probe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "common/subprocess.h"

namespace hlsforge::media {
namespace fs = std::filesystem;
using nlohmann::json;

const char kAllowedDemuxers[] = "mov,matroska,mpegts,avi,flv,mxf,mpeg,ogg,asf";

namespace {

std::set<std::string> SplitComma(std::string_view s) {
  std::set<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string_view::npos) c = s.size();
    if (c > start) out.insert(std::string(s.substr(start, c - start)));
    start = c + 1;
  }
  return out;
}

// ffprobe prints most numbers as strings ("3.000000") and some as numbers (width).
std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return "";
}

double Num(const json& j, const char* key, double fallback = 0) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() && *end == '\0' && std::isfinite(v)) return v;
  }
  return fallback;
}

int64_t Int(const json& j, const char* key, int64_t fallback = 0) {
  double v = Num(j, key, std::nan(""));
  if (std::isnan(v) || v < -9e18 || v > 9e18) return fallback;
  return static_cast<int64_t>(std::llround(v));
}

// Clockwise degrees, normalised to 0/90/180/270 (nearest quarter turn).
int NormaliseRotation(double clockwise) {
  long q = std::lround(clockwise / 90.0);
  int deg = static_cast<int>(((q % 4) + 4) % 4) * 90;
  return deg;
}

int BitDepthFromPixFmt(const std::string& pix_fmt) {
  // "yuv420p10le" → 10, "yuv422p12be" → 12, "yuv420p" → 8.
  size_t p = pix_fmt.rfind('p');
  if (p != std::string::npos && p + 1 < pix_fmt.size()) {
    int d = 0;
    size_t i = p + 1;
    while (i < pix_fmt.size() && std::isdigit(static_cast<unsigned char>(pix_fmt[i]))) {
      d = d * 10 + (pix_fmt[i] - '0');
      ++i;
    }
    if (d >= 8 && d <= 16 &&
        (i == pix_fmt.size() || pix_fmt.substr(i) == "le" || pix_fmt.substr(i) == "be")) {
      return d;
    }
  }
  return 8;
}

bool IsImageCodec(const std::string& c) {
  static const std::set<std::string> k = {"png",  "mjpeg",    "jpegls", "bmp", "gif", "tiff",
                                          "webp", "jpeg2000", "ppm",    "pgm", "pam", "qoi",
                                          "apng", "jpegxl",   "exr",    "dpx", "sgi", "targa"};
  return k.count(c) > 0;
}

// An average rate measured over a VFR stream (23.47...) → the common rate it is closest to
// within 3%, else the nearest whole number, so the encode gets a sane constant rate.
Rational SnapFrameRate(double fps) {
  static const Rational kCommon[] = {{24000, 1001}, {24, 1}, {25, 1}, {30000, 1001},
                                     {30, 1},       {48, 1}, {50, 1}, {60000, 1001},
                                     {60, 1},       {120, 1}};
  if (!(fps > 0)) return {0, 1};
  const Rational* best = nullptr;
  for (const auto& c : kCommon) {
    double d = std::fabs(c.value() - fps) / fps;
    if (d <= 0.03 && (best == nullptr || d < std::fabs(best->value() - fps) / fps)) best = &c;
  }
  if (best) return *best;
  return {std::max<int64_t>(1, std::llround(fps)), 1};
}

std::string FirstLine(std::string_view s, size_t max_len = 200) {
  size_t nl = s.find('\n');
  std::string out(s.substr(0, nl));
  while (!out.empty() && (out.back() == '\r' || out.back() == ' ')) out.pop_back();
  if (out.size() > max_len) out = out.substr(0, max_len) + "...";
  return out;
}

}  // namespace

Rational ParseRational(std::string_view s) {
  Rational r{0, 1};
  size_t slash = s.find('/');
  std::string a(s.substr(0, slash));
  std::string b = slash == std::string_view::npos ? "1" : std::string(s.substr(slash + 1));
  char* e1 = nullptr;
  char* e2 = nullptr;
  long long n = std::strtoll(a.c_str(), &e1, 10);
  long long d = std::strtoll(b.c_str(), &e2, 10);
  if (a.empty() || b.empty() || *e1 != '\0' || *e2 != '\0' || n <= 0 || d <= 0) return r;
  if (n > 1000000000LL || d > 1000000000LL) return r;
  return Rational{n, d};
}

json SourceInfo::ToJson() const {
  json j;
  j["path"] = path;
  j["format"] = format_name;
  j["demuxer"] = demuxer;
  j["duration"] = duration;
  j["size_bytes"] = size_bytes;
  j["bit_rate"] = bit_rate;
  j["video"] = {{"index", video_index},
                {"codec", video_codec},
                {"profile", video_profile},
                {"width", width},
                {"height", height},
                {"sample_aspect", sample_aspect.ToString()},
                {"rotation", rotation},
                {"display_width", display_width},
                {"display_height", display_height},
                {"avg_frame_rate", avg_frame_rate.ToString()},
                {"r_frame_rate", r_frame_rate.ToString()},
                {"frame_rate", frame_rate.ToString()},
                {"fps", fps},
                {"vfr", vfr},
                {"pix_fmt", pix_fmt},
                {"bit_depth", bit_depth},
                {"bit_rate", video_bit_rate},
                {"frames", frames},
                {"interlaced", interlaced}};
  if (has_audio) {
    j["audio"] = {{"index", audio_index},
                  {"codec", audio_codec},
                  {"channels", audio_channels},
                  {"sample_rate", audio_sample_rate},
                  {"bit_rate", audio_bit_rate}};
  } else {
    j["audio"] = nullptr;
  }
  return j;
}

std::string ExplainProbeFailure(std::string_view err) {
  std::string text(err);
  if (auto p = text.find("Format not on whitelist"); p != std::string::npos) {
    // "[hls @ 0x55d7...] Format not on whitelist 'mov,...'"
    size_t line_start = text.rfind('\n', p);
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    std::string name;
    if (text.compare(line_start, 1, "[") == 0) {
      size_t at = text.find(" @ ", line_start);
      if (at != std::string::npos && at < p)
        name = text.substr(line_start + 1, at - line_start - 1);
    }
    return "not a supported video container" +
           (name.empty() ? std::string() : " (detected format '" + name + "' is not allowed)");
  }
  if (text.find("moov atom not found") != std::string::npos) {
    return "truncated or corrupt file (no moov atom)";
  }
  if (text.find("Invalid data found when processing input") != std::string::npos) {
    return "not a video file (unrecognised or corrupt data)";
  }
  if (text.find("Permission denied") != std::string::npos) return "input is not readable";
  // Last non-empty line, without ffprobe's "<path>: " prefix.
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  if (last.empty()) return "ffprobe could not read the file";
  return "ffprobe: " + FirstLine(last);
}

Result<SourceInfo> ParseProbeJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return BadInput("ffprobe printed unreadable output");
  SourceInfo s;

  const json& format = j.contains("format") && j["format"].is_object() ? j["format"] : json();
  if (!format.is_object()) return BadInput("not a video file (no container format)");
  s.format_name = Str(format, "format_name");
  std::set<std::string> allowed = SplitComma(kAllowedDemuxers);
  // ffprobe names the demuxer by its full alias list ("mov,mp4,m4a,..."); the first alias is
  // the demuxer's own name, which is what -f wants.
  std::string first = s.format_name.substr(0, s.format_name.find(','));
  if (allowed.count(first)) s.demuxer = first;
  if (s.demuxer.empty()) {
    return BadInput("not a supported video container (format '" + s.format_name + "')");
  }
  s.bit_rate = Int(format, "bit_rate");
  s.size_bytes = Int(format, "size");

  const json* video = nullptr;
  const json* audio = nullptr;
  if (j.contains("streams") && j["streams"].is_array()) {
    for (const json& st : j["streams"]) {
      if (!st.is_object()) continue;
      std::string type = Str(st, "codec_type");
      bool cover = false;
      if (st.contains("disposition") && st["disposition"].is_object()) {
        cover = Int(st["disposition"], "attached_pic") == 1;
      }
      if (type == "video" && !cover && video == nullptr) video = &st;
      if (type == "audio" && audio == nullptr) audio = &st;
    }
  }
  if (video == nullptr) return BadInput("no video stream in the file");
  const json& v = *video;
  s.video_index = static_cast<int>(Int(v, "index"));
  s.video_codec = Str(v, "codec_name");
  s.video_profile = Str(v, "profile");
  s.width = static_cast<int>(Int(v, "width"));
  s.height = static_cast<int>(Int(v, "height"));
  if (s.width <= 0 || s.height <= 0 || s.width > 16384 || s.height > 16384) {
    return BadInput("video stream has no usable picture size (" + std::to_string(s.width) + "x" +
                    std::to_string(s.height) + ")");
  }
  s.frames = Int(v, "nb_frames");
  s.pix_fmt = Str(v, "pix_fmt");
  if (s.pix_fmt.empty()) return BadInput("video stream cannot be decoded (unknown pixel format)");
  int64_t raw_bits = Int(v, "bits_per_raw_sample");
  s.bit_depth =
      raw_bits >= 8 && raw_bits <= 16 ? static_cast<int>(raw_bits) : BitDepthFromPixFmt(s.pix_fmt);
  s.video_bit_rate = Int(v, "bit_rate");
  std::string field_order = Str(v, "field_order");
  s.interlaced =
      field_order == "tt" || field_order == "bb" || field_order == "tb" || field_order == "bt";

  bool still = false;
  if (v.contains("disposition") && v["disposition"].is_object()) {
    still = Int(v["disposition"], "still_image") == 1;
  }
  if (still || (IsImageCodec(s.video_codec) && s.frames <= 1) || s.frames == 1) {
    return BadInput("a still image, not a video (" + s.video_codec + ")");
  }

  // Duration: the container's, else the video stream's.
  s.duration = Num(format, "duration", 0);
  if (!(s.duration > 0)) s.duration = Num(v, "duration", 0);
  if (!(s.duration > 0) || !std::isfinite(s.duration)) {
    return BadInput("no duration: truncated or not a video");
  }
  if (s.duration < 0.05) return BadInput("too short to be a video");

  // Rotation: the display matrix (counter-clockwise degrees in ffprobe's output) wins over the
  // legacy "rotate" tag (clockwise degrees).
  double clockwise = 0;
  bool have_rotation = false;
  if (v.contains("side_data_list") && v["side_data_list"].is_array()) {
    for (const json& sd : v["side_data_list"]) {
      if (sd.is_object() && Str(sd, "side_data_type") == "Display Matrix" &&
          sd.contains("rotation")) {
        clockwise = -Num(sd, "rotation");
        have_rotation = true;
      }
    }
  }
  if (!have_rotation && v.contains("tags") && v["tags"].is_object() &&
      v["tags"].contains("rotate")) {
    clockwise = Num(v["tags"], "rotate");
  }
  s.rotation = NormaliseRotation(clockwise);

  // Sample aspect ratio "N:M" ("0:1" = unknown = square).
  std::string sar = Str(v, "sample_aspect_ratio");
  if (auto colon = sar.find(':'); colon != std::string::npos) {
    Rational r = ParseRational(sar.substr(0, colon) + "/" + sar.substr(colon + 1));
    if (r.valid() && r.value() > 0.1 && r.value() < 10) s.sample_aspect = r;
  }
  double dw = s.width * s.sample_aspect.value();
  int disp_w = static_cast<int>(std::lround(dw));
  int disp_h = s.height;
  if (s.rotation == 90 || s.rotation == 270) std::swap(disp_w, disp_h);
  s.display_width = std::max(disp_w, 1);
  s.display_height = std::max(disp_h, 1);

  // Frame rate. avg = frames / duration; r = the lowest rate that represents every timestamp.
  // They disagree for variable-frame-rate sources (phones): then r is the nominal rate unless it
  // is a timebase artefact (90000/1), in which case the average is all we have.
  s.avg_frame_rate = ParseRational(Str(v, "avg_frame_rate"));
  s.r_frame_rate = ParseRational(Str(v, "r_frame_rate"));
  double avg = s.avg_frame_rate.valid() ? s.avg_frame_rate.value() : 0;
  double r = s.r_frame_rate.valid() ? s.r_frame_rate.value() : 0;
  if (avg > 0 && r > 0 && std::fabs(avg - r) / r > 0.01) s.vfr = true;
  if (s.vfr) {
    if (r > 0 && r <= 120 && r >= avg) {
      s.frame_rate = s.r_frame_rate;
    } else {
      s.frame_rate = SnapFrameRate(avg);
    }
  } else {
    s.frame_rate = avg > 0 ? s.avg_frame_rate : s.r_frame_rate;
  }
  s.fps = s.frame_rate.value();
  if (!(s.fps > 0) || s.fps > 1000) return BadInput("video stream has no usable frame rate");

  if (audio != nullptr) {
    s.has_audio = true;
    s.audio_index = static_cast<int>(Int(*audio, "index"));
    s.audio_codec = Str(*audio, "codec_name");
    s.audio_channels = static_cast<int>(Int(*audio, "channels"));
    s.audio_sample_rate = static_cast<int>(Int(*audio, "sample_rate"));
    s.audio_bit_rate = Int(*audio, "bit_rate");
  }
  return s;
}

Result<SourceInfo> Probe(const fs::path& input, const ProbeOptions& options) {
  std::error_code ec;
  fs::path abs = fs::absolute(input, ec);
  if (ec) return InvalidArgument("bad input path: " + input.string());
  abs = abs.lexically_normal();
  struct stat st;
  if (stat(abs.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound("no such file: " + input.string());
    return BadInput("cannot read " + input.string() + ": " + strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return BadInput(input.string() + " is a directory, not a video file");
  if (!S_ISREG(st.st_mode)) return BadInput(input.string() + " is not a regular file");
  if (st.st_size == 0) return BadInput("empty file (0 bytes): " + input.string());
  int fd = open(abs.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PermissionDenied("cannot read " + input.string() + ": " + strerror(errno));
  close(fd);

  // The path is absolute, so it can neither look like an option nor like "proto:..." to ffprobe.
  std::vector<std::string> argv = {"ffprobe",
                                   "-v",
                                   "error",
                                   "-hide_banner",
                                   "-protocol_whitelist",
                                   "file",
                                   "-format_whitelist",
                                   kAllowedDemuxers,
                                   "-print_format",
                                   "json",
                                   "-show_format",
                                   "-show_streams",
                                   "-i",
                                   abs.string()};
  SubprocessOptions so;
  so.timeout = options.timeout;
  so.cancel = options.cancel;
  so.capture_limit = 4 << 20;
  ASSIGN_OR_RETURN(SubprocessResult r, RunSubprocess(argv, so));
  if (r.exit_code != 0 || r.signaled) {
    return BadInput(ExplainProbeFailure(r.err) + ": " + input.filename().string());
  }
  auto info = ParseProbeJson(r.out);
  if (!info.ok()) return info.status();
  info->path = abs.string();
  info->size_bytes = st.st_size;
  return info;
}

}  // namespace hlsforge::media
