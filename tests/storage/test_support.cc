#include "test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "common/subprocess.h"

extern char** environ;

namespace hlsforge::storage::testing {

std::string S3Endpoint() {
  if (const char* e = std::getenv("HLSFORGE_TEST_S3_ENDPOINT"); e && *e) return e;
  return HF_S3RVER_ENDPOINT;
}

StoreOptions S3rverOptions() {
  StoreOptions o;
  o.endpoint = S3Endpoint();
  o.access_key_id = "S3RVER";
  o.secret_access_key = "S3RVER";
  o.max_retries = 2;
  return o;
}

std::string TestDir() { return HF_STORAGE_TEST_DIR; }

std::string Python() { return "/usr/bin/python3"; }

std::string UniqueTag() {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 10; ++i) s.push_back(kHex[rng() & 15]);
  return s;
}

Result<std::unique_ptr<Child>> Child::Start(const std::vector<std::string>& argv) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return Internal("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto c = std::make_unique<Child>();
  int rc = posix_spawnp(&c->pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  c->in_ = in[1];
  c->out_ = out[0];
  if (rc != 0) {
    c->pid_ = -1;
    return Internal("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  return c;
}

Child::~Child() {
  if (in_ >= 0) close(in_);  // our scripts exit when stdin closes
  if (pid_ > 0) {
    for (int i = 0; i < 30; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (out_ >= 0) close(out_);
}

Result<std::string> Child::ReadLine(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (size_t nl = buf_.find('\n'); nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) return DeadlineExceeded("no line from child in time");
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    char tmp[4096];
    ssize_t n = read(out_, tmp, sizeof tmp);
    if (n <= 0) return Unavailable("child closed its stdout");
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

Result<std::unique_ptr<SigV4Proxy>> SigV4Proxy::Start(const std::vector<std::string>& creds) {
  std::vector<std::string> argv = {
      Python(), TestDir() + "/sigv4_proxy.py", "--upstream", S3Endpoint(), "--max-seconds", "900"};
  for (const auto& c : creds) {
    argv.push_back("--cred");
    argv.push_back(c);
  }
  auto p = std::make_unique<SigV4Proxy>();
  ASSIGN_OR_RETURN(p->child_, Child::Start(argv));
  ASSIGN_OR_RETURN(std::string line, p->child_->ReadLine(20000));
  if (!line.starts_with("PORT ")) return Internal("unexpected proxy output: " + line);
  p->port_ = std::stoi(line.substr(5));
  return p;
}

Result<std::string> SigV4Proxy::Control(const std::string& path_and_query) const {
  ASSIGN_OR_RETURN(auto r, RunSubprocess({"curl", "-s", "--max-time", "10",
                                          Endpoint() + "/__hf/" + path_and_query}));
  if (r.exit_code != 0) return Unavailable("proxy control failed: " + r.err);
  return r.out;
}

int64_t SigV4Proxy::Stat(const std::string& name) const {
  auto body = Control("stats");
  if (!body.ok()) return -1;
  auto j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.contains(name)) return -1;
  return j[name].get<int64_t>();
}

std::string SigV4Proxy::LastMismatch() const {
  auto body = Control("stats");
  if (!body.ok()) return "?";
  auto j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded()) return "?";
  return j.value("last_mismatch", "");
}

}  // namespace hlsforge::storage::testing
