// `hlsforge serve` end to end on embedded defaults: files copied into upload/ come out as
// valid HLS under hls/encode/, the catalog lists exactly the ready videos, and the service
// survives restarts and SIGKILL without duplicates or half-published output.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "testutil/testutil.h"

namespace hlsforge::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create({}, "hlsforge-serve-");
    ASSERT_TRUE(t.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*t));
    data_ = tmp_->path() / "data";
    media_ = tmp_->path() / "media";
    fs::create_directories(data_ / "upload");
  }
  void TearDown() override {
    if (HasFailure() && server_.pid() > 0) std::cerr << "---- serve log ----\n" << server_.Log();
    server_.Stop(SIGKILL);
  }

  void StartServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {HlsforgeBin(), "serve", "--data", data_.string(), "--port", "0",
                                     "--poll-interval", poll_interval_, "--lease", "3", "--worker-timeout", "3",
                                     // Other tests load the machine; CPU headroom is tested in
                                     // unit tests, here every worker must get work.
                                     "--max-cpu", "100"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    // A fresh log per start, so the port read below is this start's.
    ASSERT_TRUE(server_.Start(argv, tmp_->path() / ("serve-" + std::to_string(++starts_) + ".log")).ok());
    std::regex re("http://127\\.0\\.0\\.1:(\\d+)/api/videos");
    port_ = 0;
    ASSERT_TRUE(WaitFor([&] {
      std::smatch m;
      std::string log = server_.Log();
      if (std::regex_search(log, m, re)) port_ = std::stoi(m[1]);
      return port_ > 0;
    }, 20)) << server_.Log();
  }

  // Copies a file into the upload bucket the way a user would (cp; not atomic).
  void Drop(const fs::path& src, const std::string& name) {
    fs::path dst = data_ / "upload" / name;
    fs::create_directories(dst.parent_path());
    fs::copy_file(src, dst, fs::copy_options::overwrite_existing);
  }

  json Videos() {
    auto body = HttpGet(port_, "/api/videos?limit=1000");
    if (!body.ok()) return json::array();
    return json::parse(*body)["items"];
  }

  json VideoByName(const std::string& name) {
    for (const auto& v : Videos()) if (v["name"] == name) return v;
    return nullptr;
  }

  bool AllSettled(size_t n) {
    auto v = Videos();
    if (v.size() != n) return false;
    for (const auto& x : v) {
      std::string s = x["state"];
      if (s != "ready" && s != "failed") return false;
    }
    return true;
  }

  std::vector<std::string> CatalogNames() {
    std::vector<std::string> names;
    auto text = ReadFile(data_ / "hls" / "encode" / "master.m3u8");
    if (!text.ok()) return names;
    std::regex re("NAME=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(text->begin(), text->end(), re); it != std::sregex_iterator(); ++it) {
      names.push_back((*it)[1]);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  void ExpectValid(const std::string& slug) {
    fs::path master = data_ / "hls" / "encode" / slug / "master.m3u8";
    ASSERT_TRUE(fs::exists(master)) << master;
    auto r = RunHlsforge({"validate", master.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  Result<fs::path> Clip(double seconds, int w = 320, int h = 180, const std::string& name = "") {
    ClipSpec s;
    s.width = w;
    s.height = h;
    s.seconds = seconds;
    return MakeClip(media_, s, name);
  }

  std::unique_ptr<TempDir> tmp_;
  std::string poll_interval_ = "0.2";
  fs::path data_, media_;
  ChildProcess server_;
  int port_ = 0;
  int starts_ = 0;
};

TEST_F(ServeTest, TwoClipsAndGarbage) {
  auto a = Clip(2.0);
  auto b = Clip(3.0, 480, 270);
  ASSERT_TRUE(a.ok() && b.ok());
  StartServer();
  Drop(*a, "first clip.mp4");
  Drop(*b, "second.mov");
  std::ofstream(data_ / "upload" / "garbage.mp4") << "this is not a video at all\n";
  ASSERT_TRUE(WaitFor([&] { return AllSettled(3); }, 180)) << Videos().dump(2);

  auto first = VideoByName("first clip.mp4");
  auto second = VideoByName("second.mov");
  auto garbage = VideoByName("garbage.mp4");
  EXPECT_EQ(first["state"], "ready");
  EXPECT_EQ(second["state"], "ready");
  EXPECT_EQ(garbage["state"], "failed");
  EXPECT_FALSE(garbage["retryable"].get<bool>());
  EXPECT_FALSE(garbage["error"].get<std::string>().empty());
  ExpectValid(first["slug"]);
  ExpectValid(second["slug"]);
  EXPECT_EQ(CatalogNames(), (std::vector<std::string>{"first clip.mp4", "second.mov"}));
  EXPECT_FALSE(fs::exists(data_ / "hls" / "encode" / garbage["slug"].get<std::string>()));

  // The catalog and a video play through the built-in /hls/ server.
  std::string url = "http://127.0.0.1:" + std::to_string(port_) + "/hls/encode/" +
                    second["slug"].get<std::string>() + "/master.m3u8";
  double d = ProbeDuration(url);
  EXPECT_NEAR(d, 3.0, 0.2) << url;
  auto detail = HttpGet(port_, "/api/videos/" + std::to_string(second["id"].get<int64_t>()));
  ASSERT_TRUE(detail.ok());
  auto dj = json::parse(*detail);
  EXPECT_FALSE(dj["renditions"].empty());
  EXPECT_EQ(dj["job"]["state"], "ready");
  EXPECT_TRUE(dj["job"]["timings"].contains("encode_s"));

  // Restart: the same objects are not queued again.
  EXPECT_EQ(server_.Stop(SIGTERM), 0);
  StartServer();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto jobs_before = Videos();
  EXPECT_EQ(jobs_before.size(), 3u);
  for (const auto& v : jobs_before) {
    std::string s = v["state"];
    EXPECT_TRUE(s == "ready" || s == "failed") << v.dump();
  }

  // A new version of the same name is encoded again and replaces the old output.
  auto longer = Clip(6.0, 320, 180, "longer.mp4");
  ASSERT_TRUE(longer.ok());
  int64_t old_job = first["published_job_id"];
  Drop(*longer, "first clip.mp4");
  ASSERT_TRUE(WaitFor([&] {
    auto v = VideoByName("first clip.mp4");
    return v.is_object() && v["state"] == "ready" && v["published_job_id"].get<int64_t>() != old_job;
  }, 120)) << Videos().dump(2);
  auto slug = VideoByName("first clip.mp4")["slug"].get<std::string>();
  ExpectValid(slug);
  // It plays straight from the folder: the media playlists name bare files, no "?v=" query.
  EXPECT_NEAR(ProbeDuration((data_ / "hls" / "encode" / slug / "master.m3u8").string()), 6.0, 0.2);
  auto index = ReadFile(data_ / "hls" / "encode" / slug / "0" / "index.m3u8");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->find('?'), std::string::npos) << *index;
  for (auto& e : fs::recursive_directory_iterator(data_ / "hls" / "encode" / slug)) {
    EXPECT_EQ(e.path().string().find("staging"), std::string::npos) << e.path();
  }
  EXPECT_EQ(CatalogNames(), (std::vector<std::string>{"first clip.mp4", "second.mov"}));
}

// The folder bucket notifies (inotify): a copied file is queued once it has settled (1 s old),
// not at the next poll. With a 60 s interval, only the notification can make it in time.
TEST_F(ServeTest, CopiedFileIsQueuedWithoutWaitingForThePoll) {
  auto clip = Clip(1.0);
  ASSERT_TRUE(clip.ok());
  poll_interval_ = "60";
  StartServer();
  ASSERT_TRUE(WaitFor([&] { return server_.Log().find("notifies changes") != std::string::npos; }, 10))
      << server_.Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the first poll has run
  Drop(*clip, "sub folder/late.mp4");  // a folder that did not exist when the watch started
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return VideoByName("sub folder/late.mp4").is_object(); }, 20))
      << Videos().dump(2);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 15.0) << "queued only after " << s << " s: the poll found it, not the notification";
  ASSERT_TRUE(WaitFor([&] { return VideoByName("sub folder/late.mp4")["state"] == "ready"; }, 120))
      << Videos().dump(2);
}

