#include "hls/validator.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "common/subprocess.h"
#include "hls/parser.h"
#include "hls/ts_scan.h"

namespace hlsforge::hls {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kSegmentHeadBytes = 1 << 20;  // enough for the first access unit's NAL headers
constexpr double kBandwidthTolerance = 0.10;
constexpr double kTargetSlack = 0.5;

std::string Fmt(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Reads at most `limit` bytes; *truncated says whether the file was longer.
Result<std::string> ReadHead(const fs::path& p, size_t limit, bool* truncated = nullptr) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    int e = errno;
    if (e == EACCES) return PermissionDenied("cannot read " + p.string() + ": " + strerror(e));
    return NotFound("cannot read " + p.string() + ": " + strerror(e));
  }
  std::string data(limit + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(limit + 1));
  data.resize(static_cast<size_t>(in.gcount()));
  if (truncated) *truncated = data.size() > limit;
  if (data.size() > limit) data.resize(limit);
  return data;
}

double ParseRational(const std::string& s) {
  size_t slash = s.find('/');
  try {
    if (slash == std::string::npos) return std::stod(s);
    double num = std::stod(s.substr(0, slash)), den = std::stod(s.substr(slash + 1));
    return den != 0 ? num / den : 0;
  } catch (...) {
    return 0;
  }
}

struct StreamInfo {
  bool present = false;
  std::string codec_name;
  std::string profile;
  int level = 0;
  int width = 0, height = 0;
  double r_fps = 0, avg_fps = 0;
  double duration = -1;  // seconds covered by its packets in this segment; -1 = no timestamps
};

struct SegmentProbe {
  bool ok = false;
  std::string error;
  StreamInfo video, audio;
};

// What ffprobe said about one input: its JSON, or why there is none.
struct ProbeRun {
  std::string error;  // "" = ok
  json j;
};

// One ffprobe run: stream parameters and every packet's timestamps (and byte position). The
// input is forced to MPEG-TS and only the listed protocols may open anything.
Result<ProbeRun> RunFfprobe(const std::string& url, const std::string& protocols, int timeout_s) {
  SubprocessOptions o;
  o.timeout = std::chrono::seconds(timeout_s);
  o.capture_limit = 256 << 20;
  auto run =
      RunSubprocess({"ffprobe", "-v", "error", "-hide_banner", "-protocol_whitelist", protocols,
                     "-f", "mpegts", "-of", "json=c=1", "-show_entries",
                     "stream=index,codec_type,codec_name,profile,level,width,height,r_frame_rate,"
                     "avg_frame_rate,time_base:packet=stream_index,pts,duration,pos",
                     "-i", url},
                    o);
  ProbeRun p;
  if (!run.ok()) {
    if (run.status().code() == Code::kDeadlineExceeded) {
      p.error = "ffprobe timed out";
      return p;
    }
    return Unavailable("cannot run ffprobe: " + run.status().message());
  }
  if (run->exit_code != 0) {
    std::string err = run->err.substr(0, 200);
    while (!err.empty() && std::isspace(static_cast<unsigned char>(err.back()))) err.pop_back();
    p.error = "ffprobe failed: " + err;
    return p;
  }
  p.j = json::parse(run->out, nullptr, /*allow_exceptions=*/false);
  if (p.j.is_discarded() || !p.j.is_object()) p.error = "ffprobe printed unparsable JSON";
  return p;
}

struct Track {
  bool video = false;
  double tb = 0;
  double frame = 0;  // nominal packet duration in seconds
};

// Time covered by a set of packets: from the earliest pts to the latest pts + duration.
struct Span {
  double first = 0, end = 0;
  bool any = false;
  void Add(double pts, double dur) {
    first = any ? std::min(first, pts) : pts;
    end = any ? std::max(end, pts + dur) : pts + dur;
    any = true;
  }
  double Length() const { return any ? end - first : -1; }
};

