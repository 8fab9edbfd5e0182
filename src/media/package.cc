#include "media/package.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/fs.h"
#include "common/log.h"
#include "common/subprocess.h"
#include "hls/parser.h"
#include "hls/writer.h"
#include "media/command.h"
#include "media/encoder.h"
#include "media/profile.h"

namespace hlsforge::media {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr char kMaster[] = "master.m3u8";
constexpr char kIndex[] = "index.m3u8";

bool AllDigits(const std::string& s) {
  return !s.empty() && s.size() < 10 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ---- output folder ----

struct OutputPlan {
  fs::path outdir;  // absolute, normalised, no trailing slash
  fs::path parent;
  bool replace = false;  // OUTDIR holds a previous package that we swap out
};

Result<OutputPlan> CheckOutput(const fs::path& requested) {
  std::error_code ec;
  fs::path abs = fs::absolute(requested, ec);
  if (ec || requested.empty()) return InvalidArgument("bad OUTDIR '" + requested.string() + "'");
  abs = abs.lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();  // "out/" → "out"
  if (abs == abs.root_path() || abs.filename() == "..") {
    return InvalidArgument("OUTDIR must name a folder, not '" + requested.string() + "'");
  }
  OutputPlan plan;
  plan.outdir = abs;
  plan.parent = abs.parent_path();

  struct stat st;
  if (lstat(abs.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return FailedPrecondition("OUTDIR " + requested.string() + " exists and is not a folder");
    }
    if (access(abs.c_str(), W_OK) != 0) {
      return PermissionDenied("OUTDIR " + requested.string() + " is not writable");
    }
    bool any = false, has_master = false, foreign = false;
    for (const auto& e : fs::directory_iterator(abs, ec)) {
      any = true;
      std::string name = e.path().filename().string();
      if (name == kMaster && e.is_regular_file())
        has_master = true;
      else if (!(AllDigits(name) && e.is_directory()))
        foreign = true;
    }
    if (ec)
      return PermissionDenied("cannot read OUTDIR " + requested.string() + ": " + ec.message());
    if (any && (foreign || !has_master)) {
      return FailedPrecondition("OUTDIR " + requested.string() +
                                " is not empty and does not hold an hlsforge package");
    }
    plan.replace = any;
  } else if (errno == ENOTDIR) {
    return PermissionDenied("cannot write OUTDIR " + requested.string() +
                            ": a parent is not a folder");
  } else {
    fs::create_directories(plan.parent, ec);
    if (ec) {
      return PermissionDenied("cannot create OUTDIR " + requested.string() + ": " + ec.message());
    }
  }
  if (access(plan.parent.c_str(), W_OK) != 0) {
    return PermissionDenied("cannot write OUTDIR " + requested.string() + ": " +
                            plan.parent.string() + " is not writable");
  }
  return plan;
}

// Moves the finished package from `tmp` onto plan.outdir. rename(2) of a folder onto a missing
// or empty folder is atomic: a reader sees no package or the whole package.
Status CommitOutput(TempDir& tmp, const OutputPlan& plan) {
  std::error_code ec;
  // mkdtemp made the folder 0700; a package is meant to be served.
  fs::permissions(tmp.path(), fs::perms(0755), ec);
  if (!plan.replace) {
    if (rename(tmp.path().c_str(), plan.outdir.c_str()) != 0) {
      return FailedPrecondition("cannot move the package into " + plan.outdir.string() + ": " +
                                strerror(errno));
    }
    tmp.Release();
    return Status::Ok();
  }
  // Replacing a previous package: swap it aside (onto an empty placeholder), move the new one in,
  // then delete the old one. On failure the old package is put back.
  ASSIGN_OR_RETURN(TempDir aside,
                   TempDir::Create(plan.parent, "." + plan.outdir.filename().string() + ".old-"));
  if (rename(plan.outdir.c_str(), aside.path().c_str()) != 0) {
    return FailedPrecondition("cannot replace " + plan.outdir.string() + ": " + strerror(errno));
  }
  if (rename(tmp.path().c_str(), plan.outdir.c_str()) != 0) {
    int e = errno;
    (void)rename(aside.path().c_str(), plan.outdir.c_str());
    return FailedPrecondition("cannot move the package into " + plan.outdir.string() + ": " +
                              strerror(e));
  }
  tmp.Release();
  return Status::Ok();  // `aside` (the old package) is removed by its destructor
}

// ---- measuring a rendition ----

struct SegmentFacts {
  int width = 0, height = 0;
  double frame_rate = 0;
  std::string video_codecs;
  bool audio = false;
  std::string audio_codecs;
};

std::string ProbeFailure(const SubprocessResult& r) {
  std::string e = r.err;
  while (!e.empty() && (e.back() == '\n' || e.back() == '\r')) e.pop_back();
  if (auto nl = e.rfind('\n'); nl != std::string::npos) e = e.substr(nl + 1);
  return e;
}

Result<SegmentFacts> ProbeSegment(const fs::path& seg) {
  SubprocessOptions so;
  so.timeout = std::chrono::seconds(60);
  ASSIGN_OR_RETURN(SubprocessResult r,
                   RunSubprocess({"ffprobe", "-v", "error", "-hide_banner", "-protocol_whitelist",
                                  "file", "-format_whitelist", "mpegts", "-f", "mpegts",
                                  "-print_format", "json", "-show_streams", "-i", seg.string()},
                                 so));
  if (r.exit_code != 0) {
    return Internal("cannot probe " + seg.string() + ": " + ProbeFailure(r));
  }
  json j = json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("streams") || !j["streams"].is_array()) {
    return Internal("cannot probe " + seg.string());
  }
  SegmentFacts f;
  std::string profile;
  int level = 0;
  bool video = false;
  for (const json& s : j["streams"]) {
    std::string type = s.value("codec_type", "");
    if (type == "video" && !video) {
      video = true;
      if (s.value("codec_name", "") != "h264") return Internal("segment video is not H.264");
      f.width = s.value("width", 0);
      f.height = s.value("height", 0);
      profile = s.value("profile", "");
      level = s.value("level", 0);
      Rational fr = ParseRational(s.value("avg_frame_rate", ""));
      if (!fr.valid()) fr = ParseRational(s.value("r_frame_rate", ""));
      f.frame_rate = fr.value();
    } else if (type == "audio" && !f.audio) {
      f.audio = true;
      std::string p = s.value("profile", "");
      // RFC 6381 / ISO 14496-3 audio object types: LC = 2, HE-AAC (SBR) = 5, HE-AACv2 (PS) = 29.
      f.audio_codecs = p == "HE-AACv2" ? "mp4a.40.29" : p == "HE-AAC" ? "mp4a.40.5" : "mp4a.40.2";
    }
  }
  if (!video) return Internal("segment " + seg.string() + " has no video");

  // The SPS holds the exact profile_idc / constraint flags / level_idc; ffprobe only names the
  // profile. Copy the first access unit out as Annex B and read it.
  ASSIGN_OR_RETURN(SubprocessResult es, RunSubprocess({"ffmpeg",
                                                       "-v",
                                                       "error",
                                                       "-nostdin",
                                                       "-hide_banner",
                                                       "-protocol_whitelist",
                                                       "file",
                                                       "-format_whitelist",
                                                       "mpegts",
                                                       "-f",
                                                       "mpegts",
                                                       "-i",
                                                       seg.string(),
                                                       "-map",
                                                       "0:v:0",
                                                       "-c",
                                                       "copy",
                                                       "-frames:v",
                                                       "1",
                                                       "-f",
                                                       "h264",
                                                       "pipe:1"},
                                                      so));
  int pi = 0, cf = 0, li = 0;
  if (es.exit_code == 0 && FindSps(es.out, &pi, &cf, &li)) {
    f.video_codecs = AvcCodecString(pi, cf, li);
  } else {
    f.video_codecs = AvcCodecStringFromProbe(profile, level);
  }
  return f;
}

}  // namespace

