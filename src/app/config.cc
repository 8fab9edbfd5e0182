#include "app/config.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace hlsforge::app {
namespace fs = std::filesystem;

void AddConfigOptions(CLI::App& app, Config& c) {
  app.set_config("--config", "", "TOML configuration file")->envname("HLSFORGE_CONFIG");
  auto* g = &app;
  g->add_option("--data", c.data, "Data folder for embedded defaults (buckets, SQLite, scratch)")->envname("HLSFORGE_DATA")->capture_default_str();
  g->add_option("--upload-url", c.upload_url, "Upload bucket: file:///dir or s3://bucket (default file://DATA/upload)")->envname("HLSFORGE_UPLOAD_URL");
  g->add_option("--hls-url", c.hls_url, "HLS bucket: file:///dir or s3://bucket (default file://DATA/hls)")->envname("HLSFORGE_HLS_URL");
  g->add_option("--state-url", c.state_url, "State store: sqlite:///path.db or postgresql://user:pass@host:port/db")->envname("HLSFORGE_STATE_URL");
  g->add_option("--coord-url", c.coord_url, "Coordinator: local:// or redis://host:port")->envname("HLSFORGE_COORD_URL");
  g->add_option("--s3-endpoint", c.s3_endpoint, "S3 API endpoint, e.g. http://127.0.0.1:4566 (default AWS)")->envname("HLSFORGE_S3_ENDPOINT");
  g->add_option("--s3-region", c.s3_region, "S3 region")->envname("HLSFORGE_S3_REGION")->capture_default_str();
  g->add_option("--s3-path-style", c.s3_path_style, "Path-style S3 URLs (true for MinIO/LocalStack/s3rver)")->envname("HLSFORGE_S3_PATH_STYLE")->capture_default_str();
  g->add_option("--bind", c.bind, "HTTP address")->envname("HLSFORGE_BIND")->capture_default_str();
  g->add_option("--port", c.port, "HTTP port (0 = any free port)")->envname("HLSFORGE_PORT")->check(CLI::Range(0, 65535))->capture_default_str();
  g->add_option("--api-token", c.api_token, "Bearer token for mutating API routes")->envname("HLSFORGE_API_TOKEN");
  g->add_option("--api-read-auth", c.api_read_auth, "Read API routes need the token too")->envname("HLSFORGE_API_READ_AUTH")->capture_default_str();
  g->add_option("--cors-origin", c.cors_origin, "Access-Control-Allow-Origin (\"\" = no CORS)")->envname("HLSFORGE_CORS_ORIGIN")->capture_default_str();
  g->add_option("--max-upload-mb", c.max_upload_mb, "Largest upload through the API, MiB")->envname("HLSFORGE_MAX_UPLOAD_MB")->check(CLI::Range(0.001, 1e8))->capture_default_str();
  g->add_option("--serve-hls", c.serve_hls, "Serve the HLS bucket under /hls/")->envname("HLSFORGE_SERVE_HLS")->capture_default_str();
  g->add_option("--web-root", c.web_root, "Dashboard files to serve at /")->envname("HLSFORGE_WEB_ROOT");
  g->add_option("--workers", c.workers, "serve: encoding workers in this process")->envname("HLSFORGE_WORKERS")->check(CLI::Range(0, 64))->capture_default_str();
  g->add_option("--worker-id", c.worker_id, "worker: stable id (default <host>/worker)")->envname("HLSFORGE_WORKER_ID");
  g->add_option("--capacity", c.capacity, "Jobs a worker runs at once")->envname("HLSFORGE_CAPACITY")->check(CLI::Range(1, 64))->capture_default_str();
  g->add_option("--max-cpu", c.max_cpu, "A worker above this CPU % gets no new job")->envname("HLSFORGE_MAX_CPU")->check(CLI::Range(1.0, 100.0))->capture_default_str();
  g->add_option("--min-free-mem", c.min_free_mem_mb, "A worker with less free memory (MiB) gets no new job")->envname("HLSFORGE_MIN_FREE_MEM")->check(CLI::Range(0.0, 1e7))->capture_default_str();
  g->add_option("--poll-interval", c.poll_interval_s, "Seconds between polls of the upload bucket")->envname("HLSFORGE_POLL_INTERVAL")->check(CLI::Range(0.05, 3600.0))->capture_default_str();
  g->add_option("--lease", c.lease_s, "Job lease in seconds (a dead worker's job is retaken after this)")->envname("HLSFORGE_LEASE")->check(CLI::Range(1.0, 3600.0))->capture_default_str();
  g->add_option("--worker-timeout", c.worker_timeout_s, "Seconds without heartbeat before a worker counts as lost")->envname("HLSFORGE_WORKER_TIMEOUT")->check(CLI::Range(1.0, 3600.0))->capture_default_str();
  g->add_option("--catalog-rung", c.catalog_rung, "Rung height the catalog points at (or the highest below it)")->envname("HLSFORGE_CATALOG_RUNG")->check(CLI::Range(144, 4320))->capture_default_str();
  g->add_option("--delete-output-with-source", c.delete_output_with_source, "Remove a video's HLS output when its source leaves the upload bucket")->envname("HLSFORGE_DELETE_OUTPUT_WITH_SOURCE")->capture_default_str();
  g->add_option("--profile", c.profile, "Encoding profile: ladder, single, or a TOML profile file")->envname("HLSFORGE_PROFILE")->capture_default_str();
  g->add_option("--threads", c.threads, "ffmpeg threads per encode (0 = auto)")->envname("HLSFORGE_THREADS")->check(CLI::Range(0, 256))->capture_default_str();
  g->add_option("--scratch", c.scratch, "Scratch folder for downloads and encodes (default DATA/scratch)")->envname("HLSFORGE_SCRATCH");
}

