// s3://bucket — see s3_store.h for the contract. This file: URL/config parsing, one HTTP
// exchange with libcurl (PerformOnce), the retry loop (Call), and the S3 operations on top.
#include "storage/s3_store.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <pugixml.hpp>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "common/log.h"
#include "storage/internal.h"
#include "storage/sigv4.h"

namespace hlsforge::storage {
namespace {
namespace fs = std::filesystem;
using sigv4::Params;

constexpr uint64_t kMinPartSize = 5ull << 20;
constexpr uint64_t kMaxPartSize = 5ull << 30;
constexpr uint64_t kMaxParts = 10000;
constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr int kMaxListKeys = 1000;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::string ErrnoText(int e) { return std::strerror(e); }

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// ---- configuration -------------------------------------------------------------------------

struct Endpoint {
  std::string scheme;  // http | https
  std::string host;    // name, IPv4 or [IPv6]
  std::string port;    // "" = scheme default
  std::string ToString() const { return scheme + "://" + host + (port.empty() ? "" : ":" + port); }
};

Result<Endpoint> ParseEndpoint(std::string_view e) {
  Endpoint ep;
  std::string s(e);
  auto bad = [&](const std::string& why) {
    return InvalidArgument("bad S3 endpoint '" + s + "': " + why +
                           " (want http(s)://host[:port], e.g. http://127.0.0.1:4566)");
  };
  size_t sep = s.find("://");
  if (sep == std::string::npos) return bad("no scheme");
  ep.scheme = Lower(s.substr(0, sep));
  if (ep.scheme != "http" && ep.scheme != "https") return bad("scheme must be http or https");
  std::string rest = s.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty()) return bad("no host");
  if (rest.find_first_of("/?#@\\ ") != std::string::npos) {
    return bad("only scheme, host and port are allowed (no path, user or query)");
  }
  std::string hostport = rest;
  if (hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos) return bad("unclosed IPv6 bracket");
    ep.host = hostport.substr(0, close + 1);
    std::string after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after IPv6 address");
      ep.port = after.substr(1);
    }
    for (char c : ep.host.substr(1, ep.host.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return bad("bad IPv6 address");
      }
    }
  } else {
    size_t colon = hostport.rfind(':');
    ep.host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
    if (colon != std::string::npos) ep.port = hostport.substr(colon + 1);
    if (ep.host.empty()) return bad("no host");
    for (char c : ep.host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
        return bad("bad character in host name");
      }
    }
  }
  if (!ep.port.empty() || (rest.back() == ':')) {
    if (ep.port.empty() || ep.port.size() > 5 ||
        !std::all_of(ep.port.begin(), ep.port.end(), ::isdigit) || std::stoi(ep.port) < 1 ||
        std::stoi(ep.port) > 65535) {
      return bad("port must be 1..65535");
    }
  }
  return ep;
}

Status ValidateBucket(const std::string& b) {
  // AWS's current naming rules; MinIO, LocalStack and s3rver accept all such names.
  auto bad = [&](const std::string& why) {
    return InvalidArgument("bad S3 bucket name '" + b + "': " + why);
  };
  if (b.size() < 3 || b.size() > 63) return bad("must be 3..63 characters");
  for (char c : b) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
      return bad("only lower-case letters, digits, '-' and '.' are allowed");
    }
  }
  if (!std::isalnum(static_cast<unsigned char>(b.front())) ||
      !std::isalnum(static_cast<unsigned char>(b.back()))) {
    return bad("must start and end with a letter or digit");
  }
  if (b.find("..") != std::string::npos) return bad("must not contain '..'");
  return Status::Ok();
}