// ---- codec strings ----

std::string AvcCodecString(int profile_idc, int constraint_flags, int level_idc) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "avc1.%02x%02x%02x", profile_idc & 0xff, constraint_flags & 0xff,
                level_idc & 0xff);
  return buf;
}

std::string AvcCodecStringFromProbe(std::string_view profile, int level) {
  // (profile_idc, constraint flags) as x264 writes them: constraint_set0 for Baseline-compatible
  // streams, constraint_set1 for Main-compatible ones (H.264 A.2.1-A.2.2).
  int idc = 100, flags = 0x00;
  if (profile == "Constrained Baseline")
    idc = 66, flags = 0xc0;
  else if (profile == "Baseline")
    idc = 66, flags = 0x00;
  else if (profile == "Main")
    idc = 77, flags = 0x40;
  else if (profile == "Extended")
    idc = 88, flags = 0x00;
  else if (profile == "High")
    idc = 100, flags = 0x00;
  else if (profile == "High 10")
    idc = 110, flags = 0x00;
  else if (profile == "High 4:2:2")
    idc = 122, flags = 0x00;
  else if (profile == "High 4:4:4 Predictive")
    idc = 244, flags = 0x00;
  return AvcCodecString(idc, flags, level);
}

bool FindSps(std::string_view b, int* profile_idc, int* constraint_flags, int* level_idc) {
  for (size_t i = 0; i + 6 < b.size(); ++i) {
    if (b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 &&
        (static_cast<uint8_t>(b[i + 3]) & 0x1f) == 7) {
      // nal header, then profile_idc, constraint_set flags + reserved bits, level_idc. No
      // emulation-prevention byte can sit among these three: profile_idc and level_idc are
      // never 0.
      *profile_idc = static_cast<uint8_t>(b[i + 4]);
      *constraint_flags = static_cast<uint8_t>(b[i + 5]);
      *level_idc = static_cast<uint8_t>(b[i + 6]);
      return *profile_idc != 0 && *level_idc != 0;
    }
  }
  return false;
}

