#include "api/server.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "api/video_json.h"
#include "common/fs.h"
#include "common/log.h"
#include "hls/catalog.h"
#include "pipeline/naming.h"
#include "pipeline/publisher.h"
#include "storage/s3_store.h"

namespace hlsforge::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kHttpThreads = 64;  // SSE clients hold a thread each: see max_sse_clients

int HttpStatus(Code c) {
  switch (c) {
    case Code::kInvalidArgument:
    case Code::kBadInput:
      return 400;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
    case Code::kAborted:
      return 409;
    case Code::kResourceExhausted:
      return 413;
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(json{{"error", {{"code", code}, {"message", message}}}}.dump(
                      -1, ' ', false, json::error_handler_t::replace),
                  "application/json");
}

void SendStatus(httplib::Response& res, const Status& s) {
  SendError(res, HttpStatus(s.code()), CodeName(s.code()), s.message());
}

void SendJson(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// Parses a non-negative integer query parameter; kInvalidArgument when malformed.
Result<int64_t> IntParam(const httplib::Request& req, const char* name, int64_t def, int64_t max) {
  if (!req.has_param(name)) return def;
  std::string v = req.get_param_value(name);
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument(std::string("parameter '") + name + "' must be a non-negative integer");
  }
  int64_t n = std::stoll(v);
  if (n > max) {
    return InvalidArgument(std::string("parameter '") + name + "' must be at most " +
                           std::to_string(max));
  }
  return n;
}

Result<int64_t> IdParam(const std::string& s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("video id must be a positive integer");
  }
  return std::stoll(s);
}

// The route label for metrics: ids and keys collapse so the label set stays bounded.
std::string RouteLabel(const std::string& path) {
  if (path.starts_with("/hls/")) return "/hls/*";
  static const std::vector<std::string> fixed = {"/healthz",
                                                 "/readyz",
                                                 "/metrics",
                                                 "/api/videos",
                                                 "/api/jobs",
                                                 "/api/workers",
                                                 "/api/catalog",
                                                 "/api/stats",
                                                 "/api/events",
                                                 "/api/uploads",
                                                 "/api/uploads/presign",
                                                 "/api/openapi.json"};
  for (const auto& f : fixed) {
    if (path == f) return f;
  }
  if (path.starts_with("/api/videos/")) {
    std::string rest = path.substr(12);
    auto slash = rest.find('/');
    if (slash == std::string::npos) return "/api/videos/{id}";
    std::string tail = rest.substr(slash);
    if (tail == "/retry" || tail == "/cancel") return "/api/videos/{id}" + tail;
  }
  if (path.starts_with("/api/")) return "/api/other";
  return "/static";
}

// Keeps the uploaded name usable as an upload-bucket key: trims, drops folder parts a browser
// might send, and refuses anything the watcher would skip or the store would refuse.
Result<std::string> CleanName(std::string name) {
  if (name.size() > 512) return InvalidArgument("name is longer than 512 bytes");
  auto slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name = name.substr(slash + 1);
  while (!name.empty() && name.front() == ' ') name.erase(0, 1);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  if (name.empty()) return InvalidArgument("name is empty");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("name has control characters");
  }
  Status v = storage::ValidateKey(name);
  if (!v.ok()) return InvalidArgument("name is not a valid object key: " + v.message());
  if (!pipeline::IsCandidateObject(name)) {
    return InvalidArgument("name '" + name +
                           "' would be ignored by the watcher (hidden/temp file?)");
  }
  auto slug = pipeline::MakeSlug(name);
  if (!slug.ok()) return InvalidArgument("name cannot become a video: " + slug.status().message());
  return name;
}

std::string MultipartName(const httplib::MultipartFormData& f) {
  return f.filename.empty() ? f.name : f.filename;
}

// A spool file removed on scope exit.
struct Spool {
  fs::path path;
  std::ofstream out;
  uint64_t bytes = 0;
  ~Spool() {
    if (out.is_open()) out.close();
    std::error_code ec;
    if (!path.empty()) fs::remove(path, ec);
  }
};

Result<std::unique_ptr<Spool>> OpenSpool(const std::string& dir) {
  std::error_code ec;
  fs::path d = dir.empty() ? fs::temp_directory_path(ec) : fs::path(dir);
  fs::create_directories(d, ec);
  static std::atomic<uint64_t> counter{0};
  auto s = std::make_unique<Spool>();
  s->path = d / ("hlsforge-upload-" + std::to_string(getpid()) + "-" +
                 std::to_string(counter.fetch_add(1)) + "-" + std::to_string(NowMs()));
  s->out.open(s->path, std::ios::binary | std::ios::trunc);
  if (!s->out) return Unavailable("cannot create upload spool file in " + d.string());
  return s;
}