struct Config {
  std::string url;
  std::string bucket;
  std::string prefix;  // "" or "dir/"
  Endpoint endpoint;
  std::string region;
  bool path_style = true;
  sigv4::Credentials creds;
  uint64_t multipart_threshold = 0;
  uint64_t part_size = 0;
  int max_retries = 0;
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

Result<Config> ParseConfig(const std::string& url, const StoreOptions& o) {
  Config c;
  c.url = url;
  if (url.size() < 5 || Lower(url.substr(0, 5)) != "s3://") {
    return InvalidArgument("not an s3:// URL: '" + url + "'");
  }
  for (unsigned char ch : url) {
    if (ch < 0x21 || ch == 0x7F) {
      return InvalidArgument("s3 URL contains whitespace or control characters");
    }
  }
  std::string rest = url.substr(5);
  if (rest.find('#') != std::string::npos) return InvalidArgument("s3 URL must not have '#'");
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  c.bucket = rest.substr(0, slash);
  if (c.bucket.empty()) return InvalidArgument("s3 URL '" + url + "' has no bucket");
  RETURN_IF_ERROR(ValidateBucket(c.bucket));
  if (slash != std::string::npos) {
    std::string p = rest.substr(slash + 1);
    while (!p.empty() && p.back() == '/') p.pop_back();
    if (!p.empty()) {
      ASSIGN_OR_RETURN(std::string decoded, internal::PercentDecode(p));
      RETURN_IF_ERROR(ValidateKey(decoded).Annotate("prefix of " + url));
      c.prefix = decoded + "/";
    }
  }

  std::string endpoint = o.endpoint;
  c.region = o.region.empty() ? "us-east-1" : o.region;
  c.path_style = o.path_style;
  std::map<std::string, bool> seen;
  size_t start = 0;
  while (!query.empty() && start <= query.size()) {
    size_t amp = query.find('&', start);
    std::string pair =
        query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    start = amp == std::string::npos ? query.size() + 1 : amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string k = pair.substr(0, eq);
    ASSIGN_OR_RETURN(std::string v,
                     internal::PercentDecode(eq == std::string::npos ? "" : pair.substr(eq + 1)));
    if (seen[k]) return InvalidArgument("parameter '" + k + "' given twice in s3 URL");
    seen[k] = true;
    if (k == "endpoint") {
      endpoint = v;
    } else if (k == "region") {
      if (v.empty() || v.size() > 64 || !std::all_of(v.begin(), v.end(), [](unsigned char ch) {
            return std::islower(ch) || std::isdigit(ch) || ch == '-';
          })) {
        return InvalidArgument("bad region '" + v + "' in s3 URL");
      }
      c.region = v;
    } else if (k == "path_style") {
      std::string lv = Lower(v);
      if (lv == "1" || lv == "true") {
        c.path_style = true;
      } else if (lv == "0" || lv == "false") {
        c.path_style = false;
      } else {
        return InvalidArgument("path_style must be 0/1/true/false, not '" + v + "'");
      }
    } else {
      return InvalidArgument("unknown parameter '" + k +
                             "' in s3 URL (known: endpoint, region, path_style; credentials " +
                             "come from the environment, never the URL)");
    }
  }
  if (endpoint.empty()) endpoint = "https://s3." + c.region + ".amazonaws.com";
  ASSIGN_OR_RETURN(c.endpoint, ParseEndpoint(endpoint));

  if (!o.access_key_id.empty() || !o.secret_access_key.empty()) {
    c.creds = {o.access_key_id, o.secret_access_key, o.session_token};
  } else {
    c.creds = {Env("AWS_ACCESS_KEY_ID"), Env("AWS_SECRET_ACCESS_KEY"), Env("AWS_SESSION_TOKEN")};
  }
  if (c.creds.access_key_id.empty() || c.creds.secret_access_key.empty()) {
    return InvalidArgument(
        "no S3 credentials for " + url +
        ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if temporary)");
  }
  c.multipart_threshold = o.multipart_threshold;
  c.part_size = std::clamp<uint64_t>(o.multipart_part_size, kMinPartSize, kMaxPartSize);
  c.max_retries = std::clamp(o.max_retries, 0, 20);
  return c;
}

// ---- HTTP ----------------------------------------------------------------------------------

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // canonical URI, encoded once
  Params query;      // decoded
  Params headers;    // extra headers, all signed
  enum class Body { kNone, kBytes, kFile } body = Body::kNone;
  std::string_view bytes;
  int fd = -1;
  uint64_t file_offset = 0, file_length = 0;
  // 2xx body goes here when set; returning kCancelled stops the transfer without an error.
  std::function<Status(const char*, size_t)> sink;
  // Called once with the status and headers before the first body byte reaches `sink`.
  std::function<void(long, const std::map<std::string, std::string>&)> on_headers;
  size_t max_body = 64u << 20;  // collected 2xx body limit when there is no sink
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool stopped_early = false;
};