Status Finalize(Config& c) {
  std::error_code ec;
  fs::path data = fs::absolute(c.data, ec);
  if (ec || c.data.empty()) return InvalidArgument("--data: not a usable path: '" + c.data + "'");
  c.data = data.lexically_normal().string();
  // The data folder always exists: it holds the generated API token even when every backend
  // is remote.
  fs::create_directories(data, ec);
  if (ec) return PermissionDenied("cannot create " + data.string() + ": " + ec.message());
  auto local = [&](std::string& url, const char* sub) -> Status {
    if (url.empty()) url = "file://" + (data / sub).string();
    if (url.starts_with("file://")) {
      fs::create_directories(url.substr(7), ec);
      if (ec) return PermissionDenied("cannot create " + url.substr(7) + ": " + ec.message());
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(local(c.upload_url, "upload"));
  RETURN_IF_ERROR(local(c.hls_url, "hls"));
  if (c.state_url.empty()) {
    fs::create_directories(data, ec);
    if (ec) return PermissionDenied("cannot create " + data.string() + ": " + ec.message());
    c.state_url = "sqlite://" + (data / "hlsforge.db").string();
  }
  if (c.coord_url.empty()) c.coord_url = "local://";
  if (c.scratch.empty()) c.scratch = (data / "scratch").string();
  if (c.profile != "ladder" && c.profile != "single" && !fs::is_regular_file(c.profile)) {
    return InvalidArgument("--profile: '" + c.profile + "' is neither ladder, single nor a profile file");
  }
  if (c.worker_timeout_s < 2) return InvalidArgument("--worker-timeout must be at least 2 s");
  if (c.web_root.empty()) {
    // The dashboard built by web/build.sh, when run from the source tree.
    for (fs::path p : {fs::path("web/dist"), fs::path(HLSFORGE_SOURCE_DIR) / "web" / "dist"}) {
      if (fs::is_regular_file(p / "index.html")) {
        c.web_root = fs::absolute(p).string();
        break;
      }
    }
  }
  return Status::Ok();
}

pipeline::PipelineConfig ToPipelineConfig(const Config& c) {
  using std::chrono::milliseconds;
  pipeline::PipelineConfig p;
  p.poll_interval = milliseconds(static_cast<int64_t>(c.poll_interval_s * 1000));
  p.lease = milliseconds(static_cast<int64_t>(c.lease_s * 1000));
  p.worker_timeout = milliseconds(static_cast<int64_t>(c.worker_timeout_s * 1000));
  p.heartbeat_interval = std::min(p.heartbeat_interval, p.worker_timeout / 3);
  p.scratch_dir = c.scratch;
  p.catalog_rung_height = c.catalog_rung;
  p.delete_output_with_source = c.delete_output_with_source;
  // Folder buckets: a file is complete once its mtime is 1 s old (the ETag is size+mtime).
  // S3: objects are atomic, but s3rver lists one while its PUT still streams, so a second look
  // 250 ms later must see the same ETag.
  if (c.upload_url.starts_with("file://")) {
    p.settle_age = std::chrono::milliseconds(1000);
    p.settle_recheck = std::chrono::milliseconds(0);
  } else {
    p.settle_age = std::chrono::milliseconds(0);
    p.settle_recheck = std::chrono::milliseconds(250);
  }
  p.capacity = c.capacity;
  p.max_cpu_percent = c.max_cpu;
  p.min_free_mem_bytes = static_cast<int64_t>(c.min_free_mem_mb * 1024 * 1024);
  return p;
}

storage::StoreOptions ToStoreOptions(const Config& c) {
  storage::StoreOptions o;
  o.endpoint = c.s3_endpoint;
  o.region = c.s3_region;
  o.path_style = c.s3_path_style;
  return o;
}

std::string MaskUrl(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto at = url.find('@', scheme + 3);
  auto slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

namespace {
std::string Q(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    o += ch;
  }
  return o + "\"";
}
}  // namespace

std::string Describe(const Config& c) {
  std::ostringstream o;
  auto secret = [](const std::string& s) { return s.empty() ? std::string("\"\"") : std::string("\"***\""); };
  const char* aws_secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  const char* aws_key = std::getenv("AWS_ACCESS_KEY_ID");
  o << "# effective hlsforge configuration (secrets masked)\n"
    << "data = " << Q(c.data) << "\n"
    << "upload-url = " << Q(MaskUrl(c.upload_url)) << "\n"
    << "hls-url = " << Q(MaskUrl(c.hls_url)) << "\n"
    << "state-url = " << Q(MaskUrl(c.state_url)) << "\n"
    << "coord-url = " << Q(MaskUrl(c.coord_url)) << "\n"
    << "s3-endpoint = " << Q(c.s3_endpoint) << "\n"
    << "s3-region = " << Q(c.s3_region) << "\n"
    << "s3-path-style = " << (c.s3_path_style ? "true" : "false") << "\n"
    << "# AWS_ACCESS_KEY_ID = " << Q(aws_key ? aws_key : "") << "\n"
    << "# AWS_SECRET_ACCESS_KEY = " << secret(aws_secret ? aws_secret : "") << "\n"
    << "bind = " << Q(c.bind) << "\n"
    << "port = " << c.port << "\n"
    << "api-token = " << secret(c.api_token) << "\n"
    << "serve-hls = " << (c.serve_hls ? "true" : "false") << "\n"
    << "web-root = " << Q(c.web_root) << "\n"
    << "workers = " << c.workers << "\n"
    << "worker-id = " << Q(c.worker_id) << "\n"
    << "capacity = " << c.capacity << "\n"
    << "max-cpu = " << c.max_cpu << "\n"
    << "min-free-mem = " << c.min_free_mem_mb << "\n"
    << "poll-interval = " << c.poll_interval_s << "\n"
    << "lease = " << c.lease_s << "\n"
    << "worker-timeout = " << c.worker_timeout_s << "\n"
    << "catalog-rung = " << c.catalog_rung << "\n"
    << "delete-output-with-source = " << (c.delete_output_with_source ? "true" : "false") << "\n"
    << "profile = " << Q(c.profile) << "\n"
    << "threads = " << c.threads << "\n"
    << "scratch = " << Q(c.scratch) << "\n";
  return o.str();
}

}  // namespace hlsforge::app