TEST_F(ServeTest, SigkillMidEncodeResumesWithoutDuplicates) {
  auto clip = Clip(20.0, 640, 360);
  ASSERT_TRUE(clip.ok());
  StartServer({"--workers", "1", "--threads", "1"});
  Drop(*clip, "long.mp4");
  ASSERT_TRUE(WaitFor([&] {
    auto v = VideoByName("long.mp4");
    return v.is_object() && v["state"] == "encoding";
  }, 60)) << Videos().dump(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server_.Stop(SIGKILL);
  // Nothing of the video is reachable: no master was published.
  EXPECT_FALSE(fs::exists(data_ / "hls" / "encode" / "long.mp4" / "master.m3u8"));
  StartServer({"--workers", "1"});
  ASSERT_TRUE(WaitFor([&] {
    auto v = VideoByName("long.mp4");
    return v.is_object() && v["state"] == "ready";
  }, 240)) << Videos().dump(2);
  EXPECT_EQ(Videos().size(), 1u);
  ExpectValid("long.mp4");
  EXPECT_EQ(CatalogNames(), (std::vector<std::string>{"long.mp4"}));
  auto jobs = HttpGet(port_, "/api/videos/" + std::to_string(VideoByName("long.mp4")["id"].get<int64_t>()));
  ASSERT_TRUE(jobs.ok());
  EXPECT_GE(json::parse(*jobs)["job"]["attempts"].get<int>(), 2);
}

TEST_F(ServeTest, TenVideosOverTwoWorkers) {
  auto clip = Clip(2.0, 160, 90);
  ASSERT_TRUE(clip.ok());
  StartServer({"--workers", "2"});
  for (int i = 0; i < 10; ++i) Drop(*clip, "v" + std::to_string(i) + ".mp4");
  ASSERT_TRUE(WaitFor([&] { return AllSettled(10); }, 240)) << Videos().dump(2);
  std::set<std::string> workers;
  for (const auto& v : Videos()) {
    EXPECT_EQ(v["state"], "ready") << v.dump();
    auto d = json::parse(HttpGet(port_, "/api/videos/" + std::to_string(v["id"].get<int64_t>())).value());
    workers.insert(d["job"]["worker_id"].get<std::string>());
  }
  EXPECT_EQ(workers.size(), 2u);
  auto names = CatalogNames();
  EXPECT_EQ(names.size(), 10u);
}

TEST_F(ServeTest, HostileNamesStayInsideTheBucket) {
  auto clip = Clip(2.0, 160, 90);
  ASSERT_TRUE(clip.ok());
  StartServer({"--workers", "2"});
  std::vector<std::string> names = {"with space.mp4", "ünïcødé 视频.mp4", "dots..in..middle.mp4",
                                    "sub/dir/nested.mp4", std::string(240, 'L') + ".mp4",
                                    "quote\"and#hash%.mp4"};
  for (const auto& n : names) Drop(*clip, n);
  // Hidden files (a leading '.') are never taken: editors and OSes leave them around.
  Drop(*clip, "..hidden.mp4");
  Drop(*clip, "sub/.also-hidden.mp4");
  ASSERT_TRUE(WaitFor([&] { return AllSettled(names.size()); }, 240)) << Videos().dump(2);
  EXPECT_TRUE(VideoByName("..hidden.mp4").is_null());
  for (const auto& v : Videos()) {
    EXPECT_EQ(v["state"], "ready") << v.dump();
    ExpectValid(v["slug"]);
  }
  EXPECT_EQ(CatalogNames().size(), names.size());
  // Nothing outside hls/encode/ besides what we made.
  for (auto& e : fs::directory_iterator(data_)) {
    std::string f = e.path().filename();
    EXPECT_TRUE(f == "upload" || f == "hls" || f == "scratch" || f == "api-token" || f.starts_with("hlsforge.db")) << f;
  }
  for (auto& e : fs::directory_iterator(data_ / "hls")) EXPECT_EQ(e.path().filename(), "encode");
  // Deleting a source keeps its output (the documented default).
  fs::remove(data_ / "upload" / "with space.mp4");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto v = VideoByName("with space.mp4");
  EXPECT_EQ(v["state"], "ready");
  EXPECT_TRUE(fs::exists(data_ / "hls" / "encode" / v["slug"].get<std::string>() / "master.m3u8"));
  EXPECT_FALSE(v["source_deleted_ms"].is_null());
}

}  // namespace
}  // namespace hlsforge::testing