std::string SseFrame(uint64_t id, const std::string& event, const std::string& data) {
  return "id: " + std::to_string(id) + "\nevent: " + event + "\ndata: " + data + "\n\n";
}

std::string PromEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

}  // namespace

bool TokenEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

const std::vector<RouteDoc>& Routes() {
  static const std::vector<RouteDoc> r = {
      {"get", "/healthz", "Liveness: the process answers", false},
      {"get", "/readyz", "Readiness: storage, state and coordination reachable", false},
      {"get", "/metrics", "Prometheus metrics", false},
      {"get", "/api/openapi.json", "This document", false},
      {"post", "/api/uploads",
       "Upload a video (multipart form field 'file' or raw body with ?name=)", true},
      {"post", "/api/uploads/presign", "Presigned S3 PUT URL for a direct upload (S3 backend only)",
       true},
      {"get", "/api/videos", "Videos, newest first (?state=, ?q=, ?limit=, ?offset=)", false},
      {"get", "/api/videos/{id}",
       "One video: source, ladder, renditions, timings, attempts, playback", false},
      {"delete", "/api/videos/{id}", "Delete a video, its HLS output and its catalog entry", true},
      {"post", "/api/videos/{id}/retry", "Retry a failed or cancelled video", true},
      {"post", "/api/videos/{id}/cancel", "Cancel a queued or running video", true},
      {"get", "/api/jobs", "Jobs, newest first (?state=, ?video_id=, ?limit=, ?offset=)", false},
      {"get", "/api/workers", "Workers with CPU, memory, current jobs, alive or lost", false},
      {"get", "/api/catalog", "Entries of encode/master.m3u8", false},
      {"get", "/api/stats", "Queue depth, encodes per hour, mean encode speed, failures", false},
      {"get", "/api/events", "Server-sent events: video, job, worker, catalog", false},
      {"get", "/hls/{key}", "HLS bucket objects (embedded mode)", false},
  };
  return r;
}

namespace {

json OpenApi() {
  json paths = json::object();
  json err = {
      {"description", "Error"},
      {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
  for (const auto& r : Routes()) {
    json op = {{"summary", r.summary},
               {"responses", {{"200", {{"description", "OK"}}}, {"4XX", err}}}};
    if (r.mutating) op["security"] = json::array({{{"bearer", json::array()}}});
    json params = json::array();
    if (r.path.find("{id}") != std::string::npos) {
      params.push_back(
          {{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "integer"}}}});
    }
    if (r.path.find("{key}") != std::string::npos) {
      params.push_back(
          {{"name", "key"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    }
    if (!params.empty()) op["parameters"] = params;
    paths[r.path][r.method] = op;
  }
  json error_schema = json::parse(R"({"type":"object","properties":{"error":{"type":"object",
      "properties":{"code":{"type":"string"},"message":{"type":"string"}}}}})");
  json doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", "hlsforge admin API"}, {"version", "1"}};
  doc["paths"] = paths;
  doc["components"]["securitySchemes"]["bearer"] = {{"type", "http"}, {"scheme", "bearer"}};
  doc["components"]["schemas"]["Error"] = error_schema;
  return doc;
}

}  // namespace

ApiServer::ApiServer(pipeline::Backends backends, ApiOptions options)
    : b_(backends), options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  // Small JSON answers otherwise wait for Nagle + delayed ACK (~40 ms each; bench/analysis.md).
  server_->set_tcp_nodelay(true);
  server_->new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  Register();
}

ApiServer::~ApiServer() { Stop(); }

void ApiServer::CountRequest(const std::string& method, const std::string& path, int status) {
  std::lock_guard lk(metrics_mu_);
  ++requests_[method + " " + RouteLabel(path) + " " + std::to_string(status)];
}

