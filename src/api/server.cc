#include "api/server.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "api/video_json.h"
#include "common/log.h"

namespace hlsforge::api {
namespace {

using nlohmann::json;

int HttpStatus(Code c) {
  switch (c) {
    case Code::kInvalidArgument: case Code::kBadInput: return 400;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: case Code::kFailedPrecondition: case Code::kAborted: return 409;
    case Code::kResourceExhausted: return 413;
    case Code::kUnavailable: case Code::kDeadlineExceeded: return 503;
    default: return 500;
  }
}

void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", {{"code", code}, {"message", message}}}}.dump(),
                  "application/json");
}

void SendStatus(httplib::Response& res, const Status& s) {
  SendError(res, HttpStatus(s.code()), CodeName(s.code()), s.message());
}

void SendJson(httplib::Response& res, const json& j) {
  res.set_header("Cache-Control", "no-store");
  res.set_content(j.dump(), "application/json");
}

std::string ContentTypeFor(const std::string& key) {
  auto ends = [&](const char* s) { return key.ends_with(s); };
  if (ends(".m3u8")) return "application/vnd.apple.mpegurl";
  if (ends(".ts")) return "video/mp2t";
  if (ends(".m4s") || ends(".mp4")) return "video/mp4";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

// Parses a non-negative integer query parameter; kInvalidArgument when malformed.
Result<int64_t> IntParam(const httplib::Request& req, const char* name, int64_t def, int64_t max) {
  if (!req.has_param(name)) return def;
  std::string v = req.get_param_value(name);
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument(std::string("parameter '") + name + "' must be a non-negative integer");
  }
  int64_t n = std::stoll(v);
  if (n > max) return InvalidArgument(std::string("parameter '") + name + "' must be at most " + std::to_string(max));
  return n;
}

}  // namespace

ApiServer::ApiServer(pipeline::Backends backends, ApiOptions options)
    : b_(backends), options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  Routes();
}

ApiServer::~ApiServer() { Stop(); }

void ApiServer::Routes() {
  auto& s = *server_;
  const std::string cors = options_.cors_origin;
  s.set_pre_routing_handler([cors](const httplib::Request&, httplib::Response& res) {
    if (!cors.empty()) {
      res.set_header("Access-Control-Allow-Origin", cors);
      res.set_header("Access-Control-Expose-Headers", "Content-Length, Content-Range");
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    HF_LOG_ERROR("http {} {} failed: {}", req.method, req.path, what);
    SendError(res, 500, "INTERNAL", "internal error");
  });
  s.Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Access-Control-Allow-Methods", "GET, HEAD, POST, DELETE, OPTIONS");
    res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Range");
    res.status = 204;
  });

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, {{"status", "ok"}});
  });

  if (options_.serve_hls) {
    s.Get(R"(/hls/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string key = req.matches[1];
      auto head = b_.hls->Head(key);
      if (!head.ok()) {
        if (head.status().code() == Code::kInvalidArgument) {
          return SendError(res, 400, "INVALID_ARGUMENT", "bad path");
        }
        return SendStatus(res, head.status());
      }
      const bool playlist = key.ends_with(".m3u8");
      res.set_header("Cache-Control", playlist ? "no-cache" : "public, max-age=31536000, immutable");
      res.set_header("Accept-Ranges", "bytes");
      auto* store = b_.hls;
      res.set_content_provider(
          head->size, ContentTypeFor(key),
          [store, key](size_t offset, size_t length, httplib::DataSink& sink) {
            Status st = store->ReadRange(key, offset, length, [&](const char* d, size_t n) {
              return sink.write(d, n);
            });
            return st.ok();
          });
    });
  }

  s.Get("/api/videos", [this](const httplib::Request& req, httplib::Response& res) {
    state::VideoQuery q;
    if (req.has_param("state")) {
      auto st = state::ParseJobState(req.get_param_value("state"));
      if (!st) return SendError(res, 400, "INVALID_ARGUMENT", "unknown state '" + req.get_param_value("state") + "'");
      q.state = *st;
    }
    q.name_contains = req.get_param_value("q");
    if (q.name_contains.size() > 1024) return SendError(res, 400, "INVALID_ARGUMENT", "search text too long");
    auto limit = IntParam(req, "limit", 50, 1000);
    if (!limit.ok()) return SendStatus(res, limit.status());
    auto offset = IntParam(req, "offset", 0, 1ll << 40);
    if (!offset.ok()) return SendStatus(res, offset.status());
    q.limit = static_cast<int>(*limit);
    q.offset = static_cast<int>(*offset);
    auto videos = b_.state->ListVideos(q);
    if (!videos.ok()) return SendStatus(res, videos.status());
    auto total = b_.state->CountVideos(q);
    json items = json::array();
    for (const auto& v : *videos) items.push_back(VideoToJson(v, nullptr));
    SendJson(res, {{"items", items}, {"total", total.ok() ? *total : -1}, {"limit", q.limit}, {"offset", q.offset}});
  });

  s.Get(R"(/api/videos/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id_s = req.matches[1];
    if (id_s.empty() || id_s.size() > 18 || id_s.find_first_not_of("0123456789") != std::string::npos) {
      return SendError(res, 400, "INVALID_ARGUMENT", "video id must be a number");
    }
    auto v = b_.state->GetVideo(std::stoll(id_s));
    if (!v.ok()) return SendStatus(res, v.status());
    if (!v->has_value()) return SendError(res, 404, "NOT_FOUND", "no video " + id_s);
    std::optional<state::Job> job;
    if ((*v)->latest_job_id) {
      auto j = b_.state->GetJob((*v)->latest_job_id);
      if (j.ok()) job = *j;
    }
    SendJson(res, VideoToJson(**v, job ? &*job : nullptr));
  });

  if (!options_.web_root.empty()) {
    s.set_mount_point("/", options_.web_root);
  }
}

Status ApiServer::Start() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.bind);
    if (port_ <= 0) return Unavailable("cannot bind " + options_.bind);
  } else {
    if (!server_->bind_to_port(options_.bind, options_.port)) {
      return Unavailable("cannot listen on " + options_.bind + ":" + std::to_string(options_.port) +
                         " (in use?)");
    }
    port_ = options_.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  HF_LOG_INFO("http listening on http://{}:{}", options_.bind, port_);
  return Status::Ok();
}

void ApiServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hlsforge::api
