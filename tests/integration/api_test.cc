// The admin API of `hlsforge serve` over real HTTP: every route, its errors, bearer auth on
// every mutating route, size limits, path safety of /hls/, the SSE stream, and hostile input.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "api/server.h"
#include "common/fs.h"
#include "testutil/testutil.h"

namespace hlsforge::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kToken[] = "test-token-123";

// Sends a raw request head (no body) and returns the first line of the answer: proves a
// refusal comes from the headers alone, before any body byte.
std::string RawHead(int port, const std::string& head) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!write(fd, head.data(), head.size());
  // Reads until the server closes (refusals close the connection) or 64 KiB.
  std::string out;
  char buf[4096];
  ssize_t n;
  while (out.size() < 65536 && (n = read(fd, buf, sizeof buf)) > 0) out.append(buf, buf + n);
  close(fd);
  return out;
}

std::string PctEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string o;
  for (unsigned char c : s) {
    o += '%';
    o += hex[c >> 4];
    o += hex[c & 15];
  }
  return o;
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }
  void Start(std::vector<std::string> extra) {
    signal(SIGPIPE, SIG_IGN);  // the server may close while a refused body is still being sent
    auto t = TempDir::Create({}, "hlsforge-api-");
    ASSERT_TRUE(t.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*t));
    data_ = tmp_->path() / "data";
    std::vector<std::string> argv = {HlsforgeBin(), "serve", "--data",          data_.string(),
                                     "--port",      "0",     "--poll-interval", "0.2",
                                     "--max-cpu",   "100",   "--workers",       "1",
                                     "--api-token", kToken,  "--max-upload-mb", "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(
        server_.Start(argv, tmp_->path() / ("serve" + std::to_string(++starts_) + ".log")).ok());
    std::regex re("http://127\\.0\\.0\\.1:(\\d+)/api/videos");
    ASSERT_TRUE(WaitFor(
        [&] {
          std::smatch m;
          std::string log = server_.Log();
          if (std::regex_search(log, m, re)) port_ = std::stoi(m[1]);
          return port_ > 0;
        },
        20))
        << server_.Log();
    cli_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    cli_->set_read_timeout(30, 0);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- serve log ----\n" << server_.Log();
    server_.Stop(SIGKILL);
  }
  httplib::Headers Auth() { return {{"Authorization", std::string("Bearer ") + kToken}}; }

  // Asserts the JSON error shape and returns the code.
  static std::string ErrorCode(const httplib::Result& r) {
    if (!r) return "<no response>";
    auto j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.contains("error")) return "<not an error body: " + r->body + ">";
    EXPECT_TRUE(j["error"]["message"].is_string());
    return j["error"]["code"];
  }

  fs::path Clip(const std::string& name, int w = 320, int h = 180, double secs = 2) {
    ClipSpec spec;
    spec.width = w;
    spec.height = h;
    spec.seconds = secs;
    spec.fps = 25;
    auto p = MakeClip(tmp_->path(), spec, name);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? *p : fs::path();
  }

  json Upload(const fs::path& file, const std::string& name) {
    auto bytes = ReadFile(file);
    EXPECT_TRUE(bytes.ok());
    httplib::MultipartFormDataItems items = {{"file", *bytes, name, "video/mp4"}};
    auto r = cli_->Post("/api/uploads", Auth(), items);
    EXPECT_TRUE(r) << "no response";
    if (!r) return nullptr;
    EXPECT_EQ(r->status, 201) << r->body;
    return json::parse(r->body, nullptr, false);
  }

  json Get(const std::string& path, int want = 200) {
    auto r = cli_->Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return nullptr;
    EXPECT_EQ(r->status, want) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  bool WaitState(int64_t id, const std::string& state, double secs) {
    return WaitFor(
        [&] {
          auto r = cli_->Get("/api/videos/" + std::to_string(id));
          return r && r->status == 200 && json::parse(r->body)["state"] == state;
        },
        secs);
  }

  std::unique_ptr<TempDir> tmp_;
  fs::path data_;
  ChildProcess server_;
  int port_ = 0;
  int starts_ = 0;
  std::unique_ptr<httplib::Client> cli_;
};