// Fills the first video and first audio stream of `j` into `p`; returns stream index -> track.
std::map<int, Track> ReadStreams(const json& j, SegmentProbe& p) {
  std::map<int, Track> tracks;
  for (const auto& s : j.value("streams", json::array())) {
    std::string type = s.value("codec_type", "");
    StreamInfo* info = type == "video" ? &p.video : type == "audio" ? &p.audio : nullptr;
    if (info == nullptr || info->present) continue;  // first stream of each type counts
    info->present = true;
    info->codec_name = s.value("codec_name", "");
    info->profile = s.value("profile", "");
    info->level = s.value("level", 0);
    info->width = s.value("width", 0);
    info->height = s.value("height", 0);
    info->r_fps = ParseRational(s.value("r_frame_rate", "0/0"));
    info->avg_fps = ParseRational(s.value("avg_frame_rate", "0/0"));
    Track t;
    t.video = info == &p.video;
    t.tb = ParseRational(s.value("time_base", "1/90000"));
    double fps = info->r_fps > 0 ? info->r_fps : info->avg_fps;
    t.frame = fps > 0 ? 1.0 / fps : 0;
    tracks[s.value("index", -1)] = t;
  }
  return tracks;
}

// Calls f(track, pts_seconds, duration_seconds, pos) for each packet with a pts.
template <typename F>
void ForEachPacket(const json& j, const std::map<int, Track>& tracks, F f) {
  for (const auto& pkt : j.value("packets", json::array())) {
    auto it = tracks.find(pkt.value("stream_index", -1));
    if (it == tracks.end() || !pkt.contains("pts") || !pkt["pts"].is_number()) continue;
    const Track& t = it->second;
    double pts = pkt["pts"].get<double>() * t.tb;
    double dur = pkt.contains("duration") && pkt["duration"].is_number()
                     ? pkt["duration"].get<double>() * t.tb
                     : t.frame;
    int64_t pos = -1;
    if (pkt.contains("pos") && pkt["pos"].is_string()) {
      pos = std::strtoll(pkt["pos"].get<std::string>().c_str(), nullptr, 10);
    } else if (pkt.contains("pos") && pkt["pos"].is_number()) {
      pos = pkt["pos"].get<int64_t>();
    }
    f(t, pts, dur, pos);
  }
}

// One segment, one ffprobe.
Result<SegmentProbe> ProbeSegment(const fs::path& abs, int timeout_s) {
  ASSIGN_OR_RETURN(ProbeRun run, RunFfprobe("file:" + abs.string(), "file", timeout_s));
  SegmentProbe p;
  if (!run.error.empty()) {
    p.error = run.error;
    return p;
  }
  try {
    auto tracks = ReadStreams(run.j, p);
    Span video, audio;
    ForEachPacket(run.j, tracks, [&](const Track& t, double pts, double dur, int64_t) {
      (t.video ? video : audio).Add(pts, dur);
    });
    p.video.duration = video.Length();
    p.audio.duration = audio.Length();
  } catch (const std::exception& e) {
    p.error = std::string("unexpected ffprobe output: ") + e.what();
    return p;
  }
  p.ok = true;
  return p;
}

// All segments of a variant in ONE ffprobe, through the concat protocol (ffprobe's start-up
// dominates its cost, so this is what keeps validating many packages fast). Video packets are
// attributed to segments by byte position. Only used when every segment starts with an IDR and
// identical parameter sets (so stream parameters read once hold for all). Returns nullopt when
// anything looks off; the caller then probes segment by segment for precise diagnostics.
using ConcatProbe = std::optional<std::vector<SegmentProbe>>;
Result<ConcatProbe> ProbeConcat(const std::vector<fs::path>& paths,
                                const std::vector<uintmax_t>& sizes, int timeout_s) {
  std::string url = "concat:";
  std::vector<int64_t> offsets;  // start of each segment in the concatenated stream
  int64_t at = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (i > 0) url += '|';
    url += "file:" + paths[i].string();
    offsets.push_back(at);
    at += static_cast<int64_t>(sizes[i]);
  }
  ASSIGN_OR_RETURN(ProbeRun run, RunFfprobe(url, "file,concat", timeout_s));
  if (!run.error.empty()) return ConcatProbe();
  try {
    SegmentProbe base;
    auto tracks = ReadStreams(run.j, base);
    if (!base.video.present) return ConcatProbe();
    std::vector<Span> spans(paths.size());
    bool stray = false;
    ForEachPacket(run.j, tracks, [&](const Track& t, double pts, double dur, int64_t pos) {
      if (!t.video) return;  // audio packet positions are not reliable across PES splits
      if (pos < 0 || pos >= at) {
        stray = true;
        return;
      }
      size_t seg = std::upper_bound(offsets.begin(), offsets.end(), pos) - offsets.begin() - 1;
      spans[seg].Add(pts, dur);
    });
    if (stray) return ConcatProbe();
    std::vector<SegmentProbe> out(paths.size(), base);
    for (size_t i = 0; i < paths.size(); ++i) {
      if (!spans[i].any) return ConcatProbe();
      out[i].ok = true;
      out[i].video.duration = spans[i].Length();
      out[i].audio.duration = -1;
    }
    return ConcatProbe(std::move(out));
  } catch (const std::exception&) {
    return ConcatProbe();
  }
}