class HandlePool {
 public:
  ~HandlePool() {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }
  CURL* Get() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        curl_easy_reset(h);  // keeps the connection cache, drops every option
        return h;
      }
    }
    return curl_easy_init();
  }
  void Put(CURL* h) {
    std::lock_guard lock(mu_);
    if (idle_.size() < 8) {
      idle_.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

 private:
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

struct Transfer {
  const HttpRequest* req = nullptr;
  CURL* h = nullptr;
  HttpResponse resp;
  Status local;  // failure on our side (disk, source file), reported as is
  uint64_t read_pos = 0;
  bool headers_announced = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t->resp.headers.clear();  // a new response (e.g. after "100 Continue")
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    t->resp.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
  bool ok = code >= 200 && code < 300;
  if (ok && t->req->sink) {
    if (!t->headers_announced) {
      t->headers_announced = true;
      if (t->req->on_headers) t->req->on_headers(code, t->resp.headers);
    }
    Status s = t->req->sink(data, len);
    if (s.ok()) return len;
    if (s.code() == Code::kCancelled) {
      t->resp.stopped_early = true;
    } else {
      t->local = s;
    }
    return 0;  // aborts the transfer
  }
  size_t limit = ok ? t->req->max_body : kMaxErrorBody;
  if (t->resp.body.size() + len > limit) {
    if (ok) {
      t->local = ResourceExhausted("S3 response larger than " + std::to_string(limit) + " bytes");
      return 0;
    }
    t->resp.body.append(data, limit - std::min(limit, t->resp.body.size()));
    return len;
  }
  t->resp.body.append(data, len);
  return len;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& r = *t->req;
  size_t cap = size * n;
  if (r.body == HttpRequest::Body::kBytes) {
    size_t left = r.bytes.size() - std::min<size_t>(r.bytes.size(), t->read_pos);
    size_t k = std::min(cap, left);
    std::memcpy(buf, r.bytes.data() + t->read_pos, k);
    t->read_pos += k;
    return k;
  }
  uint64_t left = r.file_length - std::min(r.file_length, t->read_pos);
  if (left == 0) return 0;
  size_t want = static_cast<size_t>(std::min<uint64_t>(cap, left));
  for (;;) {
    ssize_t got = pread(r.fd, buf, want, static_cast<off_t>(r.file_offset + t->read_pos));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      t->local = got < 0 ? Internal("read upload source: " + ErrnoText(errno))
                         : FailedPrecondition("upload source file shrank while uploading");
      return CURL_READFUNC_ABORT;
    }
    t->read_pos += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  t->read_pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

bool RetryableTransport(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

// ---- the store -----------------------------------------------------------------------------

class S3StoreImpl final : public S3Store {
 public:
  explicit S3StoreImpl(Config c) : c_(std::move(c)) {
    GlobalInit();
    std::string host = c_.endpoint.host;
    if (!c_.path_style) host = c_.bucket + "." + host;
    host_header_ = host + (c_.endpoint.port.empty() ? "" : ":" + c_.endpoint.port);
    base_ = c_.endpoint.scheme + "://" + host_header_;
  }

  Result<ListPage> List(const std::string& prefix, const std::string& token,
                        int max_keys) override {
    RETURN_IF_ERROR(internal::ValidatePrefix(prefix, true));
    if (max_keys < 1) return InvalidArgument("max_keys must be at least 1");
    ASSIGN_OR_RETURN(RawPage raw, ListRaw(c_.prefix + prefix, token, max_keys));
    ListPage page;
    page.next_token = raw.next_token;
    for (ObjectInfo& o : raw.objects) {
      if (!o.key.starts_with(c_.prefix)) continue;
      o.key.erase(0, c_.prefix.size());
      if (!ValidateKey(o.key).ok()) {
        HF_LOG_DEBUG("s3 list {}: skipping key that breaks the key rules", c_.url);
        continue;
      }
      page.objects.push_back(std::move(o));
    }
    return page;
  }

  Result<ObjectInfo> Head(const std::string& key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    std::string what = "HEAD " + Describe(key);
    auto r = Call(what, [&](HttpRequest& q) {
      q.method = "HEAD";
      q.path = ObjectPath(key);
      return Status::Ok();
    });
    if (!r.ok()) {
      // HEAD answers carry no body, so no S3 error code: ask once more with a 1-byte GET to
      // say *why* (NoSuchBucket vs NoSuchKey, InvalidAccessKeyId, ...).
      if (r.status().code() == Code::kNotFound || r.status().code() == Code::kPermissionDenied ||
          r.status().code() == Code::kInvalidArgument) {
        auto probe = Call("GET " + Describe(key), [&](HttpRequest& q) {
          q.path = ObjectPath(key);
          q.headers.emplace_back("range", "bytes=0-0");
          return Status::Ok();
        });
        if (!probe.ok() && probe.status().code() == r.status().code()) return probe.status();
      }
      return r.status();
    }
    ObjectInfo info;
    info.key = key;
    auto& h = r->headers;
    if (auto it = h.find("content-length"); it != h.end()) {
      info.size = std::strtoull(it->second.c_str(), nullptr, 10);
    }
    if (auto it = h.find("etag"); it != h.end()) info.etag = StripQuotes(it->second);
    if (auto it = h.find("content-type"); it != h.end()) info.content_type = it->second;
    if (auto it = h.find("last-modified"); it != h.end()) {
      time_t t = curl_getdate(it->second.c_str(), nullptr);
      if (t > 0) info.mtime_ms = static_cast<int64_t>(t) * 1000;
    }
    return info;
  }

  Status GetToFile(const std::string& key, const fs::path& dest) override {
    RETURN_IF_ERROR(ValidateKey(key));
    fs::path dir = dest.parent_path().empty() ? fs::path(".") : dest.parent_path();
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::path tmp = dir / (".hf-get-" + internal::RandomHex());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return PermissionDenied("cannot create " + tmp.string() + ": " + ErrnoText(errno));
    auto r = Call("GET " + Describe(key), [&](HttpRequest& q) {
      // Each attempt starts the file over.
      if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        return Internal("reset " + tmp.string() + ": " + ErrnoText(errno));
      }
      q.path = ObjectPath(key);
      q.sink = [fd, &dest](const char* p, size_t n) -> Status {
        while (n > 0) {
          ssize_t w = write(fd, p, n);
          if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOSPC || errno == EDQUOT) {
              return ResourceExhausted("disk full writing " + dest.string());
            }
            return Internal("write " + dest.string() + ": " + ErrnoText(errno));
          }
          p += w;
          n -= static_cast<size_t>(w);
        }
        return Status::Ok();
      };
      return Status::Ok();
    });
    close(fd);
    Status s = r.status();
    if (s.ok() && rename(tmp.c_str(), dest.c_str()) != 0) {
      s = Internal("rename to " + dest.string() + ": " + ErrnoText(errno));
    }
    if (!s.ok()) unlink(tmp.c_str());
    return s;
  }

  Result<std::string> GetBytes(const std::string& key, uint64_t max_bytes) override {
    RETURN_IF_ERROR(ValidateKey(key));
    std::string data;
    auto r = Call("GET " + Describe(key), [&](HttpRequest& q) {
      data.clear();
      q.path = ObjectPath(key);
      q.sink = [&](const char* p, size_t n) -> Status {
        if (data.size() + n > max_bytes) {
          return ResourceExhausted(Describe(key) + " is more than " + std::to_string(max_bytes) +
                                   " bytes");
        }
        data.append(p, n);
        return Status::Ok();
      };
      return Status::Ok();
    });
    if (!r.ok()) return r.status();
    return data;
  }

  Status ReadRange(const std::string& key, uint64_t offset, uint64_t length,
                   const std::function<bool(const char*, size_t)>& sink) override {
    RETURN_IF_ERROR(ValidateKey(key));
    // `delivered` survives retries: a retry resumes where the previous attempt stopped,
    // so the sink never sees a byte twice.
    uint64_t delivered = 0;
    bool stopped = false;
    auto r = Call(
        "GET " + Describe(key),
        [&](HttpRequest& q) {
          q.path = ObjectPath(key);
          uint64_t start = offset + delivered;
          bool ranged = start > 0 || length > 0;
          if (ranged) {
            std::string range = "bytes=" + std::to_string(start) + "-";
            if (length > 0) range += std::to_string(offset + length - 1);
            q.headers.emplace_back("range", range);
          }
          // A server that ignores Range answers 200 with the whole object: skip and cut here.
          auto skip = std::make_shared<uint64_t>(0);
          q.on_headers = [skip, start, ranged](long status, const auto&) {
            *skip = (ranged && status == 200) ? start : 0;
          };
          q.sink = [&, skip](const char* p, size_t n) -> Status {
            if (*skip > 0) {
              size_t k = static_cast<size_t>(std::min<uint64_t>(*skip, n));
              *skip -= k;
              p += k;
              n -= k;
              if (n == 0) return Status::Ok();
            }
            if (length > 0) n = static_cast<size_t>(std::min<uint64_t>(n, length - delivered));
            delivered += n;
            if (n > 0 && !sink(p, n)) {
              stopped = true;
              return Cancelled("stopped by reader");
            }
            if (length > 0 && delivered >= length) return Cancelled("range complete");
            return Status::Ok();
          };
          return Status::Ok();
        },
        /*pass_through=*/[](long status) { return status == 416; });
    if (!r.ok()) return r.status();
    if (r->status == 416) {
      // Range not satisfiable: fine when reading exactly at the end (e.g. an empty object).
      ASSIGN_OR_RETURN(ObjectInfo info, Head(key));
      if (offset + delivered == info.size) return Status::Ok();
      return InvalidArgument("offset " + std::to_string(offset) + " is past the end of " +
                             Describe(key) + " (" + std::to_string(info.size) + " bytes)");
    }
    (void)stopped;
    return Status::Ok();
  }

  Status PutFile(const std::string& key, const fs::path& src, const PutOptions& o) override {
    RETURN_IF_ERROR(ValidateKey(key));
    int fd = open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == ENOENT) return NotFound("upload source " + src.string() + " does not exist");
      return PermissionDenied("cannot read " + src.string() + ": " + ErrnoText(e));
    }
    struct Closer {
      int fd;
      ~Closer() { close(fd); }
    } closer{fd};
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      return InvalidArgument("upload source " + src.string() + " is not a regular file");
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > c_.multipart_threshold) return PutMultipart(key, fd, size, o);
    auto r = Call("PUT " + Describe(key), [&](HttpRequest& q) {
      q.method = "PUT";
      q.path = ObjectPath(key);
      AddPutHeaders(q, key, o);
      q.body = HttpRequest::Body::kFile;
      q.fd = fd;
      q.file_offset = 0;
      q.file_length = size;
      return Status::Ok();
    });
    return r.status();
  }

  Status PutBytes(const std::string& key, std::string_view data, const PutOptions& o) override {
    RETURN_IF_ERROR(ValidateKey(key));
    auto r = Call("PUT " + Describe(key), [&](HttpRequest& q) {
      q.method = "PUT";
      q.path = ObjectPath(key);
      AddPutHeaders(q, key, o);
      q.body = HttpRequest::Body::kBytes;
      q.bytes = data;
      return Status::Ok();
    });
    return r.status();
  }

  Status Delete(const std::string& key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    return DeleteRaw(c_.prefix + key);
  }

  Status DeletePrefix(const std::string& prefix) override {
    RETURN_IF_ERROR(internal::ValidatePrefix(prefix, false));
    // Raw listing: keys that break our key rules (written by other clients) go too.
    std::string token;
    for (;;) {
      ASSIGN_OR_RETURN(RawPage page, ListRaw(c_.prefix + prefix, token, kMaxListKeys));
      std::vector<std::string> keys;
      for (const ObjectInfo& o : page.objects) keys.push_back(o.key);
      if (!keys.empty()) RETURN_IF_ERROR(DeleteBatch(keys));
      if (page.next_token.empty()) return Status::Ok();
      token = page.next_token;
    }
  }

  std::string Url() const override { return c_.url; }

  Result<std::string> Presign(const std::string& method, const std::string& key, int64_t expires_s,
                              const PresignOptions& o) override {
    RETURN_IF_ERROR(ValidateKey(key));
    if (method != "GET" && method != "PUT" && method != "HEAD" && method != "DELETE") {
      return InvalidArgument("cannot presign method '" + method + "'");
    }
    if (expires_s < 1 || expires_s > 604800) {
      return InvalidArgument("presign expiry must be 1..604800 seconds (7 days)");
    }
    sigv4::Request r;
    r.method = method;
    r.canonical_uri = ObjectPath(key);
    r.headers.emplace_back("host", host_header_);
    if (!o.content_type.empty()) r.headers.emplace_back("content-type", o.content_type);
    std::string date = sigv4::AmzDate(o.now.value_or(std::chrono::system_clock::now()));
    return base_ + r.canonical_uri + "?" +
           sigv4::PresignQuery(r, c_.creds, c_.region, "s3", date, expires_s);
  }

 private:
  struct RawPage {
    std::vector<ObjectInfo> objects;  // full keys, store prefix included
    std::string next_token;
  };

  std::string Describe(const std::string& key) const {
    return "s3://" + c_.bucket + "/" + c_.prefix + key;
  }
  std::string BucketPath() const { return c_.path_style ? "/" + c_.bucket : "/"; }
  std::string ObjectPath(const std::string& key) const { return RawObjectPath(c_.prefix + key); }
  std::string RawObjectPath(const std::string& full_key) const {
    return (c_.path_style ? "/" + c_.bucket + "/" : "/") + sigv4::UriEncode(full_key, true);
  }

  void AddPutHeaders(HttpRequest& q, const std::string& key, const PutOptions& o) const {
    q.headers.emplace_back("content-type",
                           o.content_type.empty() ? GuessContentType(key) : o.content_type);
    if (!o.cache_control.empty()) q.headers.emplace_back("cache-control", o.cache_control);
  }

  // The query string as sent: the canonical one, except that valueless flags ("uploads",
  // "delete") go without '=' as other S3 clients send them (both canonicalise the same).
  static std::string WireQuery(const Params& query) {
    std::vector<std::pair<std::string, std::string>> enc;
    for (const auto& [k, v] : query) {
      enc.emplace_back(sigv4::UriEncode(k, false), sigv4::UriEncode(v, false));
    }
    std::sort(enc.begin(), enc.end());
    std::string out;
    for (const auto& [k, v] : enc) {
      if (!out.empty()) out.push_back('&');
      out += k;
      if (!v.empty()) out += "=" + v;
    }
    return out;
  }

  Result<HttpResponse> PerformOnce(const HttpRequest& req) {
    CURL* h = pool_.Get();
    if (h == nullptr) return Internal("curl_easy_init failed");
    struct Releaser {
      HandlePool& pool;
      CURL* h;
      curl_slist* list = nullptr;
      ~Releaser() {
        curl_slist_free_all(list);
        pool.Put(h);
      }
    } rel{pool_, h};

    std::string amz_date = sigv4::AmzDate(std::chrono::system_clock::now());
    std::string payload_hash;
    switch (req.body) {
      case HttpRequest::Body::kNone:
        payload_hash = std::string(sigv4::kEmptySha256);
        break;
      case HttpRequest::Body::kBytes:
        payload_hash = sigv4::Sha256Hex(req.bytes);
        break;
      case HttpRequest::Body::kFile:
        payload_hash = std::string(sigv4::kUnsignedPayload);
        break;
    }
    sigv4::Request sr;
    sr.method = req.method;
    sr.canonical_uri = req.path;
    sr.query = req.query;
    sr.payload_hash = payload_hash;
    sr.headers = {
        {"host", host_header_}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", payload_hash}};
    if (!c_.creds.session_token.empty()) {
      sr.headers.emplace_back("x-amz-security-token", c_.creds.session_token);
    }
    for (const auto& hv : req.headers) sr.headers.push_back(hv);
    sigv4::Signature sig = sigv4::Sign(sr, c_.creds, c_.region, "s3", amz_date);

    for (const auto& [k, v] : sr.headers) {
      rel.list = curl_slist_append(rel.list, (k + ": " + v).c_str());
    }
    rel.list = curl_slist_append(rel.list, ("authorization: " + sig.authorization).c_str());
    // No "Expect: 100-continue" round trip; and no default Accept/Content-Type from curl.
    rel.list = curl_slist_append(rel.list, "Expect:");
    if (req.method == "POST" && req.body == HttpRequest::Body::kNone) {
      bool has_ct = std::any_of(req.headers.begin(), req.headers.end(),
                                [](const auto& p) { return Lower(p.first) == "content-type"; });
      if (!has_ct) rel.list = curl_slist_append(rel.list, "Content-Type:");
    }

    std::string url = base_ + req.path;
    if (!req.query.empty()) url += "?" + WireQuery(req.query);

    Transfer t;
    t.req = &req;
    t.h = h;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    // A stalled transfer (under 1 byte/s for 60 s) fails and is retried; no total time limit,
    // since a large video may take long on a slow link.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hlsforge/0.1");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, rel.list);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    uint64_t body_size = req.body == HttpRequest::Body::kBytes  ? req.bytes.size()
                         : req.body == HttpRequest::Body::kFile ? req.file_length
                                                                : 0;
    if (req.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
    } else if (req.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_size));
    } else if (req.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    if (req.method == "PUT" || req.method == "POST") {
      curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, OnSeek);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
    }

    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t.resp.status);
    if (rc != CURLE_OK && !t.resp.stopped_early) {
      if (!t.local.ok()) return t.local;
      long os_errno = 0;
      curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
      std::string reason = os_errno != 0 ? ErrnoText(static_cast<int>(os_errno))
                                         : std::string(curl_easy_strerror(rc));
      std::string detail = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
      if (RetryableTransport(rc)) {
        return Unavailable("cannot reach " + c_.endpoint.ToString() + ": " + reason + " (" +
                           req.method + " " + url.substr(0, url.find('?')) + ": " + detail + ")");
      }
      if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
        return FailedPrecondition("TLS verification failed for " + c_.endpoint.ToString() + ": " +
                                  detail);
      }
      return Internal("S3 request " + req.method + " " + url + " failed: " + detail);
    }
    if (t.resp.status >= 200 && t.resp.status < 300 && req.sink && !t.headers_announced &&
        req.on_headers) {
      req.on_headers(t.resp.status, t.resp.headers);  // empty body: still announce
    }
    return std::move(t.resp);
  }

  static std::string S3ErrorField(const std::string& body, const char* field) {
    pugi::xml_document doc;
    if (body.empty() || !doc.load_buffer(body.data(), body.size())) return "";
    return doc.child("Error").child_value(field);
  }

  Status HttpError(const HttpResponse& r, const std::string& what) const {
    std::string code = S3ErrorField(r.body, "Code");
    std::string message = S3ErrorField(r.body, "Message");
    std::string msg = what + ": HTTP " + std::to_string(r.status);
    if (!code.empty()) msg += " " + code;
    if (!message.empty()) msg += ": " + message;
    if (code == "InvalidAccessKeyId") {
      msg += " (access key id '" + c_.creds.access_key_id + "' at " + c_.endpoint.ToString() + ")";
    } else if (code == "NoSuchBucket") {
      msg += " (bucket '" + c_.bucket + "' at " + c_.endpoint.ToString() + ")";
    } else if (code.empty() && r.body.empty()) {
      msg += " (no error body)";
    }
    switch (r.status) {
      case 401:
      case 403:
        return PermissionDenied(msg);
      case 404:
        return NotFound(msg);
      case 400:
        if (code == "RequestTimeout") return Unavailable(msg);
        return InvalidArgument(msg);
      case 405:
      case 409:
      case 412:
      case 501:
        return FailedPrecondition(msg);
      case 416:
        return InvalidArgument(msg);
      case 429:
        return Unavailable(msg);
      default:
        if (r.status >= 500) return Unavailable(msg);
        return Internal(msg);
    }
  }

  static bool RetryableHttp(const HttpResponse& r) {
    if (r.status >= 500 && r.status != 501) return true;
    if (r.status == 429) return true;
    return r.status == 400 && S3ErrorField(r.body, "Code") == "RequestTimeout";
  }

  // Builds (via `build`, once per attempt) and performs a request with retries. 2xx responses
  // (and statuses `pass_through` accepts) are returned; other statuses become a Status.
  Result<HttpResponse> Call(const std::string& what,
                            const std::function<Status(HttpRequest&)>& build,
                            const std::function<bool(long)>& pass_through = nullptr) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    Status last;
    for (int attempt = 0;; ++attempt) {
      HttpRequest req;
      RETURN_IF_ERROR(build(req));
      auto r = PerformOnce(req);
      int64_t retry_after_ms = 0;
      if (r.ok()) {
        if ((r->status >= 200 && r->status < 300) || (pass_through && pass_through(r->status))) {
          return r;
        }
        last = HttpError(*r, what);
        if (!RetryableHttp(*r)) return last;
        if (auto it = r->headers.find("retry-after"); it != r->headers.end()) {
          retry_after_ms = std::min<int64_t>(20000, std::atoll(it->second.c_str()) * 1000);
        }
      } else {
        last = r.status();
        if (last.code() != Code::kUnavailable) return last;
      }
      if (attempt >= c_.max_retries) {
        if (attempt == 0) return last;
        return Status(last.code(),
                      last.message() + " (after " + std::to_string(attempt + 1) + " attempts)");
      }
      // Exponential backoff with jitter: 100 ms, 200 ms, ... capped at 5 s, each drawn
      // uniformly from [d/2, d] so many workers do not retry in lockstep.
      int64_t d = std::min<int64_t>(5000, int64_t{100} << std::min(attempt, 10));
      std::uniform_int_distribution<int64_t> dist(d / 2, d);
      int64_t sleep_ms = std::max(dist(rng), retry_after_ms);
      HF_LOG_WARN("s3 {} failed (attempt {}/{}), retrying in {} ms: {}", what, attempt + 1,
                  c_.max_retries + 1, sleep_ms, last.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    }
  }

  static int64_t ParseIsoMs(const std::string& s) {
    std::tm tm{};
    int ms = 0;
    int n = std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms);
    if (n < 6) return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm)) * 1000 + (n == 7 ? ms : 0);
  }

  Result<RawPage> ListRaw(const std::string& full_prefix, const std::string& token, int max_keys) {
    std::string what = "LIST s3://" + c_.bucket + "/" + full_prefix;
    auto r = Call(what, [&](HttpRequest& q) {
      q.path = BucketPath();
      q.query.emplace_back("list-type", "2");
      q.query.emplace_back("max-keys", std::to_string(std::min(max_keys, kMaxListKeys)));
      if (!full_prefix.empty()) q.query.emplace_back("prefix", full_prefix);
      if (!token.empty()) q.query.emplace_back("continuation-token", token);
      return Status::Ok();
    });
    if (!r.ok()) return r.status();
    pugi::xml_document doc;
    if (!doc.load_buffer(r->body.data(), r->body.size())) {
      return Internal(what + ": unreadable XML in the listing");
    }
    pugi::xml_node root = doc.child("ListBucketResult");
    if (!root) return Internal(what + ": listing without ListBucketResult");
    RawPage page;
    for (pugi::xml_node c : root.children("Contents")) {
      ObjectInfo o;
      o.key = c.child_value("Key");
      o.size = std::strtoull(c.child_value("Size"), nullptr, 10);
      o.etag = StripQuotes(c.child_value("ETag"));
      o.mtime_ms = ParseIsoMs(c.child_value("LastModified"));
      page.objects.push_back(std::move(o));
    }
    if (std::string(root.child_value("IsTruncated")) == "true") {
      page.next_token = root.child_value("NextContinuationToken");
      if (page.next_token.empty()) {
        return Internal(what + ": truncated listing without a continuation token");
      }
    }
    return page;
  }

  Status DeleteRaw(const std::string& full_key) {
    std::string what = "DELETE s3://" + c_.bucket + "/" + full_key;
    auto r = Call(
        what,
        [&](HttpRequest& q) {
          q.method = "DELETE";
          q.path = RawObjectPath(full_key);
          return Status::Ok();
        },
        [](long status) { return status == 404; });
    if (!r.ok()) return r.status();
    if (r->status == 404 && S3ErrorField(r->body, "Code") != "NoSuchKey" && !r->body.empty()) {
      return HttpError(*r, what);  // NoSuchBucket and the like are real errors
    }
    return Status::Ok();
  }

  Status DeleteBatch(const std::vector<std::string>& full_keys) {
    if (!batch_delete_unsupported_.load()) {
      pugi::xml_document doc;
      pugi::xml_node del = doc.append_child("Delete");
      del.append_child("Quiet").text().set("true");
      for (const std::string& k : full_keys) {
        del.append_child("Object").append_child("Key").text().set(k.c_str());
      }
      std::ostringstream xml;
      doc.save(xml, "", pugi::format_raw);
      std::string body = xml.str();
      std::string what =
          "DELETE " + std::to_string(full_keys.size()) + " keys in s3://" + c_.bucket;
      auto r = Call(
          what,
          [&](HttpRequest& q) {
            q.method = "POST";
            q.path = BucketPath();
            q.query.emplace_back("delete", "");
            q.headers.emplace_back("content-type", "application/xml");
            q.headers.emplace_back("content-md5", sigv4::Base64(sigv4::Md5(body)));
            q.body = HttpRequest::Body::kBytes;
            q.bytes = body;
            return Status::Ok();
          },
          [](long status) { return status == 501 || status == 405; });
      if (!r.ok()) return r.status();
      if (r->status == 200) {
        pugi::xml_document res;
        if (res.load_buffer(r->body.data(), r->body.size())) {
          pugi::xml_node err = res.child("DeleteResult").child("Error");
          if (err) {
            std::string code = err.child_value("Code");
            return Status(code == "AccessDenied" ? Code::kPermissionDenied : Code::kUnavailable,
                          what + ": could not delete '" + std::string(err.child_value("Key")) +
                              "': " + code + ": " + err.child_value("Message"));
          }
        }
        return Status::Ok();
      }
      HF_LOG_INFO("s3 {}: batch delete not implemented by the server, deleting one by one",
                  c_.endpoint.ToString());
      batch_delete_unsupported_ = true;
    }
    for (const std::string& k : full_keys) RETURN_IF_ERROR(DeleteRaw(k));
    return Status::Ok();
  }

  Status PutMultipart(const std::string& key, int fd, uint64_t size, const PutOptions& o) {
    std::string what = "multipart PUT " + Describe(key);
    uint64_t part = std::max(c_.part_size, (size + kMaxParts - 1) / kMaxParts);
    auto created = Call(what + " (create)", [&](HttpRequest& q) {
      q.method = "POST";
      q.path = ObjectPath(key);
      q.query.emplace_back("uploads", "");
      AddPutHeaders(q, key, o);
      return Status::Ok();
    });
    if (!created.ok()) return created.status();
    pugi::xml_document doc;
    doc.load_buffer(created->body.data(), created->body.size());
    std::string upload_id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
    if (upload_id.empty()) return Internal(what + ": no UploadId in the answer");

    Status s = [&]() -> Status {
      std::vector<std::string> etags;
      for (uint64_t off = 0, n = 1; off < size; off += part, ++n) {
        uint64_t len = std::min(part, size - off);
        auto r = Call(what + " (part " + std::to_string(n) + ")", [&](HttpRequest& q) {
          q.method = "PUT";
          q.path = ObjectPath(key);
          q.query.emplace_back("partNumber", std::to_string(n));
          q.query.emplace_back("uploadId", upload_id);
          q.body = HttpRequest::Body::kFile;
          q.fd = fd;
          q.file_offset = off;
          q.file_length = len;
          return Status::Ok();
        });
        if (!r.ok()) return r.status();
        auto it = r->headers.find("etag");
        if (it == r->headers.end())
          return Internal(what + ": part " + std::to_string(n) + " has no ETag");
        etags.push_back(it->second);
      }
      pugi::xml_document body_doc;
      pugi::xml_node root = body_doc.append_child("CompleteMultipartUpload");
      for (size_t i = 0; i < etags.size(); ++i) {
        pugi::xml_node p = root.append_child("Part");
        p.append_child("PartNumber").text().set(std::to_string(i + 1).c_str());
        p.append_child("ETag").text().set(etags[i].c_str());
      }
      std::ostringstream xml;
      body_doc.save(xml, "", pugi::format_raw);
      std::string body = xml.str();
      auto done = Call(what + " (complete)", [&](HttpRequest& q) {
        q.method = "POST";
        q.path = ObjectPath(key);
        q.query.emplace_back("uploadId", upload_id);
        q.headers.emplace_back("content-type", "application/xml");
        q.body = HttpRequest::Body::kBytes;
        q.bytes = body;
        return Status::Ok();
      });
      if (!done.ok()) return done.status();
      // S3 may answer 200 and still fail the completion, with an <Error> body.
      if (!S3ErrorField(done->body, "Code").empty()) {
        HttpResponse as_error = *done;
        as_error.status = 500;
        return HttpError(as_error, what + " (complete)");
      }
      return Status::Ok();
    }();
    if (!s.ok()) {
      auto aborted = Call(what + " (abort)", [&](HttpRequest& q) {
        q.method = "DELETE";
        q.path = ObjectPath(key);
        q.query.emplace_back("uploadId", upload_id);
        return Status::Ok();
      });
      if (!aborted.ok()) {
        HF_LOG_WARN(
            "s3 {}: abort of upload {} failed (parts may linger until a lifecycle rule "
            "removes them): {}",
            what, upload_id, aborted.status().message());
      }
    }
    return s;
  }

  Config c_;
  std::string host_header_;
  std::string base_;
  HandlePool pool_;
  std::atomic<bool> batch_delete_unsupported_{false};
};

}  // namespace

Result<std::unique_ptr<S3Store>> S3Store::Open(const std::string& url, const StoreOptions& o) {
  ASSIGN_OR_RETURN(Config c, ParseConfig(url, o));
  return std::unique_ptr<S3Store>(std::make_unique<S3StoreImpl>(std::move(c)));
}

namespace internal {
Result<std::unique_ptr<ObjectStore>> OpenS3StoreForFactory(const std::string& url,
                                                           const StoreOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<S3Store> s, S3Store::Open(url, options));
  return std::unique_ptr<ObjectStore>(std::move(s));
}
}  // namespace internal

}  // namespace hlsforge::storage