TEST_F(ApiTest, OpenApiDocumentsEveryRegisteredRoute) {
  json doc = Get("/api/openapi.json");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  for (const auto& r : api::Routes()) {
    ASSERT_TRUE(doc["paths"].contains(r.path)) << r.path;
    EXPECT_TRUE(doc["paths"][r.path].contains(r.method)) << r.method << " " << r.path;
    // Every documented route exists: it never answers "no route".
    std::string path = std::regex_replace(r.path, std::regex("\\{id\\}"), "1");
    path = std::regex_replace(path, std::regex("\\{key\\}"), "encode/master.m3u8");
    if (path == "/api/events") continue;  // a stream; covered by its own test
    httplib::Result res = r.method == "get"    ? cli_->Get(path, Auth())
                          : r.method == "post" ? cli_->Post(path, Auth(), "", "application/json")
                                               : cli_->Delete(path, Auth());
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->body.find("no route"), std::string::npos)
        << r.method << " " << path << " " << res->body;
    EXPECT_LT(res->status, 500) << r.method << " " << path;
  }
}

TEST_F(ApiTest, MutatingRoutesNeedTheToken) {
  for (const auto& r : api::Routes()) {
    if (!r.mutating) continue;
    std::string path = std::regex_replace(r.path, std::regex("\\{id\\}"), "1");
    for (const httplib::Headers& h :
         {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer wrong-token-xyz"}},
          httplib::Headers{{"Authorization", "Basic dGVzdDp0ZXN0"}},
          httplib::Headers{{"Authorization", "Bearer "}}}) {
      auto res =
          r.method == "post" ? cli_->Post(path, h, "x", "text/plain") : cli_->Delete(path, h);
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 401) << r.method << " " << path;
      EXPECT_EQ(ErrorCode(res), "UNAUTHENTICATED");
    }
  }
  // Read routes are open by default.
  Get("/api/videos");
  EXPECT_TRUE(api::TokenEquals("abc", "abc"));
  EXPECT_FALSE(api::TokenEquals("abc", "abd"));
  EXPECT_FALSE(api::TokenEquals("", ""));
  EXPECT_FALSE(api::TokenEquals("abc", "abcd"));
}