// ---- URIs ----

bool HasScheme(const std::string& u) {
  if (u.empty() || !std::isalpha(static_cast<unsigned char>(u[0]))) return false;
  for (char c : u) {
    if (c == ':') return true;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return false;
}

bool IsWithin(const fs::path& p, const fs::path& root) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

struct Resolved {
  std::string rel;  // relative to the package folder, for reports
  fs::path abs;
};

// Resolves `uri` (decoded, from a playlist at `base_rel` inside the package) or explains why it
// may not be used: every path must stay inside the package, lexically and after symlinks.
std::optional<std::string> ResolveUri(const std::string& uri, const fs::path& base_rel,
                                      const fs::path& root_canonical, Resolved& out) {
  for (unsigned char c : uri) {
    if (c < 0x20 || c == 0x7F) return "URI contains a control character";
  }
  if (uri.empty()) return "empty URI";
  if (uri[0] == '/') return "absolute URI '" + uri + "'";
  if (HasScheme(uri)) return "URI with a scheme '" + uri + "'";
  std::stringstream parts(uri);
  for (std::string seg; std::getline(parts, seg, '/');) {
    if (seg == "..") return "URI '" + uri + "' climbs out with '..'";
  }
  fs::path rel = (base_rel / uri).lexically_normal();
  if (rel.is_absolute() || (!rel.empty() && *rel.begin() == "..")) {
    return "URI '" + uri + "' leaves the package";
  }
  out.rel = rel.generic_string();
  out.abs = root_canonical / rel;
  std::error_code ec;
  if (fs::exists(out.abs, ec)) {
    fs::path real = fs::canonical(out.abs, ec);
    if (!ec && !IsWithin(real, root_canonical)) {
      return "URI '" + uri + "' resolves outside the package (symlink to " + real.string() + ")";
    }
  }
  return std::nullopt;
}

// ---- per-variant state ----

struct SegmentState {
  Segment seg;
  Resolved where;
  bool usable = false;  // URI fine and the file is there
  uintmax_t bytes = 0;
  TsVideoStart start;
  SegmentProbe probe;
};

struct VariantState {
  Variant v;
  Resolved where;
  bool media_ok = false;
  MediaPlaylist media;
  std::vector<SegmentState> segments;
};

class Checker {
 public:
  explicit Checker(ValidationReport& r) : r_(r) {}
  // File names and messages quote what hostile playlists contain: keep each violation on one
  // printable line.
  void Add(const std::string& file, const std::string& rule, const std::string& message) {
    r_.violations.push_back({Printable(file), rule, Printable(message)});
  }

 private:
  static std::string Printable(std::string s) {
    for (char& ch : s) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) ch = '?';
    }
    return s;
  }

  ValidationReport& r_;
};

struct Rate {
  double extinf;
  uintmax_t bytes;
};

BitrateMeasurement Measure(const std::vector<Rate>& rates) {
  BitrateMeasurement m;
  double total_time = 0, total_bits = 0;
  for (const auto& r : rates) {
    double bits = static_cast<double>(r.bytes) * 8;
    total_bits += bits;
    total_time += r.extinf;
    if (r.extinf > 0) m.peak_bps = std::max<int64_t>(m.peak_bps, std::llround(bits / r.extinf));
  }
  if (total_time > 0) m.average_bps = std::llround(total_bits / total_time);
  return m;
}

int ProfileIdcFromName(const std::string& name) {
  static const std::map<std::string, int> kMap = {{"Baseline", 66},
                                                  {"Constrained Baseline", 66},
                                                  {"Main", 77},
                                                  {"Extended", 88},
                                                  {"High", 100},
                                                  {"Constrained High", 100},
                                                  {"Progressive High", 100},
                                                  {"High 10", 110},
                                                  {"High 10 Intra", 110},
                                                  {"High 4:2:2", 122},
                                                  {"High 4:2:2 Intra", 122},
                                                  {"High 4:4:4 Predictive", 244},
                                                  {"High 4:4:4 Intra", 244},
                                                  {"CAVLC 4:4:4", 44}};
  auto it = kMap.find(name);
  return it == kMap.end() ? 0 : it->second;
}

