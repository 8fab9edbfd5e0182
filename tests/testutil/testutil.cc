#include "testutil/testutil.h"

#include <cstdlib>
#include <sstream>

namespace hlsforge::testing {
namespace fs = std::filesystem;

Result<fs::path> MakeClip(const fs::path& dir, const ClipSpec& s, const std::string& name) {
  std::ostringstream key;
  key << s.width << "x" << s.height << "_" << s.seconds << "s_" << s.fps << "fps_"
      << (s.audio ? "a" + std::to_string(s.audio_channels) : "na") << "_" << s.pix_fmt << "_"
      << s.vcodec << "_r" << s.rotate << (s.vfr ? "_vfr" : "") << "_" << s.source;
  fs::path out = dir / (name.empty() ? key.str() + "." + s.container : name);
  if (fs::exists(out)) return out;
  fs::create_directories(dir);
  std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"};
  std::string vsrc = s.source + "=size=" + std::to_string(s.width) + "x" +
                     std::to_string(s.height) + ":rate=" + std::to_string(s.fps) +
                     ":duration=" + std::to_string(s.seconds);
  argv.insert(argv.end(), {"-f", "lavfi", "-i", vsrc});
  if (s.audio) {
    std::string layout = s.audio_channels == 1 ? "mono" : s.audio_channels == 6 ? "5.1" : "stereo";
    argv.insert(argv.end(), {"-f", "lavfi", "-i",
                             "sine=frequency=440:sample_rate=48000:duration=" +
                                 std::to_string(s.seconds)});
    argv.insert(argv.end(), {"-af", "aformat=channel_layouts=" + layout});
  }
  if (s.vfr) {
    // Drop a pseudo-random subset of frames and keep original timestamps: variable frame rate.
    argv.insert(argv.end(), {"-vf", "select='not(eq(mod(n\\,7)\\,3))*not(eq(mod(n\\,11)\\,5))'",
                             "-fps_mode", "vfr"});
  }
  argv.insert(argv.end(), {"-c:v", s.vcodec, "-pix_fmt", s.pix_fmt});
  if (s.vcodec == "libx264" || s.vcodec == "libx265") argv.insert(argv.end(), {"-preset", "ultrafast"});
  if (s.vcodec == "libx265") argv.insert(argv.end(), {"-x265-params", "log-level=error"});
  if (s.audio) argv.insert(argv.end(), {"-c:a", "aac", "-b:a", "96k"});
  if (s.rotate != 0) {
    // ffmpeg 5.1 writes the display matrix from the legacy "rotate" metadata tag.
    argv.insert(argv.end(), {"-metadata:s:v:0", "rotate=" + std::to_string(s.rotate)});
  }
  argv.push_back("-shortest");
  fs::path tmp = out;
  tmp += ".part." + s.container;
  argv.push_back(tmp.string());
  auto r = RunSubprocess(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Internal("ffmpeg could not make test clip: " + r->err);
  fs::rename(tmp, out);
  return out;
}

std::string HlsforgeBin() {
  if (const char* e = std::getenv("HLSFORGE_BIN"); e && *e) return e;
#ifdef HLSFORGE_BIN_PATH
  return HLSFORGE_BIN_PATH;
#else
  return "hlsforge";
#endif
}

SubprocessResult RunHlsforge(const std::vector<std::string>& args, int timeout_s) {
  std::vector<std::string> argv = {HlsforgeBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  SubprocessOptions o;
  o.timeout = std::chrono::seconds(timeout_s);
  auto r = RunSubprocess(argv, o);
  if (!r.ok()) {
    SubprocessResult f;
    f.exit_code = -1;
    f.err = r.status().ToString();
    return f;
  }
  return std::move(r).value();
}

double ProbeDuration(const std::string& p) {
  auto r = RunSubprocess({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                          "default=nw=1:nk=1", p});
  if (!r.ok() || r->exit_code != 0) return -1;
  try {
    return std::stod(r->out);
  } catch (...) {
    return -1;
  }
}

}  // namespace hlsforge::testing