TEST_F(ApiTest, UploadRunsThePipelineAndVideoRoutesWork) {
  json up = Upload(Clip("a.mp4"), "My Clip.mp4");
  ASSERT_TRUE(up.is_object());
  EXPECT_EQ(up["name"], "My Clip.mp4");
  ASSERT_TRUE(up["id"].is_number()) << up.dump();
  int64_t id = up["id"];
  // Raw body upload with ?name=.
  auto bytes = ReadFile(Clip("b.mp4"));
  auto raw = cli_->Post("/api/uploads?name=raw.mp4", Auth(), *bytes, "video/mp4");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 201) << raw->body;

  ASSERT_TRUE(WaitState(id, "ready", 120)) << Get("/api/videos/" + std::to_string(id)).dump();
  json v = Get("/api/videos/" + std::to_string(id));
  EXPECT_TRUE(v["source"].is_object());
  EXPECT_FALSE(v["renditions"].empty());
  EXPECT_TRUE(v["job"]["timings"].contains("encode_s"));
  EXPECT_GE(v["job"]["attempts"].get<int>(), 1);
  std::string master = v["playback"]["master"];
  auto m = cli_->Get(master);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("#EXTM3U"), std::string::npos);

  // Filters, search, pagination.
  json list = Get("/api/videos?state=ready&q=My%20Clip&limit=10");
  ASSERT_EQ(list["items"].size(), 1u) << list.dump();
  EXPECT_EQ(Get("/api/videos?limit=1")["items"].size(), 1u);
  EXPECT_EQ(Get("/api/videos?q=nothing-like-this")["items"].size(), 0u);
  EXPECT_FALSE(Get("/api/jobs?video_id=" + std::to_string(id))["items"].empty());
  EXPECT_TRUE(WaitFor([&] { return Get("/api/catalog")["items"].size() >= 1; }, 30));
  json stats = Get("/api/stats");
  EXPECT_GE(stats["encodes_last_hour"].get<int>(), 1);
  EXPECT_TRUE(stats["mean_encode_speed"].is_number());
  json workers = Get("/api/workers")["items"];
  ASSERT_FALSE(workers.empty());
  EXPECT_TRUE(workers[0]["alive"].get<bool>());
  auto metrics = cli_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("hlsforge_jobs{state=\"ready\"}"), std::string::npos);
  EXPECT_NE(metrics->body.find("hlsforge_encode_seconds_count"), std::string::npos);
  EXPECT_NE(
      metrics->body.find(
          "hlsforge_http_requests_total{method=\"GET\",route=\"/api/videos\",status=\"200\"}"),
      std::string::npos);
  EXPECT_NE(metrics->body.find("hlsforge_worker_cpu_percent"), std::string::npos);

  // Operator actions: retry needs failed/cancelled; cancel needs unfinished.
  auto retry = cli_->Post("/api/videos/" + std::to_string(id) + "/retry", Auth(), "", "text/plain");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, 409);
  auto cancel =
      cli_->Post("/api/videos/" + std::to_string(id) + "/cancel", Auth(), "", "text/plain");
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 409);
  // Delete removes output and catalog entry.
  auto del = cli_->Delete("/api/videos/" + std::to_string(id), Auth());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200) << del->body;
  Get("/api/videos/" + std::to_string(id), 404);
  EXPECT_EQ(cli_->Get(master)->status, 404);
  for (const auto& e : Get("/api/catalog")["items"]) EXPECT_NE(e["name"], "My Clip.mp4");
}

