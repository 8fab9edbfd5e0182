#include "testutil/testutil.h"

#include <unistd.h>

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
    // ffmpeg 5.1 no longer turns the legacy "rotate" tag into a display matrix (and has no
    // -display_rotation yet): SetMp4Rotation patches the written file below.
    if (s.container != "mp4" && s.container != "mov") {
      return InvalidArgument("MakeClip: rotate needs an mp4 or mov container");
    }
  }
  argv.push_back("-shortest");
  fs::path tmp = out;
  tmp += ".part" + std::to_string(getpid()) + "." + s.container;  // concurrent test processes
  argv.push_back(tmp.string());
  auto r = RunSubprocess(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Internal("ffmpeg could not make test clip: " + r->err);
  if (s.rotate != 0) {
    Status st = SetMp4Rotation(tmp, s.rotate);
    if (!st.ok()) return st;
  }
  fs::rename(tmp, out);
  return out;
}

Status SetMp4Rotation(const fs::path& path, int degrees) {
  auto data = ReadFile(path);
  if (!data.ok()) return data.status();
  std::string& d = *data;
  // tkhd matrix {a b u, c d v, x y w} (16.16 / 2.30 fixed point). For a clockwise display
  // rotation the 2x2 part is {cos, sin, -sin, cos}; ffprobe then reports rotation = -degrees.
  int32_t cs = 0, sn = 0;
  switch (((degrees % 360) + 360) % 360) {
    case 0: cs = 1; break;
    case 90: sn = 1; break;
    case 180: cs = -1; break;
    case 270: sn = -1; break;
    default: return InvalidArgument("rotation must be a multiple of 90");
  }
  const int32_t m[9] = {cs * 65536, sn * 65536, 0, -sn * 65536, cs * 65536, 0, 0, 0, 1 << 30};
  bool patched = false;
  for (size_t at = d.find("tkhd"); at != std::string::npos && at >= 4; at = d.find("tkhd", at + 4)) {
    size_t box = at - 4;
    int version = static_cast<unsigned char>(d[at + 4]);
    size_t matrix = box + (version == 1 ? 60 : 48);
    if (matrix + 36 + 8 > d.size()) break;
    // The video track is the one with a non-zero width (16.16) after the matrix.
    uint32_t width = 0;
    for (int i = 0; i < 4; ++i) width = (width << 8) | static_cast<unsigned char>(d[matrix + 36 + i]);
    if (width == 0) continue;
    for (int k = 0; k < 9; ++k) {
      uint32_t v = static_cast<uint32_t>(m[k]);
      for (int i = 0; i < 4; ++i) d[matrix + 4 * k + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
    }
    patched = true;
    break;
  }
  if (!patched) return Internal("no video tkhd box in " + path.string());
  return WriteFileAtomic(path, d);
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

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <thread>

namespace hlsforge::testing {

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Stop(SIGKILL, true);
}

Status ChildProcess::Start(const std::vector<std::string>& argv, const fs::path& log,
                           const std::map<std::string, std::string>& env) {
  log_ = log;
  std::vector<std::string> envs;
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot open log " + log.string());
  pid_t pid = fork();
  if (pid < 0) return Internal("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    for (auto& e : envs) putenv(e.data());
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  close(fd);
  pid_ = pid;
  return Status::Ok();
}

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int ChildProcess::Stop(int sig, bool wait) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  if (sig == SIGKILL) kill(-pid_, SIGKILL);  // its ffmpeg children too
  if (!wait) return 0;
  int st = 0;
  for (int i = 0; i < 300; ++i) {
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (sig != SIGKILL) kill(-r, SIGKILL);
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  waitpid(pid_, &st, 0);
  pid_ = -1;
  return 128 + SIGKILL;
}

std::string ChildProcess::Log() const {
  auto r = ReadFile(log_);
  return r.ok() ? *r : "";
}

bool WaitFor(const std::function<bool()>& pred, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

Result<std::string> HttpGet(int port, const std::string& path) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(2);
  cli.set_read_timeout(10);
  auto res = cli.Get(path);
  if (!res) return Unavailable("GET " + path + ": " + httplib::to_string(res.error()));
  if (res->status < 200 || res->status >= 300) {
    return Internal("GET " + path + ": HTTP " + std::to_string(res->status) + " " + res->body);
  }
  return res->body;
}

}  // namespace hlsforge::testing