void ApiServer::Register() {
  auto& s = *server_;
  // Backstop for bodies without Content-Length (chunked): the upload reader also counts.
  s.set_payload_max_length(options_.max_upload_bytes);
  s.set_read_timeout(60, 0);
  s.set_write_timeout(60, 0);

  // Runs before the body is read: CORS, auth and size limits answer without reading it.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!options_.cors_origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", options_.cors_origin);
      res.set_header("Access-Control-Expose-Headers", "Content-Length, Content-Range");
    }
    if (req.method == "OPTIONS") return httplib::Server::HandlerResponse::Unhandled;
    const bool mutating = req.method != "GET" && req.method != "HEAD";
    const bool api = req.path.starts_with("/api/");
    const bool guarded =
        (mutating && api) || (options_.read_auth && (api || req.path == "/metrics"));
    if (guarded) {
      std::string got;
      std::string h = req.get_header_value("Authorization");
      if (h.size() > 7 && h.compare(0, 7, "Bearer ") == 0) got = h.substr(7);
      // EventSource cannot send headers: GET may carry ?token= instead.
      if (got.empty() && !mutating && req.has_param("token")) got = req.get_param_value("token");
      if (!TokenEquals(got, options_.api_token)) {
        res.set_header("WWW-Authenticate", "Bearer");
        SendError(res, 401, "UNAUTHENTICATED",
                  got.empty() ? "missing Authorization: Bearer <token>" : "wrong token");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (mutating) {
      const bool upload = req.path == "/api/uploads";
      const uint64_t limit = upload ? options_.max_upload_bytes : options_.max_body_bytes;
      if (req.has_header("Content-Length")) {
        std::string cl = req.get_header_value("Content-Length");
        if (cl.empty() || cl.size() > 19 ||
            cl.find_first_not_of("0123456789") != std::string::npos) {
          SendError(res, 400, "INVALID_ARGUMENT", "bad Content-Length");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (std::stoull(cl) > limit) {
          SendError(
              res, 413, "PAYLOAD_TOO_LARGE",
              "body of " + cl + " bytes exceeds the limit of " + std::to_string(limit) + " bytes");
          return httplib::Server::HandlerResponse::Handled;
        }
      } else if (!upload &&
                 req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos) {
        SendError(res, 411, "LENGTH_REQUIRED",
                  "send Content-Length (chunked bodies only for uploads)");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    CountRequest(req.method, req.path, res.status);
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    // Only fill bodies httplib left empty (its own 404/400/413...); ours are JSON already.
    if (!res.body.empty() || res.status < 400) return;
    if (res.status == 404)
      return SendError(res, 404, "NOT_FOUND", "no route " + req.method + " " + req.path);
    if (res.status == 413) return SendError(res, 413, "PAYLOAD_TOO_LARGE", "body too large");
    SendError(res, res.status, "HTTP_" + std::to_string(res.status), "request refused");
  });
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
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
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    json checks = json::object();
    bool ok = true;
    auto check = [&](const char* name, const Status& st) {
      checks[name] = st.ok() ? "ok" : st.message();
      ok = ok && st.ok();
    };
    auto up = b_.upload->List("", "", 1);
    check("upload_bucket", up.status());
    auto hl = b_.hls->List("", "", 1);
    check("hls_bucket", hl.status());
    auto st = b_.state->CountVideos({});
    check("state", st.status());
    auto co = b_.coord->TryLock("readyz-check", "api", std::chrono::milliseconds(1000));
    check("coordination", co.status());
    SendJson(res, {{"status", ok ? "ok" : "unavailable"}, {"checks", checks}}, ok ? 200 : 503);
  });
  s.Get("/api/openapi.json",
        [](const httplib::Request&, httplib::Response& res) { SendJson(res, OpenApi()); });

  if (options_.serve_hls) {
    s.Get(R"(/hls/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      // httplib has already percent-decoded the path, so "%2e%2e" arrives as ".." and the
      // store's key validation refuses it like a literal one.
      const std::string key = req.matches[1];
      auto head = b_.hls->Head(key);
      if (!head.ok()) {
        if (head.status().code() == Code::kInvalidArgument) {
          return SendError(res, 400, "INVALID_ARGUMENT", "bad path");
        }
        return SendStatus(res, head.status());
      }
      const bool playlist = key.ends_with(".m3u8");
      res.set_header("Cache-Control",
                     playlist ? pipeline::kPlaylistCache : pipeline::SegmentCacheFor(*b_.hls));
      res.set_header("Accept-Ranges", "bytes");
      // A validator, so that "no-cache" (unversioned segments, playlists) costs a 304, not a body.
      if (!head->etag.empty()) {
        const std::string etag = "\"" + head->etag + "\"";
        res.set_header("ETag", etag);
        if (req.get_header_value("If-None-Match") == etag) {
          res.status = 304;
          return;
        }
      }
      auto* store = b_.hls;
      const std::string type =
          head->content_type.empty() ? storage::GuessContentType(key) : head->content_type;
      res.set_content_provider(head->size, type,
                               [store, key](size_t offset, size_t length, httplib::DataSink& sink) {
                                 Status st = store->ReadRange(
                                     key, offset, length,
                                     [&](const char* d, size_t n) { return sink.write(d, n); });
                                 return st.ok();
                               });
    });
  }

  // ---- uploads ----
  s.Post("/api/uploads", [this](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
    const uint64_t limit = options_.max_upload_bytes;
    std::string name;
    std::unique_ptr<Spool> spool;
    Status err = Status::Ok();
    bool too_big = false;
    auto write = [&](const char* d, size_t n) {
      if (!spool) return false;
      spool->bytes += n;
      if (spool->bytes > limit) {
        too_big = true;
        return false;
      }
      spool->out.write(d, static_cast<std::streamsize>(n));
      return static_cast<bool>(spool->out);
    };
    if (req.is_multipart_form_data()) {
      // The first part with a filename (or named "file") is the video; other parts are ignored.
      bool in_file = false, have_file = false;
      reader(
          [&](const httplib::MultipartFormData& f) {
            in_file = false;
            if (have_file || (f.filename.empty() && f.name != "file")) return true;
            auto n =
                CleanName(req.has_param("name") ? req.get_param_value("name") : MultipartName(f));
            if (!n.ok()) {
              err = n.status();
              return false;
            }
            auto sp = OpenSpool(options_.tmp_dir);
            if (!sp.ok()) {
              err = sp.status();
              return false;
            }
            name = *n;
            spool = std::move(*sp);
            in_file = have_file = true;
            return true;
          },
          [&](const char* d, size_t n) { return in_file ? write(d, n) : true; });
      if (err.ok() && !too_big && !have_file) {
        err =
            InvalidArgument("multipart body has no file part (send field 'file' with a filename)");
      }
    } else {
      auto n = CleanName(req.get_param_value("name"));
      if (!req.has_param("name")) n = InvalidArgument("raw uploads need ?name=<file name>");
      if (!n.ok()) return SendStatus(res, n.status());
      auto sp = OpenSpool(options_.tmp_dir);
      if (!sp.ok()) return SendStatus(res, sp.status());
      name = *n;
      spool = std::move(*sp);
      reader([&](const char* d, size_t n2) { return write(d, n2); });
    }
    if (too_big) {
      return SendError(res, 413, "PAYLOAD_TOO_LARGE",
                       "upload exceeds the limit of " + std::to_string(limit) + " bytes");
    }
    if (!err.ok()) return SendStatus(res, err);
    if (!spool) return SendError(res, 400, "INVALID_ARGUMENT", "no upload body");
    spool->out.close();
    if (spool->bytes == 0) return SendError(res, 400, "INVALID_ARGUMENT", "upload is empty");
    Status put = b_.upload->PutFile(name, spool->path);
    if (!put.ok()) return SendStatus(res, put);
    auto head = b_.upload->Head(name);
    Status n = b_.coord->Notify(pipeline::kUploadsChannel);
    if (!n.ok()) HF_LOG_WARN("upload {}: notify failed: {}", name, n.ToString());
    // The watcher records the object asynchronously; wait briefly so most callers get the id.
    json out = {{"name", name},
                {"size_bytes", spool->bytes},
                {"etag", head.ok() ? json(head->etag) : json(nullptr)},
                {"id", nullptr}};
    for (int i = 0; i < 30 && head.ok(); ++i) {
      auto v = b_.state->GetVideoByName(name);
      if (v.ok() && v->has_value() && (*v)->etag == head->etag) {
        out["id"] = (*v)->id;
        out["video"] = VideoToJson(**v, nullptr);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    SendJson(res, out, 201);
  });
  s.Post("/api/uploads/presign", [this](const httplib::Request& req, httplib::Response& res) {
    auto* s3 = dynamic_cast<storage::S3Store*>(b_.upload);
    if (!s3) {
      return SendError(res, 409, "FAILED_PRECONDITION",
                       "presigned uploads need the S3 backend; this upload bucket is " +
                           b_.upload->Url().substr(0, b_.upload->Url().find(':')) +
                           ": use POST /api/uploads");
    }
    std::string name_in = req.get_param_value("name");
    if (!req.body.empty()) {
      auto j = json::parse(req.body, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        return SendError(res, 400, "INVALID_ARGUMENT", "body is not a JSON object");
      if (j.contains("name")) {
        if (!j["name"].is_string())
          return SendError(res, 400, "INVALID_ARGUMENT", "'name' must be a string");
        name_in = j["name"].get<std::string>();
      }
    }
    auto name = CleanName(name_in);
    if (!name.ok()) return SendStatus(res, name.status());
    auto url = s3->PresignPut(*name, 3600);
    if (!url.ok()) return SendStatus(res, url.status());
    SendJson(res, {{"name", *name}, {"method", "PUT"}, {"url", *url}, {"expires_in_s", 3600}});
  });

  // ---- videos ----
  s.Get("/api/videos", [this](const httplib::Request& req, httplib::Response& res) {
    state::VideoQuery q;
    if (req.has_param("state")) {
      auto st = state::ParseJobState(req.get_param_value("state"));
      if (!st)
        return SendError(res, 400, "INVALID_ARGUMENT",
                         "unknown state '" + req.get_param_value("state") + "'");
      q.state = *st;
    }
    q.name_contains = req.get_param_value("q");
    if (q.name_contains.size() > 1024)
      return SendError(res, 400, "INVALID_ARGUMENT", "search text too long");
    auto limit = IntParam(req, "limit", 50, 1000);
    if (!limit.ok()) return SendStatus(res, limit.status());
    auto offset = IntParam(req, "offset", 0, 1ll << 30);
    if (!offset.ok()) return SendStatus(res, offset.status());
    q.limit = static_cast<int>(*limit);
    q.offset = static_cast<int>(*offset);
    auto videos = b_.state->ListVideos(q);
    if (!videos.ok()) return SendStatus(res, videos.status());
    auto total = b_.state->CountVideos(q);
    json items = json::array();
    for (const auto& v : *videos) items.push_back(VideoToJson(v, nullptr));
    SendJson(res, {{"items", items},
                   {"total", total.ok() ? *total : -1},
                   {"limit", q.limit},
                   {"offset", q.offset}});
  });
  auto load = [this](const std::string& id_s,
                     httplib::Response& res) -> std::optional<state::Video> {
    auto id = IdParam(id_s);
    if (!id.ok()) {
      SendStatus(res, id.status());
      return std::nullopt;
    }
    auto v = b_.state->GetVideo(*id);
    if (!v.ok()) {
      SendStatus(res, v.status());
      return std::nullopt;
    }
    if (!v->has_value()) {
      SendError(res, 404, "NOT_FOUND", "no video " + id_s);
      return std::nullopt;
    }
    return **v;
  };
  s.Get(R"(/api/videos/([^/]+))",
        [this, load](const httplib::Request& req, httplib::Response& res) {
          auto v = load(req.matches[1], res);
          if (!v) return;
          std::optional<state::Job> job;
          if (v->latest_job_id) {
            auto j = b_.state->GetJob(v->latest_job_id);
            if (j.ok()) job = *j;
          }
          json out = VideoToJson(*v, job ? &*job : nullptr);
          state::JobQuery jq;
          jq.video_id = v->id;
          jq.limit = 20;
          auto jobs = b_.state->ListJobs(jq);
          json history = json::array();
          if (jobs.ok())
            for (const auto& j : *jobs) history.push_back(JobToJson(j));
          out["jobs"] = history;
          SendJson(res, out);
        });
  s.Delete(R"(/api/videos/([^/]+))",
           [this, load](const httplib::Request& req, httplib::Response& res) {
             auto v = load(req.matches[1], res);
             if (!v) return;
             // Stop work first so a running worker does not publish after the output is removed.
             if (!state::IsTerminal(v->state)) (void)b_.state->CancelVideo(v->id);
             Status d = b_.state->DeleteVideo(v->id);
             if (!d.ok()) return SendStatus(res, d);
             Status c = pipeline::RebuildCatalog(*b_.state, *b_.coord, *b_.hls, "api");
             Status u = pipeline::UnpublishVideo(*b_.hls, v->slug);
             if (!u.ok() || !c.ok()) {
               return SendError(res, 503, "UNAVAILABLE",
                                "video deleted from state, but cleaning the HLS bucket failed: " +
                                    (u.ok() ? c : u).message());
             }
             SendJson(res, {{"deleted", v->id}, {"name", v->name}});
           });
  s.Post(R"(/api/videos/([^/]+)/retry)", [this, load](const httplib::Request& req,
                                                      httplib::Response& res) {
    auto v = load(req.matches[1], res);
    if (!v) return;
    if (v->state != state::JobState::kFailed && v->state != state::JobState::kCancelled) {
      return SendError(res, 409, "FAILED_PRECONDITION",
                       std::string("only failed or cancelled videos can be retried; this one is ") +
                           state::JobStateName(v->state));
    }
    auto job = b_.state->RetryVideo(v->id);
    if (!job.ok()) return SendStatus(res, job.status());
    (void)b_.coord->Notify(pipeline::kUploadsChannel);
    SendJson(res, {{"id", v->id}, {"job_id", *job}, {"state", "queued"}}, 202);
  });
  s.Post(R"(/api/videos/([^/]+)/cancel)",
         [this, load](const httplib::Request& req, httplib::Response& res) {
           auto v = load(req.matches[1], res);
           if (!v) return;
           if (state::IsTerminal(v->state)) {
             return SendError(res, 409, "FAILED_PRECONDITION",
                              std::string("video is already ") + state::JobStateName(v->state));
           }
           Status c = b_.state->CancelVideo(v->id);
           if (!c.ok()) return SendStatus(res, c);
           SendJson(res, {{"id", v->id}, {"cancel_requested", true}}, 202);
         });

  // ---- jobs, workers, catalog, stats ----
  s.Get("/api/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    state::JobQuery q;
    if (req.has_param("state")) {
      auto st = state::ParseJobState(req.get_param_value("state"));
      if (!st)
        return SendError(res, 400, "INVALID_ARGUMENT",
                         "unknown state '" + req.get_param_value("state") + "'");
      q.state = *st;
    }
    auto vid = IntParam(req, "video_id", 0, 1ll << 62);
    auto limit = IntParam(req, "limit", 50, 1000);
    auto offset = IntParam(req, "offset", 0, 1ll << 30);
    for (const auto* r : {&vid, &limit, &offset}) {
      if (!r->ok()) return SendStatus(res, r->status());
    }
    q.video_id = *vid;
    q.limit = static_cast<int>(*limit);
    q.offset = static_cast<int>(*offset);
    auto jobs = b_.state->ListJobs(q);
    if (!jobs.ok()) return SendStatus(res, jobs.status());
    json items = json::array();
    for (const auto& j : *jobs) items.push_back(JobToJson(j));
    SendJson(res, {{"items", items}, {"limit", q.limit}, {"offset", q.offset}});
  });
  s.Get("/api/workers", [this](const httplib::Request&, httplib::Response& res) {
    auto ws = b_.state->Workers();
    if (!ws.ok()) return SendStatus(res, ws.status());
    json items = json::array();
    const int64_t now = NowMs();
    for (const auto& w : *ws) items.push_back(WorkerToJson(w, now, options_.worker_timeout_ms));
    SendJson(res, {{"items", items}, {"worker_timeout_ms", options_.worker_timeout_ms}});
  });
  s.Get("/api/catalog", [this](const httplib::Request&, httplib::Response& res) {
    auto text = b_.hls->GetBytes("encode/master.m3u8", 8 << 20);
    json items = json::array();
    if (!text.ok()) {
      if (text.status().code() != Code::kNotFound) return SendStatus(res, text.status());
      return SendJson(res,
                      {{"items", items}, {"url", "/hls/encode/master.m3u8"}, {"exists", false}});
    }
    auto entries = hls::ParseCatalog(*text);
    if (!entries.ok())
      return SendError(res, 503, "UNAVAILABLE",
                       "catalog unreadable: " + entries.status().message());
    for (const auto& e : *entries) {
      items.push_back({{"name", e.name},
                       {"uri", e.uri},
                       {"url", "/hls/encode/" + e.uri},
                       {"bandwidth", e.bandwidth},
                       {"average_bandwidth", e.average_bandwidth},
                       {"codecs", e.codecs},
                       {"width", e.width},
                       {"height", e.height},
                       {"frame_rate", e.frame_rate}});
    }
    SendJson(res, {{"items", items}, {"url", "/hls/encode/master.m3u8"}, {"exists", true}});
  });
  s.Get("/api/stats", [this](const httplib::Request&, httplib::Response& res) {
    json by_state = json::object();
    for (auto st :
         {state::JobState::kQueued, state::JobState::kAssigned, state::JobState::kDownloading,
          state::JobState::kEncoding, state::JobState::kUploading, state::JobState::kReady,
          state::JobState::kFailed, state::JobState::kCancelled}) {
      state::VideoQuery q;
      q.state = st;
      auto n = b_.state->CountVideos(q);
      if (!n.ok()) return SendStatus(res, n.status());
      by_state[state::JobStateName(st)] = *n;
    }
    state::JobQuery jq;
    jq.limit = 1000;
    auto jobs = b_.state->ListJobs(jq);
    if (!jobs.ok()) return SendStatus(res, jobs.status());
    const int64_t hour_ago = NowMs() - 3600 * 1000;
    int64_t last_hour = 0, failures_hour = 0;
    double speed_sum = 0;
    int speed_n = 0;
    for (const auto& j : *jobs) {
      if (j.state == state::JobState::kReady) {
        if (j.finished_ms >= hour_ago) ++last_hour;
        auto t = json::parse(j.timings_json.empty() ? "{}" : j.timings_json, nullptr, false);
        if (t.is_object() && t.value("speed", 0.0) > 0) {
          speed_sum += t.value("speed", 0.0);
          ++speed_n;
        }
      }
      if (j.state == state::JobState::kFailed && j.finished_ms >= hour_ago) ++failures_hour;
    }
    SendJson(res, {{"queue_depth",
                    by_state["queued"].get<int64_t>() + by_state["assigned"].get<int64_t>()},
                   {"videos_by_state", by_state},
                   {"encodes_last_hour", last_hour},
                   {"failures_last_hour", failures_hour},
                   {"failures", by_state["failed"]},
                   {"mean_encode_speed", speed_n ? json(speed_sum / speed_n) : json(nullptr)},
                   {"jobs_considered", jobs->size()}});
  });

  // ---- metrics ----
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::ostringstream o;
    o << "# HELP hlsforge_jobs Jobs by state (latest 5000).\n# TYPE hlsforge_jobs gauge\n";
    state::JobQuery jq;
    jq.limit = 5000;
    auto jobs = b_.state->ListJobs(jq);
    std::map<std::string, int64_t> by_state;
    for (auto st : {"queued", "assigned", "downloading", "encoding", "uploading", "ready", "failed",
                    "cancelled"})
      by_state[st] = 0;
    static const std::vector<double> buckets = {1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
    std::vector<uint64_t> counts(buckets.size(), 0);
    double sum = 0;
    uint64_t n = 0;
    double bytes = 0;
    if (jobs.ok()) {
      for (const auto& j : *jobs) {
        ++by_state[state::JobStateName(j.state)];
        if (j.state != state::JobState::kReady) continue;
        auto t = json::parse(j.timings_json.empty() ? "{}" : j.timings_json, nullptr, false);
        if (!t.is_object()) continue;
        double e = t.value("encode_s", 0.0);
        bytes += t.value("published_bytes", 0.0);
        ++n;
        sum += e;
        for (size_t i = 0; i < buckets.size(); ++i)
          if (e <= buckets[i]) ++counts[i];
      }
    }
    for (const auto& [k, v] : by_state) o << "hlsforge_jobs{state=\"" << k << "\"} " << v << "\n";
    o << "# HELP hlsforge_encode_seconds Encode time of ready jobs.\n# TYPE "
         "hlsforge_encode_seconds histogram\n";
    for (size_t i = 0; i < buckets.size(); ++i) {
      o << "hlsforge_encode_seconds_bucket{le=\"" << buckets[i] << "\"} " << counts[i] << "\n";
    }
    o << "hlsforge_encode_seconds_bucket{le=\"+Inf\"} " << n << "\n"
      << "hlsforge_encode_seconds_sum " << sum << "\nhlsforge_encode_seconds_count " << n << "\n";
    o << "# HELP hlsforge_published_bytes Bytes published by ready jobs.\n# TYPE "
         "hlsforge_published_bytes gauge\n"
      << "hlsforge_published_bytes " << static_cast<int64_t>(bytes) << "\n";
    auto ws = b_.state->Workers();
    o << "# HELP hlsforge_worker_cpu_percent Host CPU use seen by the worker.\n# TYPE "
         "hlsforge_worker_cpu_percent gauge\n";
    if (ws.ok())
      for (const auto& w : *ws)
        o << "hlsforge_worker_cpu_percent{worker=\"" << PromEscape(w.id) << "\"} " << w.cpu_percent
          << "\n";
    o << "# HELP hlsforge_worker_memory_available_bytes Available memory on the worker's host.\n# "
         "TYPE hlsforge_worker_memory_available_bytes gauge\n";
    if (ws.ok())
      for (const auto& w : *ws)
        o << "hlsforge_worker_memory_available_bytes{worker=\"" << PromEscape(w.id) << "\"} "
          << w.mem_available_bytes << "\n";
    o << "# HELP hlsforge_worker_memory_total_bytes Total memory on the worker's host.\n# TYPE "
         "hlsforge_worker_memory_total_bytes gauge\n";
    if (ws.ok())
      for (const auto& w : *ws)
        o << "hlsforge_worker_memory_total_bytes{worker=\"" << PromEscape(w.id) << "\"} "
          << w.mem_total_bytes << "\n";
    o << "# HELP hlsforge_worker_alive 1 if the worker sent a heartbeat within the timeout.\n# "
         "TYPE hlsforge_worker_alive gauge\n";
    const int64_t now = NowMs();
    if (ws.ok())
      for (const auto& w : *ws)
        o << "hlsforge_worker_alive{worker=\"" << PromEscape(w.id) << "\"} "
          << (w.last_heartbeat_ms >= now - options_.worker_timeout_ms ? 1 : 0) << "\n";
    o << "# HELP hlsforge_http_requests_total HTTP requests by method, route and status.\n# TYPE "
         "hlsforge_http_requests_total counter\n";
    {
      std::lock_guard lk(metrics_mu_);
      for (const auto& [k, v] : requests_) {
        std::istringstream in(k);
        std::string m, r, st;
        in >> m >> r >> st;
        o << "hlsforge_http_requests_total{method=\"" << m << "\",route=\"" << PromEscape(r)
          << "\",status=\"" << st << "\"} " << v << "\n";
      }
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(o.str(), "text/plain; version=0.0.4");
  });

  // ---- events ----
  s.Get("/api/events", [this](const httplib::Request&, httplib::Response& res) {
    if (sse_clients_.fetch_add(1) >= options_.max_sse_clients) {
      sse_clients_.fetch_sub(1);
      return SendError(res, 503, "UNAVAILABLE", "too many event-stream clients");
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
    uint64_t start;
    {
      std::lock_guard lk(ev_mu_);
      start = ev_seq_;
    }
    auto pos = std::make_shared<uint64_t>(start);
    auto last_write = std::make_shared<int64_t>(0);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, pos, last_write](size_t, httplib::DataSink& sink) {
          if (*last_write == 0) {
            *last_write = NowMs();
            std::string hello = "retry: 2000\nevent: hello\ndata: {}\n\n";
            return sink.write(hello.data(), hello.size());
          }
          std::vector<std::string> out;
          {
            std::unique_lock lk(ev_mu_);
            ev_cv_.wait_for(lk, std::chrono::milliseconds(1000),
                            [&] { return stopping_.load() || ev_seq_ > *pos; });
            if (stopping_) return false;
            for (const auto& [seq, frame] : ev_log_) {
              if (seq > *pos) out.push_back(frame);
            }
            *pos = ev_seq_;
          }
          if (out.empty() && NowMs() - *last_write >= options_.sse_heartbeat_ms) {
            out.push_back(": heartbeat\n\n");
          }
          for (const auto& f : out) {
            if (!sink.write(f.data(), f.size())) return false;
            *last_write = NowMs();
          }
          return sink.is_writable();
        },
        [this](bool) { sse_clients_.fetch_sub(1); });
  });

  if (!options_.web_root.empty()) {
    s.set_mount_point("/", options_.web_root);
  }
}