TEST_F(ApiTest, CancelThenRetry) {
  // No worker can start it at once? It may; cancel works either way (queued or running).
  json up = Upload(Clip("c.mp4", 320, 180, 4), "cancel-me.mp4");
  ASSERT_TRUE(up["id"].is_number());
  std::string id = std::to_string(up["id"].get<int64_t>());
  auto c = cli_->Post("/api/videos/" + id + "/cancel", Auth(), "", "text/plain");
  ASSERT_TRUE(c);
  if (c->status == 409) GTEST_SKIP() << "finished before cancel: " << c->body;
  EXPECT_EQ(c->status, 202) << c->body;
  ASSERT_TRUE(WaitState(up["id"], "cancelled", 60));
  auto r = cli_->Post("/api/videos/" + id + "/retry", Auth(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_TRUE(WaitState(up["id"], "ready", 120));
}

TEST_F(ApiTest, BadInputGetsClear4xx) {
  struct Case {
    std::string path;
    int status;
  };
  for (const Case& c : std::vector<Case>{{"/api/videos?state=bogus", 400},
                                         {"/api/videos?limit=abc", 400},
                                         {"/api/videos?limit=-1", 400},
                                         {"/api/videos?limit=99999999", 400},
                                         {"/api/videos?offset=1e9", 400},
                                         {"/api/videos/abc", 400},
                                         {"/api/videos/999999", 404},
                                         {"/api/videos/99999999999999999999999", 400},
                                         {"/api/jobs?state=nope", 400},
                                         {"/api/jobs?video_id=x", 400},
                                         {"/api/does-not-exist", 404}}) {
    auto r = cli_->Get(c.path);
    ASSERT_TRUE(r) << c.path;
    EXPECT_EQ(r->status, c.status) << c.path << " " << r->body;
    ErrorCode(r);
  }
  // Unknown ids on mutating routes.
  for (std::string p : {"/api/videos/424242/retry", "/api/videos/424242/cancel"}) {
    auto r = cli_->Post(p, Auth(), "", "text/plain");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << p;
  }
  EXPECT_EQ(cli_->Delete("/api/videos/424242", Auth())->status, 404);
  EXPECT_EQ(cli_->Delete("/api/videos/zz", Auth())->status, 400);
  // Presign on a file backend: a clear 409, never 500.
  auto p = cli_->Post("/api/uploads/presign", Auth(), "{not json", "application/json");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 409) << p->body;
  EXPECT_NE(p->body.find("S3"), std::string::npos);
  // Upload names the watcher or the store would refuse.
  for (std::string name : {"", ".hidden.mp4", "..", "a%00b.mp4", "x.mp4.part", "dir/"}) {
    auto r = cli_->Post("/api/uploads?name=" + name, Auth(), "abc", "video/mp4");
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(r->status, 400) << "name '" << name << "': " << r->body;
  }
  // Multipart without a file part.
  httplib::MultipartFormDataItems items = {{"note", "hello", "", "text/plain"}};
  auto r = cli_->Post("/api/uploads", Auth(), items);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  // Empty raw body.
  EXPECT_EQ(cli_->Post("/api/uploads?name=empty.mp4", Auth(), "", "video/mp4")->status, 400);
}

TEST_F(ApiTest, SizeLimitsAnswer413) {
  // Declared too large: refused from Content-Length before any body byte is read.
  httplib::Client raw("127.0.0.1", port_);
  auto r =
      raw.Post("/api/uploads?name=big.mp4", {{"Authorization", std::string("Bearer ") + kToken}},
               std::string(2 << 20, 'x'), "video/mp4");
  if (r) EXPECT_EQ(r->status, 413);  // or the connection closes while the body is still sent
  // Chunked (no Content-Length): counted while streaming.
  size_t sent = 0;
  auto c = raw.Post(
      "/api/uploads?name=big2.mp4", {{"Authorization", std::string("Bearer ") + kToken}},
      [&](size_t, httplib::DataSink& sink) {
        std::string chunk(64 << 10, 'y');
        if (sent >= (3u << 20)) {
          sink.done();
          return true;
        }
        sent += chunk.size();
        return sink.write(chunk.data(), chunk.size());
      },
      "video/mp4");
  if (c) EXPECT_EQ(c->status, 413) << c->body;
  // Non-upload routes take only small bodies; both answer from the headers alone.
  std::string auth = std::string("Authorization: Bearer ") + kToken + "\r\n";
  std::string a =
      RawHead(port_, "POST /api/videos/1/retry HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                         auth + "Content-Length: 2000000\r\n\r\n");
  EXPECT_TRUE(a.starts_with("HTTP/1.1 413")) << a;
  std::string b = RawHead(
      port_, "POST /api/uploads?name=huge.mp4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth +
                 "Content-Length: 99999999999999\r\n\r\n");
  EXPECT_TRUE(b.starts_with("HTTP/1.1 413")) << b;
  EXPECT_NE(b.find("PAYLOAD_TOO_LARGE"), std::string::npos);
  // Without the token the body is not read either.
  std::string c2 = RawHead(port_,
                           "POST /api/uploads?name=x.mp4 HTTP/1.1\r\nHost: x\r\nConnection: "
                           "close\r\nContent-Length: 5000\r\n\r\n");
  EXPECT_TRUE(c2.starts_with("HTTP/1.1 401")) << c2;
  EXPECT_FALSE(fs::exists(data_ / "upload" / "big.mp4"));
  EXPECT_FALSE(fs::exists(data_ / "upload" / "big2.mp4"));
  EXPECT_EQ(Get("/healthz")["status"], "ok");
}

// The embedded bucket is a folder: its playlists name bare "<n>.ts" files (so they play from
// disk), whose URLs do not change with a new version, so /hls/ must make caches revalidate
// them rather than call them immutable; the ETag turns a revalidation into a 304.
TEST_F(ApiTest, HlsSegmentsFromAFolderRevalidate) {
  fs::create_directories(data_ / "hls" / "encode" / "v" / "0");
  ASSERT_TRUE(WriteFileAtomic(data_ / "hls" / "encode" / "v" / "0" / "0.ts", "segment-v1").ok());
  auto r = cli_->Get("/hls/encode/v/0/0.ts");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "segment-v1");
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache");
  const std::string etag = r->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  auto same = cli_->Get("/hls/encode/v/0/0.ts", {{"If-None-Match", etag}});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 304);
  EXPECT_TRUE(same->body.empty());
  // New bytes at the same key (a new file: new inode and size, so a new ETag): the old validator
  // no longer matches, the new body comes.
  ASSERT_TRUE(WriteFileAtomic(data_ / "hls" / "encode" / "v" / "0" / "0.ts", "segment-v2!").ok());
  auto changed = cli_->Get("/hls/encode/v/0/0.ts", {{"If-None-Match", etag}});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);
  EXPECT_EQ(changed->body, "segment-v2!");
  EXPECT_NE(changed->get_header_value("ETag"), etag);
  for (std::string bogus : {std::string(4000, '"'), etag.substr(0, etag.size() - 2) + "\"", etag}) {
    auto b = cli_->Get("/hls/encode/v/0/0.ts", {{"If-None-Match", bogus}});
    ASSERT_TRUE(b);
    EXPECT_EQ(b->status, 200) << bogus;
    EXPECT_EQ(b->body, "segment-v2!");
  }
}