std::vector<std::string> SplitCodecs(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string c; std::getline(ss, c, ',');) {
    size_t b = c.find_first_not_of(" \t"), e = c.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(c.substr(b, e - b + 1));
  }
  return out;
}

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

bool IsVideoCodecEntry(const std::string& c) {
  for (const char* p : {"avc1", "avc3", "hvc1", "hev1", "vp09", "av01", "dvh1", "dvhe", "mp4v"}) {
    if (StartsWith(c, p)) return true;
  }
  return false;
}

bool IsAudioCodecEntry(const std::string& c) {
  for (const char* p : {"mp4a", "ac-3", "ec-3", "ac-4", "opus", "Opus", "fLaC", "alac"}) {
    if (StartsWith(c, p)) return true;
  }
  return false;
}

void CheckCodecs(const VariantState& vs, const SegmentState* first, const std::string& file,
                 Checker& c) {
  if (vs.v.codecs.empty() || first == nullptr) return;
  const StreamInfo& video = first->probe.video;
  const StreamInfo& audio = first->probe.audio;
  bool declared_video = false, declared_audio = false;
  for (const std::string& codec : SplitCodecs(vs.v.codecs)) {
    if (IsVideoCodecEntry(codec)) {
      declared_video = true;
      if (!video.present) {
        c.Add(file, "codecs-mismatch",
              "CODECS declares video '" + codec + "' but the segments have no video");
        continue;
      }
      if (StartsWith(codec, "avc1.") || StartsWith(codec, "avc3.")) {
        if (video.codec_name != "h264") {
          c.Add(file, "codecs-mismatch",
                "CODECS declares H.264 '" + codec + "' but the video is " + video.codec_name);
          continue;
        }
        std::string hex = codec.substr(5);
        if (hex.size() != 6 ||
            hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
          c.Add(file, "codecs-mismatch",
                "malformed H.264 codec '" + codec + "' (want avc1.PPCCLL)");
          continue;
        }
        int pp = std::stoi(hex.substr(0, 2), nullptr, 16),
            ll = std::stoi(hex.substr(4, 2), nullptr, 16);
        bool from_sps = first->start.has_sps;
        int real_pp = from_sps ? first->start.profile_idc : ProfileIdcFromName(video.profile);
        int real_ll = from_sps ? first->start.level_idc : video.level;
        std::string src = from_sps ? "SPS" : "ffprobe";
        if (real_pp != 0 && pp != real_pp) {
          c.Add(file, "codecs-mismatch",
                "CODECS '" + codec + "' declares profile_idc " + std::to_string(pp) +
                    " but the stream has " + std::to_string(real_pp) + " (" + video.profile +
                    ", from " + src + ")");
        }
        if (real_ll > 0 && ll != real_ll) {
          c.Add(file, "codecs-mismatch",
                "CODECS '" + codec + "' declares level_idc " + std::to_string(ll) +
                    " but the stream has " + std::to_string(real_ll) + " (from " + src + ")");
        }
      } else if (StartsWith(codec, "hvc1") || StartsWith(codec, "hev1")) {
        if (video.codec_name != "hevc") {
          c.Add(file, "codecs-mismatch",
                "CODECS declares HEVC '" + codec + "' but the video is " + video.codec_name);
        }
      }
    } else if (IsAudioCodecEntry(codec)) {
      declared_audio = true;
      if (!audio.present) {
        c.Add(file, "codecs-mismatch",
              "CODECS declares audio '" + codec + "' but the segments have no audio");
        continue;
      }
      if (StartsWith(codec, "mp4a.40.")) {
        if (audio.codec_name != "aac") {
          c.Add(file, "codecs-mismatch",
                "CODECS declares AAC '" + codec + "' but the audio is " + audio.codec_name);
          continue;
        }
        static const std::map<std::string, std::string> kAot = {
            {"LC", "2"}, {"HE-AAC", "5"}, {"HE-AACv2", "29"}};
        auto it = kAot.find(audio.profile);
        if (it != kAot.end() && codec.substr(8) != it->second) {
          c.Add(file, "codecs-mismatch",
                "CODECS '" + codec + "' but the audio is AAC " + audio.profile + " (mp4a.40." +
                    it->second + ")");
        }
      } else if ((codec == "ac-3" && audio.codec_name != "ac3") ||
                 (codec == "ec-3" && audio.codec_name != "eac3")) {
        c.Add(file, "codecs-mismatch",
              "CODECS declares '" + codec + "' but the audio is " + audio.codec_name);
      }
    }
  }
  if (video.present && !declared_video) {
    c.Add(file, "codecs-mismatch",
          "the segments have " + video.codec_name + " video that CODECS does not declare");
  }
  if (audio.present && !declared_audio) {
    c.Add(file, "codecs-mismatch",
          "the segments have " + audio.codec_name + " audio that CODECS does not declare");
  }
}

