// The service commands: serve (everything in one process), api, watcher (+ scheduler), worker,
// migrate, config. They share one Config (config.h) and differ only in what they start.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <iostream>

#include "api/server.h"
#include "app/commands.h"
#include "app/config.h"
#include "common/log.h"
#include "pipeline/media_encoder.h"
#include "pipeline/scheduler.h"
#include "pipeline/sysinfo.h"
#include "pipeline/watcher.h"
#include "pipeline/worker.h"

namespace hlsforge::app {
namespace {

enum class Role { kServe, kApi, kWatcher, kWorker };

// Blocks SIGINT/SIGTERM in every thread started after this, so that sigwait() in the main
// thread is the one place that sees them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

[[noreturn]] void Fail(const std::string& what, const Status& s, int code = 1) {
  std::cerr << "hlsforge: error: " << what << ": " << s.message() << std::endl;
  throw CLI::RuntimeError(code);
}

struct Opened {
  std::unique_ptr<storage::ObjectStore> upload, hls;
  std::unique_ptr<state::StateStore> state;
  std::unique_ptr<coord::Coordinator> coord;
  pipeline::Backends backends() { return {upload.get(), hls.get(), state.get(), coord.get()}; }
};

// Opens every backend and checks it answers, so a wrong URL or a server that is down is one
// clear line at start-up, not a crash loop later.
Opened OpenBackends(const Config& c) {
  Opened o;
  auto so = ToStoreOptions(c);
  auto up = storage::OpenObjectStore(c.upload_url, so);
  if (!up.ok()) Fail("upload bucket " + MaskUrl(c.upload_url), up.status());
  o.upload = std::move(*up);
  auto hl = storage::OpenObjectStore(c.hls_url, so);
  if (!hl.ok()) Fail("HLS bucket " + MaskUrl(c.hls_url), hl.status());
  o.hls = std::move(*hl);
  for (auto* s : {o.upload.get(), o.hls.get()}) {
    auto page = s->List("", "", 1);
    if (!page.ok()) Fail("bucket " + MaskUrl(s->Url()) + " is not usable", page.status());
  }
  auto st = state::OpenStateStore(c.state_url);
  if (!st.ok()) Fail("state store " + MaskUrl(c.state_url), st.status());
  o.state = std::move(*st);
  auto co = coord::OpenCoordinator(c.coord_url);
  if (!co.ok()) Fail("coordinator " + MaskUrl(c.coord_url), co.status());
  o.coord = std::move(*co);
  auto probe = o.coord->TryLock("startup-check", "hlsforge", std::chrono::milliseconds(1000));
  if (!probe.ok()) Fail("coordinator " + MaskUrl(c.coord_url) + " is not usable", probe.status());
  return o;
}

// No token configured: one is generated at first start and kept in DATA/api-token (0600), so
// mutating routes are never open and restarts keep the same token.
std::string LoadOrCreateToken(const std::string& data) {
  auto path = std::filesystem::path(data) / "api-token";
  std::ifstream in(path);
  std::string tok;
  if (in && std::getline(in, tok) && tok.size() >= 16) return tok;
  unsigned char raw[24];
  std::ifstream ur("/dev/urandom", std::ios::binary);
  ur.read(reinterpret_cast<char*>(raw), sizeof raw);
  static const char* hex = "0123456789abcdef";
  tok.clear();
  for (unsigned char b : raw) tok += {hex[b >> 4], hex[b & 15]};
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    (void)!::write(fd, (tok + "\n").data(), tok.size() + 1);
    ::close(fd);
  } else {
    HF_LOG_WARN("cannot store the API token in {}", path.string());
  }
  std::cout << "API token (generated, kept in " << path.string() << "): " << tok << std::endl;
  return tok;
}

int Run(Role role, Config& c) {
  Status fin = Finalize(c);
  if (!fin.ok()) Fail("configuration", fin, 2);
  sigset_t stop_set = BlockStopSignals();
  Opened o = OpenBackends(c);
  auto b = o.backends();
  auto pc = ToPipelineConfig(c);
  const std::string host = pipeline::HostName();

  std::unique_ptr<api::ApiServer> server;
  if (role == Role::kServe || role == Role::kApi) {
    api::ApiOptions ao;
    ao.bind = c.bind;
    ao.port = c.port;
    ao.serve_hls = c.serve_hls;
    ao.web_root = c.web_root;
    ao.api_token = c.api_token.empty() ? LoadOrCreateToken(c.data) : c.api_token;
    ao.read_auth = c.api_read_auth;
    ao.cors_origin = c.cors_origin;
    ao.max_upload_bytes = static_cast<uint64_t>(c.max_upload_mb * 1024 * 1024);
    ao.worker_timeout_ms = static_cast<int64_t>(c.worker_timeout_s * 1000);
    ao.tmp_dir = c.scratch.empty() ? (std::filesystem::path(c.data) / "scratch").string() : c.scratch;
    server = std::make_unique<api::ApiServer>(b, ao);
    Status s = server->Start();
    if (!s.ok()) Fail("HTTP server", s);
  }
  std::unique_ptr<pipeline::Encoder> encoder;
  std::vector<std::unique_ptr<pipeline::Worker>> workers;
  if (role == Role::kServe || role == Role::kWorker) {
    encoder = pipeline::MakeMediaEncoder({.profile = c.profile, .threads = c.threads});
    int n = role == Role::kServe ? c.workers : 1;
    for (int i = 1; i <= n; ++i) {
      std::string id = role == Role::kServe ? host + "/w" + std::to_string(i)
                                            : (c.worker_id.empty() ? host + "/worker" : c.worker_id);
      workers.push_back(std::make_unique<pipeline::Worker>(b, pc, pipeline::WorkerOptions{.id = id},
                                                           encoder.get()));
      workers.back()->Start();
    }
  }
  std::unique_ptr<pipeline::Scheduler> scheduler;
  std::unique_ptr<pipeline::Watcher> watcher;
  if (role == Role::kServe || role == Role::kWatcher) {
    scheduler = std::make_unique<pipeline::Scheduler>(b, pc, host + "/" + std::to_string(getpid()));
    scheduler->Start();
    watcher = std::make_unique<pipeline::Watcher>(b, pc);
    watcher->Start();
  }

  if (server) {
    std::cout << "hlsforge " << (role == Role::kServe ? "serving" : "API") << "\n"
              << "  upload bucket:     " << MaskUrl(c.upload_url) << "\n"
              << "  HLS bucket:        " << MaskUrl(c.hls_url) << "\n"
              << "  videos (JSON):     http://" << c.bind << ":" << server->port() << "/api/videos\n"
              << "  catalog playlist:  http://" << c.bind << ":" << server->port()
              << "/hls/encode/master.m3u8\n";
    if (!c.web_root.empty()) std::cout << "  dashboard:         http://" << c.bind << ":" << server->port() << "/\n";
    std::cout << "Ctrl-C stops (running jobs are handed back and resume at the next start)." << std::endl;
  } else {
    HF_LOG_INFO("{} running; SIGTERM stops it", role == Role::kWorker ? "worker" : "watcher");
  }

  int sig = 0;
  sigwait(&stop_set, &sig);
  HF_LOG_INFO("signal {}: stopping", sig);
  if (watcher) watcher->Stop();
  if (scheduler) scheduler->Stop();
  for (auto& w : workers) w->Stop();
  if (server) server->Stop();
  return 0;
}

}  // namespace

