// The HTTP side of hlsforge on one port: the admin API under /api/, the HLS bucket under
// /hls/ (embedded mode; in the distributed stack nginx serves it as the CDN), health checks,
// and the dashboard at /.
//
// Threads: cpp-httplib's pool serves requests; every handler only reads the backends (or calls
// their thread-safe mutators), so nothing here holds pipeline locks.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "pipeline/services.h"

namespace httplib {
class Server;
}

namespace hlsforge::api {

struct ApiOptions {
  std::string bind = "127.0.0.1";
  int port = 8000;          // 0 = any free port (tests)
  bool serve_hls = true;    // GET /hls/... from the HLS bucket
  std::string web_root;     // dashboard files ("" = none)
  std::string cors_origin = "*";
};

class ApiServer {
 public:
  ApiServer(pipeline::Backends backends, ApiOptions options);
  ~ApiServer();

  // Binds and starts serving on a background thread. kUnavailable if the port is taken.
  Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  void Routes();

  pipeline::Backends b_;
  ApiOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace hlsforge::api