// ---- JSON ----

json RenditionResult::ToJson() const {
  return {{"index", index},         {"label", label},
          {"width", width},         {"height", height},
          {"bandwidth", bandwidth}, {"average_bandwidth", average_bandwidth},
          {"codecs", codecs},       {"frame_rate", std::round(frame_rate * 1000) / 1000},
          {"segments", segments},   {"bytes", bytes},
          {"duration", duration}};
}

json EncodeResult::ToJson() const {
  json r = json::array();
  for (const auto& x : renditions) r.push_back(x.ToJson());
  return {{"source", source.ToJson()},
          {"ladder", ladder.ToJson()},
          {"renditions", r},
          {"encode_seconds", std::round(encode_seconds * 1000) / 1000}};
}

// ---- measuring ----

Result<hls::MediaPlaylist> ReadMediaPlaylist(std::string_view text) {
  auto p = hls::ParseMedia(text);
  if (!p.ok()) return Internal("unreadable media playlist: " + p.status().message());
  if (!p->endlist) return Internal("media playlist has no EXT-X-ENDLIST");
  if (p->segments.empty()) return Internal("media playlist has no segments");
  for (size_t n = 0; n < p->segments.size(); ++n) {
    const auto& s = p->segments[n];
    if (s.uri != std::to_string(n) + ".ts") {
      return Internal("media playlist entry " + std::to_string(n) + " is '" + s.uri +
                      "', expected " + std::to_string(n) + ".ts");
    }
    if (!(s.duration > 0) || !std::isfinite(s.duration)) {
      return Internal("media playlist entry " + s.uri + " has no duration");
    }
  }
  return p;
}

Result<RenditionResult> MeasureRendition(const fs::path& dir) {
  auto text = ReadFile(dir / kIndex);
  if (!text.ok()) return Internal("missing " + (dir / kIndex).string());
  ASSIGN_OR_RETURN(hls::MediaPlaylist pl, ReadMediaPlaylist(*text));
  RenditionResult r;
  double peak = 0;
  for (const auto& s : pl.segments) {
    std::error_code ec;
    auto size = fs::file_size(dir / s.uri, ec);
    if (ec) return Internal("missing segment " + (dir / s.uri).string());
    r.bytes += static_cast<int64_t>(size);
    r.duration += s.duration;
    peak = std::max(peak, static_cast<double>(size) * 8 / s.duration);
  }
  r.segments = static_cast<int>(pl.segments.size());
  r.bandwidth = static_cast<int64_t>(std::ceil(peak));
  r.average_bandwidth =
      static_cast<int64_t>(std::ceil(static_cast<double>(r.bytes) * 8 / r.duration));
  ASSIGN_OR_RETURN(SegmentFacts f, ProbeSegment(dir / pl.segments.front().uri));
  r.width = f.width;
  r.height = f.height;
  r.frame_rate = f.frame_rate;
  r.codecs = f.video_codecs + (f.audio ? "," + f.audio_codecs : "");
  return r;
}

