// `hlsforge encode INPUT OUTDIR` and `hlsforge probe INPUT`: the encoder from the command line.
//
// Exit codes: 0 ok, 1 other failure, 2 usage, 3 bad input (not a usable video), 4 input not
// found, 5 output problem (OUTDIR unwritable / not empty / disk full), 130 interrupted.
// Errors are one line on stderr: "hlsforge: error: <message>".
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "common/status.h"
#include "media/ladder.h"
#include "media/package.h"
#include "media/probe.h"
#include "media/profile.h"

namespace hlsforge::app {
namespace {

// Raised by SIGINT/SIGTERM while an encode runs; polled by the subprocess runner, which then
// stops ffmpeg's process group. A plain atomic store is async-signal-safe.
std::atomic<bool> g_cancel{false};

extern "C" void OnStopSignal(int) { g_cancel.store(true); }

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: let blocking calls see EINTR and re-check the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Code::kInvalidArgument:
      return 2;
    case Code::kBadInput:
      return 3;
    case Code::kNotFound:
      return 4;
    case Code::kPermissionDenied:
    case Code::kFailedPrecondition:
    case Code::kAlreadyExists:
    case Code::kResourceExhausted:
      return 5;
    case Code::kCancelled:
      return 130;
    default:
      return 1;
  }
}

[[noreturn]] void Fail(const Status& s) {
  std::string m = s.message();
  std::replace(m.begin(), m.end(), '\n', ' ');
  std::replace(m.begin(), m.end(), '\r', ' ');
  if (s.code() == Code::kCancelled) m = "interrupted: " + m;
  std::fprintf(stderr, "hlsforge: error: %s\n", m.c_str());
  std::fflush(stderr);
  throw CLI::RuntimeError(ExitCodeFor(s));
}

std::string Kbps(int64_t bps) { return std::to_string((bps + 500) / 1000) + "k"; }