void CheckBandwidth(const char* rule, const char* attr, int64_t declared, int64_t measured,
                    const char* what, const std::string& uri, const std::string& file, Checker& c) {
  if (declared <= 0 || measured <= 0) return;
  double ratio = static_cast<double>(declared) / static_cast<double>(measured);
  if (std::fabs(ratio - 1) <= kBandwidthTolerance) return;
  c.Add(file, rule,
        uri + ": " + attr + "=" + std::to_string(declared) + " is " +
            Fmt(std::fabs(ratio - 1) * 100, 0) + "% " + (ratio > 1 ? "above" : "below") +
            " the measured " + what + " " + std::to_string(measured) + " bit/s (allowed 10%)");
}

}  // namespace

bool ValidationReport::Has(const std::string& rule) const {
  return std::any_of(violations.begin(), violations.end(),
                     [&](const Violation& v) { return v.rule == rule; });
}

std::string ValidationReport::ToText() const {
  std::string counts =
      std::to_string(variants) + " variants, " + std::to_string(segments) + " segments";
  if (ok()) return "OK: " + counts + "\n";
  std::string out;
  for (const auto& v : violations) out += v.ToString() + "\n";
  out += "INVALID: " + std::to_string(violations.size()) + " violations (" + counts + ")\n";
  return out;
}

Result<BitrateMeasurement> MeasureBitrate(const MediaPlaylist& playlist, const fs::path& dir) {
  std::vector<Rate> rates;
  for (const auto& s : playlist.segments) {
    std::error_code ec;
    uintmax_t size = fs::file_size(dir / s.uri, ec);
    if (ec) return NotFound("segment " + (dir / s.uri).string() + ": " + ec.message());
    rates.push_back({s.duration, size});
  }
  return Measure(rates);
}

