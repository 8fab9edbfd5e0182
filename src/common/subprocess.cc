#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hlsforge {
namespace {

using Clock = std::chrono::steady_clock;

struct Stream {
  int fd = -1;
  std::string partial;
  std::string captured;
  const std::function<void(const std::string&)>* on_line = nullptr;
};

void Append(Stream& s, const char* data, size_t n, size_t limit) {
  s.captured.append(data, n);
  if (s.captured.size() > limit) s.captured.erase(0, s.captured.size() - limit);
  if (s.on_line == nullptr || !*s.on_line) return;
  s.partial.append(data, n);
  size_t start = 0;
  for (;;) {
    size_t nl = s.partial.find_first_of("\n\r", start);
    if (nl == std::string::npos) break;
    if (nl > start) (*s.on_line)(s.partial.substr(start, nl - start));
    start = nl + 1;
  }
  s.partial.erase(0, start);
}

void Flush(Stream& s) {
  if (s.on_line && *s.on_line && !s.partial.empty()) (*s.on_line)(s.partial);
  s.partial.clear();
}

}  // namespace

std::string ShellQuoteForLog(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                   "-_./:=,+%@") == std::string::npos;
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) {
        if (c == '\'') out += "'\\''";
        else out += c;
      }
      out += '\'';
    }
  }
  return out;
}

Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const SubprocessOptions& options) {
  if (argv.empty()) return InvalidArgument("empty command");
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Internal(std::string("pipe: ") + strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]); close(out_pipe[1]);
    return Internal(std::string("pipe: ") + strerror(errno));
  }
  // Reports an exec failure from the child: closed on successful exec (CLOEXEC).
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]); close(out_pipe[1]); close(err_pipe[0]); close(err_pipe[1]);
    return Internal(std::string("pipe: ") + strerror(errno));
  }

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Internal(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    // Child: own process group so that a stop reaches grandchildren too.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) {
      int e = errno;
      (void)!write(exec_pipe[1], &e, sizeof e);
      _exit(127);
    }
    for (auto& e : env_strings) putenv(e.data());
    execvp(cargv[0], cargv.data());
    int e = errno;
    (void)!write(exec_pipe[1], &e, sizeof e);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);

  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  close(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    int st;
    waitpid(pid, &st, 0);
    return NotFound("cannot run " + argv[0] + ": " + strerror(exec_errno));
  }

  Stream out, err;
  out.fd = out_pipe[0];
  err.fd = err_pipe[0];
  out.on_line = &options.on_stdout_line;
  err.on_line = &options.on_stderr_line;

  const auto start = Clock::now();
  Status stop_reason;
  bool stopping = false;
  Clock::time_point kill_at{};
  char buf[65536];
  while (out.fd >= 0 || err.fd >= 0) {
    pollfd fds[2];
    int n = 0;
    if (out.fd >= 0) fds[n++] = {out.fd, POLLIN, 0};
    if (err.fd >= 0) fds[n++] = {err.fd, POLLIN, 0};
    int r = poll(fds, n, 100);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < n && r > 0; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Stream& s = fds[i].fd == out.fd ? out : err;
      ssize_t k = read(s.fd, buf, sizeof buf);
      if (k > 0) {
        Append(s, buf, static_cast<size_t>(k), options.capture_limit);
      } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(s.fd);
        s.fd = -1;
      }
    }
    auto now = Clock::now();
    if (!stopping) {
      if (options.cancel && options.cancel->load()) {
        stop_reason = Cancelled("stopped on request");
      } else if (options.timeout.count() > 0 && now - start > options.timeout) {
        stop_reason = DeadlineExceeded("time limit of " +
                                       std::to_string(options.timeout.count() / 1000) +
                                       " s exceeded by " + argv[0]);
      }
      if (!stop_reason.ok()) {
        stopping = true;
        kill(-pid, SIGTERM);
        kill_at = now + std::chrono::seconds(3);
      }
    } else if (now > kill_at) {
      kill(-pid, SIGKILL);
      kill_at = now + std::chrono::hours(1);
    }
  }
  Flush(out);
  Flush(err);

  int st = 0;
  for (;;) {
    pid_t w = waitpid(pid, &st, stopping ? WNOHANG : 0);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (w == 0) {
      if (Clock::now() > kill_at) kill(-pid, SIGKILL);
      usleep(20000);
    }
  }
  if (stopping) kill(-pid, SIGKILL);  // grandchildren that kept running
  if (!stop_reason.ok()) return stop_reason;

  SubprocessResult res;
  res.out = std::move(out.captured);
  res.err = std::move(err.captured);
  if (WIFEXITED(st)) {
    res.exit_code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    res.signaled = true;
    res.signal = WTERMSIG(st);
  }
  return res;
}

}  // namespace hlsforge