std::string Clock(double s) {
  if (s < 0 || !std::isfinite(s)) return "--:--";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

// One line, redrawn in place on a terminal.
class ProgressBar {
 public:
  void Update(const media::Progress& p) {
    auto now = std::chrono::steady_clock::now();
    if (!p.done && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr int kWidth = 30;
    int fill = static_cast<int>(p.percent / 100 * kWidth);
    std::string bar(static_cast<size_t>(fill), '#');
    bar.resize(kWidth, '.');
    char speed[32] = "  -- ";
    if (p.speed > 0) std::snprintf(speed, sizeof speed, "%5.2fx", p.speed);
    std::fprintf(stderr, "\r[%s] %5.1f%%  %s  ETA %s ", bar.c_str(), p.percent, speed,
                 Clock(p.eta_s).c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  void Finish() {
    if (drawn_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

struct EncodeArgs {
  std::string input, outdir, profile = "ladder", preset;
  int threads = 0;
  bool json_progress = false;
  double timeout_s = 0;
};

void RunEncode(const EncodeArgs& a) {
  if (a.timeout_s < 0 || !std::isfinite(a.timeout_s))
    Fail(InvalidArgument("--timeout must be >= 0"));
  g_cancel.store(false);
  InstallStopHandlers();

  media::EncodeOptions o;
  o.profile = a.profile;
  o.threads = a.threads;
  o.preset_override = a.preset;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000));
  o.cancel = &g_cancel;
  ProgressBar bar;
  const bool tty = isatty(STDERR_FILENO) == 1;
  if (a.json_progress) {
    o.on_progress = [](const media::Progress& p) {
      std::printf("%s\n", p.ToJson().dump().c_str());
      std::fflush(stdout);
    };
  } else if (tty) {
    o.on_progress = [&bar](const media::Progress& p) { bar.Update(p); };
  }
  auto r = media::EncodePackage(a.input, a.outdir, o);
  bar.Finish();
  if (!r.ok()) Fail(r.status());

  if (a.json_progress) {
    nlohmann::json j = r->ToJson();
    j["outdir"] = a.outdir;
    j["done"] = true;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("wrote %s/master.m3u8: %zu rendition(s), encoded in %.1f s\n", a.outdir.c_str(),
                r->renditions.size(), r->encode_seconds);
    for (const auto& x : r->renditions) {
      std::printf("  %d  %-6s %5dx%-5d %3d segments  avg %-7s peak %-7s %s\n", x.index,
                  x.label.c_str(), x.width, x.height, x.segments, Kbps(x.average_bandwidth).c_str(),
                  Kbps(x.bandwidth).c_str(), x.codecs.c_str());
    }
  }
  std::fflush(stdout);
}

struct ProbeArgs {
  std::string input, profile = "ladder";
  bool json = false;
};

void RunProbe(const ProbeArgs& a) {
  auto profile = media::ResolveProfile(a.profile);
  if (!profile.ok()) Fail(profile.status());
  auto src = media::Probe(a.input);
  if (!src.ok()) Fail(src.status());
  auto ladder = media::PlanLadder(*src, *profile);
  if (!ladder.ok()) Fail(ladder.status());
  if (a.json) {
    nlohmann::json j = {{"source", src->ToJson()}, {"ladder", ladder->ToJson()}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  const media::SourceInfo& s = *src;
  std::printf("file:      %s (%s, %.1f MB)\n", s.path.c_str(), s.demuxer.c_str(),
              s.size_bytes / 1e6);
  std::printf("duration:  %.3f s\n", s.duration);
  std::printf("video:     %s%s%s, %dx%d", s.video_codec.c_str(), s.video_profile.empty() ? "" : " ",
              s.video_profile.c_str(), s.width, s.height);
  if (s.rotation != 0) std::printf(", rotation %d", s.rotation);
  std::printf(", displays %dx%d (%s), %.3f fps%s, %s %d-bit\n", s.display_width, s.display_height,
              s.portrait() ? "portrait" : "landscape", s.fps, s.vfr ? " (variable)" : "",
              s.pix_fmt.c_str(), s.bit_depth);
  if (s.has_audio) {
    std::printf("audio:     %s, %d channel(s), %d Hz\n", s.audio_codec.c_str(), s.audio_channels,
                s.audio_sample_rate);
  } else {
    std::printf("audio:     none\n");
  }
  const media::Ladder& l = *ladder;
  std::printf("ladder:    %s, %s fps, keyframe every %d frames (%.0f s segments)\n",
              l.profile.c_str(), l.frame_rate.ToString().c_str(), l.gop, l.segment_seconds);
  for (const auto& r : l.renditions) {
    if (l.crf > 0) {
      std::printf("  %d  %-6s %5dx%-5d crf %d  audio %s\n", r.index, r.label.c_str(), r.width,
                  r.height, l.crf, r.audio_bitrate ? Kbps(r.audio_bitrate).c_str() : "none");
    } else {
      std::printf("  %d  %-6s %5dx%-5d video %s (max %s, buffer %s)  audio %s\n", r.index,
                  r.label.c_str(), r.width, r.height, Kbps(r.video_bitrate).c_str(),
                  Kbps(r.maxrate).c_str(), Kbps(r.bufsize).c_str(),
                  r.audio_bitrate ? Kbps(r.audio_bitrate).c_str() : "none");
    }
  }
}

}  // namespace

void RegisterEncode(CLI::App& app) {
  auto enc_args = std::make_shared<EncodeArgs>();
  CLI::App* enc = app.add_subcommand("encode", "Encode a video into an HLS package in OUTDIR");
  enc->add_option("INPUT", enc_args->input, "source video file")->required();
  enc->add_option("OUTDIR", enc_args->outdir,
                  "output folder: master.m3u8, <i>/index.m3u8, <i>/<n>.ts")
      ->required();
  enc->add_option("--profile", enc_args->profile, "ladder (default), single, or a .toml profile");
  enc->add_option("--threads", enc_args->threads, "ffmpeg/x264 threads (0 = automatic)")
      ->check(CLI::Range(0, 256));
  enc->add_flag("--json-progress", enc_args->json_progress,
                "print one JSON object per progress update, and a JSON summary, on stdout");
  enc->add_option("--timeout", enc_args->timeout_s,
                  "encode time limit in seconds (0 = max(600, 20x duration))");
  // Tests only: a faster x264 preset than the profile's. Hidden (empty group).
  enc->add_option("--preset", enc_args->preset, "x264 preset override (tests)")
      ->group("")
      ->check(CLI::IsMember({"ultrafast", "superfast", "veryfast", "faster", "fast", "medium"}));
  enc->callback([enc_args] { RunEncode(*enc_args); });

  auto probe_args = std::make_shared<ProbeArgs>();
  CLI::App* probe =
      app.add_subcommand("probe", "Show what the planner sees and the ladder it plans");
  probe->add_option("INPUT", probe_args->input, "source video file")->required();
  probe->add_option("--profile", probe_args->profile,
                    "ladder (default), single, or a .toml profile");
  probe->add_flag("--json", probe_args->json, "print JSON");
  probe->callback([probe_args] { RunProbe(*probe_args); });
}

}  // namespace hlsforge::app