Result<ValidationReport> ValidatePackage(const fs::path& path, const ValidateOptions& options) {
  std::error_code ec;
  fs::path master_path = path;
  if (fs::is_directory(path, ec)) master_path = path / "master.m3u8";
  if (!fs::exists(master_path, ec)) return NotFound("no such playlist: " + master_path.string());
  if (!fs::is_regular_file(master_path, ec)) {
    return InvalidArgument("not a playlist file: " + master_path.string());
  }
  fs::path root = fs::canonical(master_path, ec).parent_path();
  if (ec) return Internal("cannot resolve " + master_path.string() + ": " + ec.message());
  std::string master_name = master_path.filename().string();

  ValidationReport report;
  Checker c(report);

  bool too_big = false;
  ASSIGN_OR_RETURN(std::string master_text, ReadHead(master_path, kMaxPlaylistBytes, &too_big));
  if (too_big) {
    c.Add(master_name, "syntax", "playlist larger than " + std::to_string(kMaxPlaylistBytes));
    return report;
  }
  auto master = ParseMaster(master_text);
  if (!master.ok()) {
    auto kind = DetectPlaylistKind(master_text);
    c.Add(master_name, "syntax",
          kind.ok() && *kind == PlaylistKind::kMedia
              ? "this is a media playlist; give the package folder or its multivariant playlist"
              : master.status().message());
    return report;
  }
  if (!master->independent_segments) {
    c.Add(master_name, "independent-segments", "missing #EXT-X-INDEPENDENT-SEGMENTS");
  }
  // An empty catalog is a legitimate state (catalog.h); an empty video master is not.
  if (master->variants.empty() && !options.catalog) {
    c.Add(master_name, "no-variants", "no EXT-X-STREAM-INF");
  }

  // ---- playlists ----
  std::vector<VariantState> variants;
  for (const Variant& v : master->variants) {
    VariantState vs;
    vs.v = v;
    if (auto why = ResolveUri(v.uri, "", root, vs.where)) {
      c.Add(master_name, "uri-escape", *why);
      variants.push_back(std::move(vs));
      continue;
    }
    const std::string& file = vs.where.rel;
    if (!fs::is_regular_file(vs.where.abs, ec)) {
      c.Add(master_name, "missing-file", "variant playlist '" + file + "' does not exist");
      variants.push_back(std::move(vs));
      continue;
    }
    auto text = ReadHead(vs.where.abs, kMaxPlaylistBytes, &too_big);
    if (!text.ok()) {
      c.Add(master_name, "missing-file", "cannot read '" + file + "': " + text.status().message());
    } else if (too_big) {
      c.Add(file, "syntax", "playlist larger than " + std::to_string(kMaxPlaylistBytes));
    } else if (auto media = ParseMedia(*text); !media.ok()) {
      c.Add(file, "syntax", media.status().message());
    } else {
      vs.media_ok = true;
      vs.media = std::move(media).value();
    }
    variants.push_back(std::move(vs));
  }
  report.variants = static_cast<int>(variants.size());

  // ---- media playlists and segment files ----
  for (VariantState& vs : variants) {
    if (!vs.media_ok) continue;
    const std::string& file = vs.where.rel;
    const MediaPlaylist& m = vs.media;
    if (m.playlist_type != "VOD") {
      c.Add(file, "playlist-type",
            m.playlist_type.empty() ? "missing #EXT-X-PLAYLIST-TYPE:VOD"
                                    : "#EXT-X-PLAYLIST-TYPE:" + m.playlist_type + " (want VOD)");
    }
    if (!m.endlist) c.Add(file, "endlist", "missing #EXT-X-ENDLIST");
    if (m.target_duration <= 0) c.Add(file, "target-duration", "missing #EXT-X-TARGETDURATION");
    fs::path base = fs::path(vs.where.rel).parent_path();
    report.segments += static_cast<int>(m.segments.size());
    vs.segments.resize(m.segments.size());
    for (size_t i = 0; i < m.segments.size(); ++i) {
      SegmentState& s = vs.segments[i];
      s.seg = m.segments[i];
      if (m.target_duration > 0) {
        double d = s.seg.duration;
        if (std::llround(d) > m.target_duration || d > m.target_duration + kTargetSlack) {
          c.Add(file, "segment-duration",
                "segment " + std::to_string(i) + " EXTINF " + Fmt(d, 6) +
                    " exceeds EXT-X-TARGETDURATION " + std::to_string(m.target_duration));
        }
      }
      if (auto why = ResolveUri(s.seg.uri, base, root, s.where)) {
        c.Add(file, "uri-escape", *why);
        continue;
      }
      if (!fs::is_regular_file(s.where.abs, ec)) {
        c.Add(file, "missing-file", "segment '" + s.where.rel + "' does not exist");
        continue;
      }
      auto head = ReadHead(s.where.abs, kSegmentHeadBytes);
      if (!head.ok()) {
        c.Add(file, "missing-file",
              "cannot read '" + s.where.rel + "': " + head.status().message());
        continue;
      }
      s.bytes = fs::file_size(s.where.abs, ec);
      s.start = ScanTsVideoStart(*head);
      s.usable = true;
    }
  }

  // ---- ffprobe, a few at a time: one per variant when possible, else one per segment ----
  struct Task {
    std::vector<SegmentState*> segments;
    bool concat = false;
  };
  std::vector<Task> tasks;
  for (VariantState& vs : variants) {
    std::vector<SegmentState*> usable;
    for (SegmentState& s : vs.segments) {
      if (s.usable) usable.push_back(&s);
    }
    bool concat = usable.size() >= 2 && !options.probe_each_segment;
    for (SegmentState* s : usable) {
      concat = concat && s->start.StartsWithIdr() && !s->start.parameter_sets.empty() &&
               s->start.parameter_sets == usable[0]->start.parameter_sets &&
               s->where.abs.string().find('|') == std::string::npos;
    }
    if (concat) {
      tasks.push_back({usable, true});
    } else {
      for (SegmentState* s : usable) tasks.push_back({{s}, false});
    }
  }
  int jobs = options.jobs > 0
                 ? options.jobs
                 : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  std::mutex mu;
  Status tool_error;
  std::atomic<int> runs{0};
  auto run_tasks = [&](std::vector<Task>& list) {
    std::atomic<size_t> next{0};
    std::vector<Task> retry;
    auto worker = [&] {
      for (size_t i; (i = next.fetch_add(1)) < list.size();) {
        Task& task = list[i];
        Status st;
        runs.fetch_add(1);
        if (task.concat) {
          std::vector<fs::path> paths;
          std::vector<uintmax_t> sizes;
          for (SegmentState* s : task.segments) {
            paths.push_back(s->where.abs);
            sizes.push_back(s->bytes);
          }
          auto r = ProbeConcat(paths, sizes, options.probe_timeout_s * 4);
          if (r.ok() && r->has_value()) {
            for (size_t k = 0; k < paths.size(); ++k) task.segments[k]->probe = (**r)[k];
          } else if (r.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            for (SegmentState* s : task.segments) retry.push_back({{s}, false});
          }
          st = r.status();
        } else {
          auto r = ProbeSegment(task.segments[0]->where.abs, options.probe_timeout_s);
          if (r.ok()) task.segments[0]->probe = std::move(r).value();
          st = r.status();
        }
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (tool_error.ok()) tool_error = st;
          return;
        }
      }
    };
    int n = std::max(1, std::min<int>(jobs, static_cast<int>(list.size())));
    std::vector<std::thread> threads;
    for (int t = 1; t < n; ++t) threads.emplace_back(worker);
    if (!list.empty()) worker();
    for (auto& t : threads) t.join();
    return retry;
  };
  std::vector<Task> retry = run_tasks(tasks);
  RETURN_IF_ERROR(tool_error);
  run_tasks(retry);
  RETURN_IF_ERROR(tool_error);
  report.ffprobe_runs = runs.load();

  // ---- per segment and per variant, from the measurements ----
  std::vector<double> variant_frame;  // one frame in seconds, 0 = unknown
  for (VariantState& vs : variants) {
    variant_frame.push_back(vs.v.frame_rate > 0 ? 1.0 / vs.v.frame_rate : 0);
    const std::string& file = vs.where.rel.empty() ? master_name : vs.where.rel;
    const SegmentState* first = nullptr;
    bool all_probed = vs.media_ok;
    bool has_video = false;
    double measured_total = 0;
    std::set<std::pair<int, int>> sizes;
    std::vector<Rate> rates;
    for (size_t i = 0; i < vs.segments.size(); ++i) {
      SegmentState& s = vs.segments[i];
      if (!s.usable) {
        all_probed = false;
        continue;
      }
      rates.push_back({s.seg.duration, s.bytes});
      if (!s.probe.ok) {
        c.Add(s.where.rel, "segment-unreadable", s.probe.error);
        all_probed = false;
        continue;
      }
      if (first == nullptr) first = &s;
      const StreamInfo& v = s.probe.video;
      has_video |= v.present;
      if (v.present) {
        if (v.width > 0 && v.height > 0) sizes.insert({v.width, v.height});
        if (!s.start.StartsWithIdr()) {
          c.Add(s.where.rel, "segment-idr",
                "does not start with an IDR frame: " + s.start.Explain());
        }
      }
      const StreamInfo& timing = v.present ? v : s.probe.audio;
      if (timing.duration < 0) {
        all_probed = false;
        continue;
      }
      measured_total += timing.duration;
      if (vs.media.target_duration > 0 &&
          timing.duration > vs.media.target_duration + kTargetSlack) {
        c.Add(s.where.rel, "segment-duration",
              "measured duration " + Fmt(timing.duration) + " s exceeds EXT-X-TARGETDURATION " +
                  std::to_string(vs.media.target_duration) + " + 0.5 s");
      }
    }

    // Attributes every variant must carry (Apple authoring spec).
    if (vs.v.bandwidth <= 0)
      c.Add(master_name, "variant-bandwidth", vs.v.uri + ": BANDWIDTH missing or 0");
    if (vs.v.average_bandwidth <= 0) {
      c.Add(master_name, "variant-average-bandwidth", vs.v.uri + ": AVERAGE-BANDWIDTH missing");
    }
    if (vs.v.codecs.empty()) c.Add(master_name, "variant-codecs", vs.v.uri + ": CODECS missing");
    bool video_declared = false;
    for (const auto& codec : SplitCodecs(vs.v.codecs)) video_declared |= IsVideoCodecEntry(codec);
    if (has_video || video_declared) {
      if (vs.v.width <= 0 || vs.v.height <= 0) {
        c.Add(master_name, "variant-resolution", vs.v.uri + ": RESOLUTION missing");
      }
      if (vs.v.frame_rate <= 0) {
        c.Add(master_name, "variant-frame-rate", vs.v.uri + ": FRAME-RATE missing");
      }
    }
    if (!vs.media_ok) continue;

    // What the streams really are.
    if (vs.v.width > 0 && vs.v.height > 0) {
      for (const auto& [w, h] : sizes) {
        if (w != vs.v.width || h != vs.v.height) {
          c.Add(master_name, "resolution-mismatch",
                vs.v.uri + ": RESOLUTION=" + std::to_string(vs.v.width) + "x" +
                    std::to_string(vs.v.height) + " but the video is " + std::to_string(w) + "x" +
                    std::to_string(h));
        }
      }
    }
    CheckCodecs(vs, first, master_name, c);
    if (first != nullptr && first->probe.video.present && vs.v.frame_rate > 0) {
      double r = first->probe.video.r_fps, a = first->probe.video.avg_fps;
      auto off = [&](double real) {
        return real <= 0 || std::fabs(vs.v.frame_rate - real) > 0.02 * real;
      };
      if (off(r) && off(a)) {
        c.Add(master_name, "frame-rate-mismatch",
              vs.v.uri + ": FRAME-RATE=" + Fmt(vs.v.frame_rate) + " but the stream has " +
                  Fmt(r > 0 ? r : a));
      }
    }
    if (first != nullptr && first->probe.video.present) {
      double fps =
          first->probe.video.r_fps > 0 ? first->probe.video.r_fps : first->probe.video.avg_fps;
      if (fps > 0) variant_frame.back() = 1.0 / fps;
    }

    BitrateMeasurement measured = Measure(rates);
    CheckBandwidth("bandwidth-peak", "BANDWIDTH", vs.v.bandwidth, measured.peak_bps,
                   "peak segment bit rate", vs.v.uri, master_name, c);
    CheckBandwidth("bandwidth-average", "AVERAGE-BANDWIDTH", vs.v.average_bandwidth,
                   measured.average_bps, "mean bit rate", vs.v.uri, master_name, c);

    if (all_probed && !vs.segments.empty()) {
      double sum = vs.media.TotalDuration();
      double frame = variant_frame.back() > 0 ? variant_frame.back() : 0.1;
      if (std::fabs(sum - measured_total) > frame + 0.001) {
        c.Add(file, "extinf-sum",
              "sum of EXTINF " + Fmt(sum) + " s but the media lasts " + Fmt(measured_total) +
                  " s (more than one frame, " + Fmt(frame) + " s, apart)");
      }
    }
  }

  // ---- across variants: same content, same timeline ----
  if (!options.catalog) {
    const VariantState* longest = nullptr;
    double frame = 0;
    for (size_t i = 0; i < variants.size(); ++i) {
      if (!variants[i].media_ok) continue;
      frame = std::max(frame, variant_frame[i]);
      if (longest == nullptr ||
          variants[i].media.TotalDuration() > longest->media.TotalDuration()) {
        longest = &variants[i];
      }
    }
    // The most lenient single frame across the ladder; 0.1 s when no frame rate is known.
    double tol = (frame > 0 ? frame : 0.1) + 0.001;
    for (const VariantState& vs : variants) {
      if (!vs.media_ok || &vs == longest) continue;
      double a = longest->media.TotalDuration(), b = vs.media.TotalDuration();
      if (a - b > tol) {
        c.Add(vs.where.rel, "variant-duration",
              "lasts " + Fmt(b) + " s but " + longest->where.rel + " lasts " + Fmt(a) + " s");
      }
      const auto& x = longest->media.segments;
      const auto& y = vs.media.segments;
      if (x.size() != y.size()) {
        c.Add(vs.where.rel, "segment-alignment",
              std::to_string(y.size()) + " segments but " + longest->where.rel + " has " +
                  std::to_string(x.size()));
        continue;
      }
      double tx = 0, ty = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        tx += x[i].duration;
        ty += y[i].duration;
        if (std::fabs(tx - ty) > tol) {
          c.Add(vs.where.rel, "segment-alignment",
                "segment " + std::to_string(i) + " ends at " + Fmt(ty) + " s but in " +
                    longest->where.rel + " at " + Fmt(tx) + " s");
          break;
        }
      }
    }
  }
  return report;
}

}  // namespace hlsforge::hls