void RegisterServices(CLI::App& app) {
  auto c = std::make_shared<Config>();
  AddConfigOptions(app, *c);
  app.fallthrough();
  struct Cmd {
    const char* name;
    const char* help;
    Role role;
  };
  for (Cmd cmd : {Cmd{"serve", "Run everything in one process (embedded defaults unless URLs say otherwise)", Role::kServe},
                  Cmd{"api", "Run the admin API / HTTP server only", Role::kApi},
                  Cmd{"watcher", "Run the watcher and the scheduler only", Role::kWatcher},
                  Cmd{"worker", "Run one encoding worker", Role::kWorker}}) {
    auto* sub = app.add_subcommand(cmd.name, cmd.help);
    Role role = cmd.role;
    sub->callback([c, role] {
      int rc = Run(role, *c);
      if (rc != 0) throw CLI::RuntimeError(rc);
    });
  }
  app.add_subcommand("migrate", "Create or upgrade the state store's schema")->callback([c] {
    Status fin = Finalize(*c);
    if (!fin.ok()) Fail("configuration", fin, 2);
    auto st = state::OpenStateStore(c->state_url);  // opening migrates
    if (!st.ok()) Fail("state store " + MaskUrl(c->state_url), st.status());
    Status m = (*st)->Migrate();
    if (!m.ok()) Fail("migrate", m);
    std::cout << "schema of " << MaskUrl(c->state_url) << " is up to date" << std::endl;
  });
  app.add_subcommand("config", "Print the effective configuration (secrets masked)")->callback([c] {
    Status fin = Finalize(*c);
    if (!fin.ok()) Fail("configuration", fin, 2);
    std::cout << Describe(*c);
  });
}

}  // namespace hlsforge::app