// ---- the whole job ----

Result<EncodeResult> EncodePackage(const fs::path& input, const fs::path& outdir,
                                   const EncodeOptions& options) {
  ASSIGN_OR_RETURN(Profile profile, ResolveProfile(options.profile));
  ProbeOptions po;
  po.cancel = options.cancel;
  ASSIGN_OR_RETURN(SourceInfo src, Probe(input, po));
  ASSIGN_OR_RETURN(Ladder ladder, PlanLadder(src, profile));
  ASSIGN_OR_RETURN(OutputPlan plan, CheckOutput(outdir));
  auto tmp_or = TempDir::Create(plan.parent, "." + plan.outdir.filename().string() + ".tmp-");
  if (!tmp_or.ok()) {
    return PermissionDenied("cannot write OUTDIR " + outdir.string() + ": " +
                            tmp_or.status().message());
  }
  TempDir tmp = std::move(tmp_or).value();
  for (const auto& r : ladder.renditions) {
    std::error_code ec;
    fs::create_directory(tmp.path() / std::to_string(r.index), ec);
    if (ec)
      return PermissionDenied("cannot write under " + tmp.path().string() + ": " + ec.message());
  }

  CommandOptions co;
  co.threads = options.threads;
  co.preset_override = options.preset_override;
  std::vector<std::string> argv = BuildEncodeCommand(src, ladder, co);
  RunOptions ro;
  ro.timeout = options.timeout;
  ro.cancel = options.cancel;
  ro.on_progress = options.on_progress;
  const auto t0 = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(RunEncodeCommand(argv, tmp.path(), src.duration, ro));
  EncodeResult result;
  result.encode_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  for (const auto& planned : ladder.renditions) {
    auto m = MeasureRendition(tmp.path() / std::to_string(planned.index));
    if (!m.ok()) return m.status().Annotate("rendition " + std::to_string(planned.index));
    RenditionResult r = std::move(m).value();
    r.index = planned.index;
    r.label = planned.label;
    if (r.width != planned.width || r.height != planned.height) {
      return Internal("rendition " + std::to_string(r.index) + " came out " +
                      std::to_string(r.width) + "x" + std::to_string(r.height) + ", planned " +
                      std::to_string(planned.width) + "x" + std::to_string(planned.height));
    }
    result.renditions.push_back(std::move(r));
  }
  // ffmpeg exits 0 on a file that ends early (truncated upload with its index up front): the
  // package would silently be shorter than the video. Refuse it as bad input.
  double got = result.renditions.front().duration;
  if (got < src.duration * 0.9 - 0.5) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "input is truncated or corrupt: only %.1f s of %.1f s could be decoded", got,
                  src.duration);
    return BadInput(buf);
  }

  hls::MasterPlaylist master;
  master.independent_segments = true;
  for (const auto& r : result.renditions) {
    hls::Variant v;
    v.bandwidth = r.bandwidth;
    v.average_bandwidth = r.average_bandwidth;
    v.codecs = r.codecs;
    v.width = r.width;
    v.height = r.height;
    v.frame_rate = r.frame_rate;
    v.uri = std::to_string(r.index) + "/" + kIndex;
    master.variants.push_back(v);
  }
  std::stable_sort(
      master.variants.begin(), master.variants.end(),
      [](const hls::Variant& a, const hls::Variant& b) { return a.bandwidth < b.bandwidth; });
  RETURN_IF_ERROR(WriteFileAtomic(tmp.path() / kMaster, hls::WriteMaster(master)));

  if (options.cancel && options.cancel->load()) return Cancelled("stopped on request");
  RETURN_IF_ERROR(CommitOutput(tmp, plan));
  result.source = std::move(src);
  result.ladder = std::move(ladder);
  result.master = std::move(master);
  HF_LOG_DEBUG("media: encoded {} into {} ({} renditions, {:.1f} s)", input.string(),
               plan.outdir.string(), result.renditions.size(), result.encode_seconds);
  return result;
}

}  // namespace hlsforge::media