TEST_F(ApiTest, HlsNeverReadsOutsideTheBucket) {
  fs::create_directories(data_ / "hls" / "encode");
  ASSERT_TRUE(WriteFileAtomic(data_ / "secret.txt", "SECRET").ok());
  ASSERT_TRUE(WriteFileAtomic(data_ / "hls" / "encode" / "ok.m3u8", "#EXTM3U\n").ok());
  EXPECT_EQ(cli_->Get("/hls/encode/ok.m3u8")->status, 200);
  for (std::string p :
       {"/hls/../secret.txt", "/hls/%2e%2e/secret.txt", "/hls/%2E%2E%2Fsecret.txt",
        "/hls/encode/../../secret.txt", "/hls//etc/passwd", "/hls/%2fetc%2fpasswd",
        "/hls/encode/%00", "/hls/..%5csecret.txt", "/hls/../api-token", "/hls/./encode/ok.m3u8"}) {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get(p);
    if (!r) continue;  // refused at the HTTP level is fine too
    EXPECT_TRUE(r->status == 400 || r->status == 404) << p << " -> " << r->status;
    EXPECT_EQ(r->body.find("SECRET"), std::string::npos) << p;
  }
}

TEST_F(ApiTest, EventStreamSeesAVideoChange) {
  std::atomic<bool> got{false};
  std::string seen;
  std::thread reader([&] {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    c.Get("/api/events", [&](const char* d, size_t n) {
      seen.append(d, n);
      if (seen.find("event: video\n") != std::string::npos) {
        got = true;
        return false;
      }
      return seen.size() < (8 << 20);
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Upload(Clip("e.mp4"), "events.mp4");
  EXPECT_TRUE(WaitFor([&] { return got.load(); }, 20));
  reader.join();
  EXPECT_NE(seen.find("events.mp4"), std::string::npos);
}

TEST_F(ApiTest, ReadAuthAndCorsAreConfigurable) {
  // Default: reads open, CORS "*".
  auto r = cli_->Get("/api/videos");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "*");
  auto pre = cli_->Options("/api/uploads");
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_NE(pre->get_header_value("Access-Control-Allow-Headers").find("Authorization"),
            std::string::npos);
  server_.Stop(SIGTERM);
  port_ = 0;
  Start({"--api-read-auth", "true", "--cors-origin", "https://admin.example"});
  for (std::string p : {"/api/videos", "/api/jobs", "/api/workers", "/api/stats", "/api/catalog",
                        "/metrics", "/api/videos/1", "/api/events"}) {
    auto x = cli_->Get(p);
    ASSERT_TRUE(x) << p;
    EXPECT_EQ(x->status, 401) << p;
  }
  auto ok = cli_->Get("/api/videos", Auth());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("Access-Control-Allow-Origin"), "https://admin.example");
  EXPECT_EQ(cli_->Get(std::string("/api/videos?token=") + kToken)->status, 200);
  EXPECT_EQ(cli_->Get("/api/videos?token=nope")->status, 401);
  EXPECT_EQ(cli_->Get("/healthz")->status, 200);  // probes stay open
}

TEST_F(ApiTest, GeneratedTokenIsKeptAndReused) {
  server_.Stop(SIGTERM);
  auto data = tmp_->path() / "gen";
  std::vector<std::string> argv = {HlsforgeBin(), "serve", "--data",    data.string(),
                                   "--port",      "0",     "--workers", "0"};
  ChildProcess a;
  ASSERT_TRUE(a.Start(argv, tmp_->path() / "gen1.log", {{"HLSFORGE_API_TOKEN", ""}}).ok());
  ASSERT_TRUE(WaitFor([&] { return a.Log().find("/api/videos") != std::string::npos; }, 20))
      << a.Log();
  a.Stop(SIGTERM);
  auto tok = ReadFile(data / "api-token");
  ASSERT_TRUE(tok.ok());
  EXPECT_GE(tok->size(), 32u);
  EXPECT_NE(a.Log().find(tok->substr(0, 32)), std::string::npos) << "token printed at first start";
  EXPECT_EQ(fs::status(data / "api-token").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  ChildProcess b;
  ASSERT_TRUE(b.Start(argv, tmp_->path() / "gen2.log").ok());
  ASSERT_TRUE(WaitFor([&] { return b.Log().find("/api/videos") != std::string::npos; }, 20));
  b.Stop(SIGTERM);
  EXPECT_EQ(*ReadFile(data / "api-token"), *tok) << "reused, not regenerated";
}

TEST_F(ApiTest, HostileRequestsNeverCrashOrAnswer500) {
  std::mt19937 rng(42);
  auto rnd = [&](size_t n) {
    std::string s(n, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng() % 256);
    return s;
  };
  std::vector<std::string> paths = {"/api/videos/",
                                    "/api/videos/1/",
                                    "/api/videos/1/retry/x",
                                    "/api/uploads/presign",
                                    "/api/uploads",
                                    "/api/videos/%ff%fe",
                                    "/api/videos/1%00",
                                    "/api/videos?limit=" + std::string(5000, '9'),
                                    "/api/videos?q=" + std::string(3000, 'q'),
                                    "/hls/",
                                    "/hls/%"};
  for (int i = 0; i < 40; ++i) paths.push_back("/api/videos/" + PctEncode(rnd(1 + rng() % 40)));
  for (const auto& p : paths) {
    for (int m = 0; m < 3; ++m) {
      httplib::Client c("127.0.0.1", port_);
      auto r = m == 0   ? c.Get(p)
               : m == 1 ? c.Post(p, Auth(), rnd(rng() % 2000), "application/json")
                        : c.Delete(p, Auth());
      if (!r) continue;
      EXPECT_LT(r->status, 500) << m << " " << p << " " << r->body;
    }
  }
  // Multipart with garbage boundaries.
  for (int i = 0; i < 10; ++i) {
    httplib::Client c("127.0.0.1", port_);
    auto r =
        c.Post("/api/uploads", Auth(), "--xx\r\n" + rnd(500), "multipart/form-data; boundary=xx");
    if (r) EXPECT_LT(r->status, 500) << r->body;
  }
  EXPECT_EQ(Get("/healthz")["status"], "ok");
  EXPECT_EQ(Get("/readyz")["status"], "ok");
  EXPECT_TRUE(server_.Running());
}

}  // namespace
}  // namespace hlsforge::testing