void ApiServer::Broadcast(const std::string& event, const std::string& data) {
  std::lock_guard lk(ev_mu_);
  ++ev_seq_;
  ev_log_.emplace_back(ev_seq_, SseFrame(ev_seq_, event, data));
  while (ev_log_.size() > 1000) ev_log_.pop_front();
  ev_cv_.notify_all();
}

// Polls the state store: the workers may be other processes, so there is no in-process signal
// to rely on. Changes are detected by updated/heartbeat times and sent as events.
void ApiServer::EventLoop() {
  std::map<int64_t, int64_t> videos;       // id -> updated_ms
  std::map<int64_t, int64_t> jobs;         // id -> updated_ms
  std::map<std::string, int64_t> workers;  // id -> last heartbeat
  std::string catalog_sig;
  bool first = true;
  while (!stopping_) {
    state::VideoQuery vq;
    vq.limit = 500;
    auto vs = b_.state->ListVideos(vq);
    if (vs.ok()) {
      std::map<int64_t, int64_t> now_v;
      std::string sig;
      for (const auto& v : *vs) {
        now_v[v.id] = v.updated_ms;
        if (v.published_job_id)
          sig += std::to_string(v.id) + ":" + std::to_string(v.published_job_id) + ",";
        auto it = videos.find(v.id);
        if (!first && (it == videos.end() || it->second != v.updated_ms)) {
          Broadcast("video",
                    VideoToJson(v, nullptr).dump(-1, ' ', false, json::error_handler_t::replace));
        }
      }
      if (!first) {
        for (const auto& [id, _] : videos) {
          if (!now_v.count(id)) Broadcast("video_deleted", json{{"id", id}}.dump());
        }
        if (sig != catalog_sig)
          Broadcast("catalog", json{{"url", "/hls/encode/master.m3u8"}}.dump());
      }
      catalog_sig = sig;
      videos = std::move(now_v);
    }
    state::JobQuery jq;
    jq.limit = 200;
    auto js = b_.state->ListJobs(jq);
    if (js.ok()) {
      std::map<int64_t, int64_t> now_j;
      for (const auto& j : *js) {
        now_j[j.id] = j.updated_ms;
        auto it = jobs.find(j.id);
        if (!first && (it == jobs.end() || it->second != j.updated_ms)) {
          Broadcast("job", JobToJson(j).dump(-1, ' ', false, json::error_handler_t::replace));
        }
      }
      jobs = std::move(now_j);
    }
    auto ws = b_.state->Workers();
    if (ws.ok()) {
      const int64_t now = NowMs();
      std::map<std::string, int64_t> now_w;
      for (const auto& w : *ws) {
        now_w[w.id] = w.last_heartbeat_ms;
        auto it = workers.find(w.id);
        if (!first && (it == workers.end() || it->second != w.last_heartbeat_ms)) {
          Broadcast("worker", WorkerToJson(w, now, options_.worker_timeout_ms)
                                  .dump(-1, ' ', false, json::error_handler_t::replace));
        }
      }
      workers = std::move(now_w);
    }
    first = false;
    std::unique_lock lk(ev_mu_);
    ev_cv_.wait_for(lk, std::chrono::milliseconds(options_.events_poll_ms),
                    [&] { return stopping_.load(); });
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
  stopping_ = false;
  events_thread_ = std::thread([this] { EventLoop(); });
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  HF_LOG_INFO("http listening on http://{}:{}", options_.bind, port_);
  return Status::Ok();
}

void ApiServer::Stop() {
  {
    std::lock_guard lk(ev_mu_);
    stopping_ = true;
    ev_cv_.notify_all();
  }
  if (events_thread_.joinable()) events_thread_.join();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hlsforge::api
