// The HTTP side of hlsforge on one port: the admin API under /api/, the HLS bucket under
// /hls/ (embedded mode; in the distributed stack nginx serves it as the CDN), health checks,
// Prometheus metrics, server-sent events, and the dashboard at /.
//
// Threads: cpp-httplib's pool (kHttpThreads) serves requests; one event thread polls the state
// store (the API may run in another process than the workers) and fans changes out to SSE
// clients. Handlers only read the backends or call their thread-safe mutators.
// Routes, auth and error shapes: docs/ARCHITECTURE.md "API" and GET /api/openapi.json.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "pipeline/services.h"

namespace httplib {
class Server;
}

namespace hlsforge::api {

struct ApiOptions {
  std::string bind = "127.0.0.1";
  int port = 8000;                // 0 = any free port (tests)
  bool serve_hls = true;          // GET /hls/... from the HLS bucket
  std::string web_root;           // dashboard files ("" = none)
  std::string cors_origin = "*";  // "" = no CORS headers
  // Bearer token for mutating routes. "" = mutating routes always answer 401 (never open).
  std::string api_token;
  bool read_auth = false;  // true: GET /api/* and /metrics need the token too
  uint64_t max_upload_bytes = 20ull << 30;
  uint64_t max_body_bytes = 1 << 20;  // every other request body
  int max_sse_clients = 32;
  int64_t worker_timeout_ms = 15000;  // no heartbeat for this long = lost
  int64_t events_poll_ms = 500;
  int64_t sse_heartbeat_ms = 15000;
  std::string tmp_dir;  // upload spool ("" = system temp dir)
};

// One documented route (also what OpenAPI lists).
struct RouteDoc {
  std::string method;  // "get", "post", "delete"
  std::string path;    // OpenAPI form: /api/videos/{id}
  std::string summary;
  bool mutating = false;
};
const std::vector<RouteDoc>& Routes();

// Constant-time equality (length leaks, content does not).
bool TokenEquals(const std::string& a, const std::string& b);

class ApiServer {
 public:
  ApiServer(pipeline::Backends backends, ApiOptions options);
  ~ApiServer();

  // Binds and starts serving on a background thread. kUnavailable if the port is taken.
  Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  struct Sse;
  void Register();
  void EventLoop();
  void Broadcast(const std::string& event, const std::string& data);
  void CountRequest(const std::string& method, const std::string& path, int status);

  pipeline::Backends b_;
  ApiOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_, events_thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};

  // SSE fan-out: each client reads the shared log from its own position.
  std::mutex ev_mu_;
  std::condition_variable ev_cv_;
  std::deque<std::pair<uint64_t, std::string>> ev_log_;  // (seq, framed event)
  uint64_t ev_seq_ = 0;
  std::atomic<int> sse_clients_{0};

  std::mutex metrics_mu_;
  std::map<std::string, uint64_t> requests_;  // "method route status" -> count
};

}  // namespace hlsforge::api
