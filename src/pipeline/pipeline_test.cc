// Pipeline unit tests on in-process backends (memory store, SQLite in memory, local
// coordinator) with a fake encoder, so that the publish order, the dedup and the lease rules
// are checked without running ffmpeg. The real encoder runs in tests/integration.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "common/fs.h"
#include "pipeline/publisher.h"
#include "pipeline/scheduler.h"
#include "pipeline/watcher.h"
#include "pipeline/worker.h"

namespace hlsforge::pipeline {
namespace {
namespace fs = std::filesystem;

// Wraps a store and, after every change, checks that every playlist a player can reach from
// encode/master.m3u8 or a video master names only files that exist.
class CheckingStore : public storage::ObjectStore {
 public:
  explicit CheckingStore(std::unique_ptr<storage::ObjectStore> inner) : inner_(std::move(inner)) {}
  Result<storage::ListPage> List(const std::string& p, const std::string& t, int m) override { return inner_->List(p, t, m); }
  Result<storage::ObjectInfo> Head(const std::string& k) override { return inner_->Head(k); }
  Status GetToFile(const std::string& k, const fs::path& d) override { return inner_->GetToFile(k, d); }
  Result<std::string> GetBytes(const std::string& k, uint64_t m) override { return inner_->GetBytes(k, m); }
  Status ReadRange(const std::string& k, uint64_t o, uint64_t l, const std::function<bool(const char*, size_t)>& s) override { return inner_->ReadRange(k, o, l, s); }
  Status PutFile(const std::string& k, const fs::path& s, const storage::PutOptions& o) override {
    RETURN_IF_ERROR(inner_->PutFile(k, s, o));
    Check("put " + k);
    return Status::Ok();
  }
  Status PutBytes(const std::string& k, std::string_view d, const storage::PutOptions& o) override {
    RETURN_IF_ERROR(inner_->PutBytes(k, d, o));
    Check("put " + k);
    return Status::Ok();
  }
  Status Delete(const std::string& k) override {
    RETURN_IF_ERROR(inner_->Delete(k));
    Check("delete " + k);
    return Status::Ok();
  }
  Status DeletePrefix(const std::string& p) override {
    RETURN_IF_ERROR(inner_->DeletePrefix(p));
    Check("delete " + p);
    return Status::Ok();
  }
  std::string Url() const override { return inner_->Url(); }

  std::vector<std::string> violations() {
    std::lock_guard<std::mutex> l(mu_);
    return violations_;
  }
  std::map<std::string, std::string> content_types;

 private:
  static std::vector<std::string> Uris(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line[0] != '#') out.push_back(line.substr(0, line.find('?')));
    }
    return out;
  }
  static std::string Dir(const std::string& key) { return key.substr(0, key.rfind('/') + 1); }

  void CheckMaster(const std::string& key, const std::string& why) {
    auto text = inner_->GetBytes(key, 1 << 20);
    if (!text.ok()) return;
    for (const auto& u : Uris(*text)) {
      std::string pl = Dir(key) + u;
      auto media = inner_->GetBytes(pl, 1 << 20);
      if (!media.ok()) {
        violations_.push_back(why + ": " + key + " names missing " + pl);
        continue;
      }
      for (const auto& seg : Uris(*media)) {
        if (!inner_->Head(Dir(pl) + seg).ok()) {
          violations_.push_back(why + ": " + pl + " names missing " + Dir(pl) + seg);
        }
      }
    }
  }

  void Check(const std::string& why) {
    std::lock_guard<std::mutex> l(mu_);
    CheckMaster("encode/master.m3u8", why);
    std::string token;
    do {
      auto page = inner_->List("encode/", token, 1000);
      if (!page.ok()) return;
      for (const auto& o : page->objects) {
        // encode/<slug>/master.m3u8
        if (o.key.ends_with("/master.m3u8") && o.key != "encode/master.m3u8" &&
            std::count(o.key.begin(), o.key.end(), '/') == 2) {
          CheckMaster(o.key, why);
        }
      }
      token = page->next_token;
    } while (!token.empty());
  }

  std::unique_ptr<storage::ObjectStore> inner_;
  std::mutex mu_;
  std::vector<std::string> violations_;
};

// Writes a package of `rungs` renditions with `segments` segments each; content carries a
// version tag so tests can tell versions apart.
class FakeEncoder : public Encoder {
 public:
  int segments = 3;
  int rungs = 2;
  std::string tag = "v1";
  Status fail;  // returned instead of encoding when not OK
  std::atomic<int> calls{0};

  Result<EncodeOutput> Encode(const EncodeRequest& req) override {
    calls++;
    if (!fail.ok()) return fail;
    if (req.on_progress) req.on_progress(50, 1.0);
    EncodeOutput out;
    out.source = {{"duration", 2.0 * segments}, {"width", 1280}, {"height", 720}};
    std::string master = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
    for (int r = 0; r < rungs; ++r) {
      fs::create_directories(req.outdir / std::to_string(r));
      std::string pl = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n";
      for (int n = 0; n < segments; ++n) {
        std::ofstream(req.outdir / std::to_string(r) / (std::to_string(n) + ".ts")) << tag << " r" << r << " n" << n;
        pl += "#EXTINF:2.000,\n" + std::to_string(n) + ".ts\n";
      }
      pl += "#EXT-X-ENDLIST\n";
      std::ofstream(req.outdir / std::to_string(r) / "index.m3u8") << pl;
      int h = r == 0 ? 360 : 720;
      master += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(1000000 * (r + 1)) +
                ",RESOLUTION=" + std::to_string(h * 16 / 9) + "x" + std::to_string(h) + "\n" +
                std::to_string(r) + "/index.m3u8\n";
      RenditionFacts f;
      f.index = r;
      f.label = std::to_string(h) + "p";
      f.width = h * 16 / 9;
      f.height = h;
      f.bandwidth = 1000000 * (r + 1);
      f.average_bandwidth = 900000 * (r + 1);
      f.codecs = "avc1.64001f,mp4a.40.2";
      f.frame_rate = 30;
      f.segments = segments;
      out.renditions.push_back(f);
    }
    std::ofstream(req.outdir / "master.m3u8") << master;
    return out;
  }
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto up = storage::OpenObjectStore("memory://upload-" + std::to_string(counter_++));
    ASSERT_TRUE(up.ok()) << up.status();
    upload_ = std::move(*up);
    auto h = storage::OpenObjectStore("memory://hls-" + std::to_string(counter_++));
    ASSERT_TRUE(h.ok()) << h.status();
    hls_ = std::make_unique<CheckingStore>(std::move(*h));
    auto st = state::OpenStateStore("sqlite://:memory:");
    ASSERT_TRUE(st.ok()) << st.status();
    state_ = std::move(*st);
    auto c = coord::OpenCoordinator("local://");
    ASSERT_TRUE(c.ok()) << c.status();
    coord_ = std::move(*c);
    auto tmp = TempDir::Create();
    ASSERT_TRUE(tmp.ok());
    scratch_ = std::make_unique<TempDir>(std::move(*tmp));
    config_.settle_age = std::chrono::milliseconds(0);
    config_.settle_recheck = std::chrono::milliseconds(0);
    config_.scratch_dir = scratch_->path().string();
    config_.retry_base = std::chrono::milliseconds(1);
  }

  Backends backends() { return {upload_.get(), hls_.get(), state_.get(), coord_.get()}; }

  void Upload(const std::string& key, const std::string& content) {
    ASSERT_TRUE(upload_->PutBytes(key, content).ok());
  }

  std::vector<std::string> HlsKeys() {
    std::vector<std::string> keys;
    auto page = hls_->List("", "", 1000);
    for (const auto& o : page->objects) keys.push_back(o.key);
    return keys;
  }

  state::Video VideoNamed(const std::string& name) {
    state::VideoQuery q;
    q.limit = 1000;
    for (const auto& v : state_->ListVideos(q).value()) {
      if (v.name == name) return v;
    }
    ADD_FAILURE() << "no video " << name;
    return {};
  }

  static inline int counter_ = 0;
  std::unique_ptr<storage::ObjectStore> upload_;
  std::unique_ptr<CheckingStore> hls_;
  std::unique_ptr<state::StateStore> state_;
  std::unique_ptr<coord::Coordinator> coord_;
  std::unique_ptr<TempDir> scratch_;
  PipelineConfig config_;
  FakeEncoder encoder_;
};

TEST_F(PipelineTest, WatcherQueuesEachVersionOnce) {
  Upload("a.mp4", "one");
  Upload("b.mp4", "two");
  Upload("c.mp4.part", "still uploading");  // not a candidate
  Watcher w(backends(), config_);
  auto s1 = w.PollOnce();
  ASSERT_TRUE(s1.ok()) << s1.status();
  EXPECT_EQ(s1->queued, 2);
  EXPECT_EQ(w.PollOnce()->queued, 0);
  // A new watcher (a restart) queues nothing either: the state store remembers.
  Watcher w2(backends(), config_);
  EXPECT_EQ(w2.PollOnce()->queued, 0);
  // New content under the same name is a new version.
  Upload("a.mp4", "one, edited");
  EXPECT_EQ(w2.PollOnce()->queued, 1);
  state::JobQuery q;
  q.limit = 100;
  EXPECT_EQ(state_->ListJobs(q)->size(), 3u);
}

TEST_F(PipelineTest, WatcherWaitsForStableObjects) {
  config_.settle_recheck = std::chrono::milliseconds(150);
  Upload("a.mp4", "partial");
  Watcher w(backends(), config_);
  auto first = w.PollOnce();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->queued, 0);
  EXPECT_EQ(first->waiting, 1);
  // Due one re-check delay after the first sighting, not a whole poll interval later.
  EXPECT_GT(first->next_due_ms, NowMs());
  EXPECT_LE(first->next_due_ms, NowMs() + 150);
  Upload("a.mp4", "partial, then more");  // still being written: the wait starts again
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(w.PollOnce()->queued, 0);
  EXPECT_EQ(w.PollOnce()->queued, 0);  // unchanged, but not for long enough yet
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto last = w.PollOnce();
  EXPECT_EQ(last->queued, 1);  // unchanged for 150 ms
  EXPECT_EQ(last->next_due_ms, 0);
}

TEST_F(PipelineTest, WatcherTakesOldFilesAtFirstSightAndYoungOnesWhenTheyAge) {
  // A folder bucket: a file whose mtime is settle_age old is complete; a fresher one is due
  // exactly when it reaches that age.
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  auto up = storage::OpenObjectStore("file://" + dir->path().string());
  ASSERT_TRUE(up.ok()) << up.status();
  upload_ = std::move(*up);
  config_.settle_age = std::chrono::milliseconds(400);
  Upload("old.mp4", "finished long ago");
  std::filesystem::last_write_time(dir->path() / "old.mp4",
                                   std::filesystem::file_time_type::clock::now() - std::chrono::seconds(5));
  Upload("young.mp4", "just written");
  Upload("future.mp4", "stamped a day ahead");  // clock skew: must not wait a day
  std::filesystem::last_write_time(dir->path() / "future.mp4",
                                   std::filesystem::file_time_type::clock::now() + std::chrono::hours(24));
  Watcher w(backends(), config_);
  auto s = w.PollOnce();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->queued, 1);
  EXPECT_EQ(s->waiting, 2);
  EXPECT_GT(s->next_due_ms, NowMs());
  EXPECT_LE(s->next_due_ms, NowMs() + 400);
  const int64_t deadline = NowMs() + 400;
  while (NowMs() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto s2 = w.PollOnce();
  EXPECT_EQ(s2->queued, 2);
  EXPECT_EQ(s2->waiting, 0);
}

TEST_F(PipelineTest, WatcherPaginates) {
  for (int i = 0; i < 2100; ++i) Upload("v" + std::to_string(i) + ".mp4", "x");
  Watcher w(backends(), config_);
  auto s = w.PollOnce();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->listed, 2100);
  EXPECT_EQ(s->queued, 2100);
}

TEST_F(PipelineTest, HeadroomPicksTheFreestWorker) {
  int64_t now = NowMs();
  state::WorkerInfo busy;
  busy.id = "busy";
  busy.cpu_percent = 80;
  busy.mem_total_bytes = 8ll << 30;
  busy.mem_available_bytes = 4ll << 30;
  busy.capacity = 2;
  busy.last_heartbeat_ms = now;
  state::WorkerInfo idle = busy;
  idle.id = "idle";
  idle.cpu_percent = 5;
  idle.mem_available_bytes = 6ll << 30;
  EXPECT_GT(Headroom(idle, 0, now, 15000), Headroom(busy, 0, now, 15000));
  // Full, overloaded, out of memory or lost: nothing.
  EXPECT_LT(Headroom(idle, 2, now, 15000), 0);
  state::WorkerInfo hot = idle;
  hot.cpu_percent = 99;
  EXPECT_LT(Headroom(hot, 0, now, 15000), 0);
  state::WorkerInfo nomem = idle;
  nomem.mem_available_bytes = 1 << 20;
  EXPECT_LT(Headroom(nomem, 0, now, 15000), 0);
  state::WorkerInfo lost = idle;
  lost.last_heartbeat_ms = now - 60000;
  EXPECT_LT(Headroom(lost, 0, now, 15000), 0);
}

TEST_F(PipelineTest, EncodesPublishesAndCatalogs) {
  Upload("a.mp4", "one");
  Upload("b b.mp4", "two");
  Watcher w(backends(), config_);
  ASSERT_TRUE(w.PollOnce().ok());
  Worker worker(backends(), config_, {.id = "w1", .take_unassigned = true}, &encoder_);
  EXPECT_TRUE(worker.RunOneJob());
  EXPECT_TRUE(worker.RunOneJob());
  EXPECT_FALSE(worker.RunOneJob());
  auto a = VideoNamed("a.mp4");
  EXPECT_EQ(a.state, state::JobState::kReady);
  EXPECT_NE(a.published_job_id, 0);
  auto keys = HlsKeys();
  std::set<std::string> ks(keys.begin(), keys.end());
  EXPECT_TRUE(ks.count("encode/a.mp4/master.m3u8"));
  EXPECT_TRUE(ks.count("encode/a.mp4/1/2.ts"));
  EXPECT_TRUE(ks.count("encode/master.m3u8"));
  auto b = VideoNamed("b b.mp4");
  EXPECT_TRUE(ks.count("encode/" + b.slug + "/0/index.m3u8"));
  auto catalog = hls_->GetBytes("encode/master.m3u8", 1 << 20);
  ASSERT_TRUE(catalog.ok());
  EXPECT_NE(catalog->find("NAME=\"a.mp4\""), std::string::npos) << *catalog;
  EXPECT_NE(catalog->find("NAME=\"b b.mp4\""), std::string::npos) << *catalog;
  EXPECT_NE(catalog->find("a.mp4/1/index.m3u8"), std::string::npos) << *catalog;  // 720p rung
  auto head = hls_->Head("encode/a.mp4/0/0.ts");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->content_type, "video/mp2t");
  EXPECT_EQ(hls_->Head("encode/a.mp4/master.m3u8")->content_type, "application/vnd.apple.mpegurl");
  EXPECT_TRUE(hls_->violations().empty()) << hls_->violations().front();
  // Scratch is cleaned.
  EXPECT_TRUE(fs::is_empty(fs::path(config_.scratch_dir) / "w1"));
}

TEST_F(PipelineTest, NewVersionSwapsWithoutABrokenWindow) {
  Upload("a.mp4", "one");
  Watcher w(backends(), config_);
  Worker worker(backends(), config_, {.id = "w1", .take_unassigned = true}, &encoder_);
  ASSERT_TRUE(w.PollOnce().ok());
  encoder_.segments = 5;
  encoder_.rungs = 2;
  ASSERT_TRUE(worker.RunOneJob());
  auto v1_playlist = hls_->GetBytes("encode/a.mp4/0/index.m3u8", 1 << 20).value();
  Upload("a.mp4", "one, version two");
  ASSERT_EQ(w.PollOnce()->queued, 1);
  encoder_.segments = 2;  // the new version is shorter and has one rung fewer
  encoder_.rungs = 1;
  encoder_.tag = "v2";
  ASSERT_TRUE(worker.RunOneJob());
  auto keys = HlsKeys();
  std::set<std::string> ks(keys.begin(), keys.end());
  EXPECT_FALSE(ks.count("encode/a.mp4/0/4.ts")) << "old segments must be gone";
  EXPECT_FALSE(ks.count("encode/a.mp4/1/index.m3u8")) << "old rung must be gone";
  for (const auto& k : keys) EXPECT_EQ(k.find("staging"), std::string::npos) << k;
  EXPECT_EQ(hls_->GetBytes("encode/a.mp4/0/1.ts", 100).value(), "v2 r0 n1");
  EXPECT_TRUE(hls_->violations().empty()) << hls_->violations().front();
  EXPECT_EQ(VideoNamed("a.mp4").state, state::JobState::kReady);
  // The keys 0/0.ts, 0/1.ts now hold new bytes; the URLs players fetch must be new too, or a
  // cache that kept v1's "immutable" segment would serve it inside v2.
  auto uri_lines = [](const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty() && l[0] != '#') out.insert(l);
    }
    return out;
  };
  auto v2_playlist = hls_->GetBytes("encode/a.mp4/0/index.m3u8", 1 << 20).value();
  auto u1 = uri_lines(v1_playlist), u2 = uri_lines(v2_playlist);
  ASSERT_EQ(u1.size(), 5u);
  ASSERT_EQ(u2.size(), 2u);
  for (const auto& u : u2) {
    EXPECT_NE(u.find(".ts?v="), std::string::npos) << u;
    EXPECT_EQ(u1.count(u), 0u) << u << " is also a URL of the old version";
  }
}

TEST_F(PipelineTest, BadInputFailsAtOnceWithReason) {
  Upload("junk.mp4", "not a video");
  Watcher w(backends(), config_);
  ASSERT_TRUE(w.PollOnce().ok());
  encoder_.fail = BadInput("not a video: no video stream");
  Worker worker(backends(), config_, {.id = "w1", .take_unassigned = true}, &encoder_);
  ASSERT_TRUE(worker.RunOneJob());
  EXPECT_FALSE(worker.RunOneJob());  // not retried
  auto v = VideoNamed("junk.mp4");
  EXPECT_EQ(v.state, state::JobState::kFailed);
  EXPECT_FALSE(v.retryable);
  EXPECT_NE(v.error.find("no video stream"), std::string::npos) << v.error;
  EXPECT_TRUE(HlsKeys().empty());
}

TEST_F(PipelineTest, TransientFailureIsRetriedWithBackoffThenSucceeds) {
  Upload("a.mp4", "one");
  Watcher w(backends(), config_);
  ASSERT_TRUE(w.PollOnce().ok());
  encoder_.fail = Unavailable("disk hiccup");
  Worker worker(backends(), config_, {.id = "w1", .take_unassigned = true}, &encoder_);
  ASSERT_TRUE(worker.RunOneJob());
  auto v = VideoNamed("a.mp4");
  EXPECT_EQ(v.state, state::JobState::kQueued);
  encoder_.fail = Status::Ok();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(worker.RunOneJob());
  EXPECT_EQ(VideoNamed("a.mp4").state, state::JobState::kReady);
  auto job = state_->GetJob(VideoNamed("a.mp4").latest_job_id);
  EXPECT_EQ((*job)->attempts, 2);
}

TEST_F(PipelineTest, WorkerThatLostItsLeasePublishesNothing) {
  Upload("a.mp4", "one");
  Watcher w(backends(), config_);
  ASSERT_TRUE(w.PollOnce().ok());
  auto claimed = state_->ClaimJob("late", NowMs(), 1, true);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  state::Job stale = **claimed;
  // The lease expires and the job goes to someone else.
  ASSERT_TRUE(state_->RequeueExpired(NowMs() + 10000, 0).ok());
  auto taken = state_->ClaimJob("other", NowMs(), 60000, true);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  Worker late(backends(), config_, {.id = "late"}, &encoder_);
  late.RunJob(stale);
  EXPECT_TRUE(HlsKeys().empty()) << HlsKeys().front();
  auto job = state_->GetJob(stale.id);
  EXPECT_EQ((*job)->worker_id, "other");
  EXPECT_NE((*job)->state, state::JobState::kReady);
}

TEST_F(PipelineTest, SchedulerAssignsToLiveWorkersAndWorkersRunThem) {
  for (int i = 0; i < 6; ++i) Upload("v" + std::to_string(i) + ".mp4", "x" + std::to_string(i));
  Watcher w(backends(), config_);
  ASSERT_TRUE(w.PollOnce().ok());
  config_.capacity = 1;
  // Heartbeats carry this host's real CPU: on a busy test machine one of them may read above
  // 95 % and (rightly) get nothing. This test is about spreading, not admission control.
  config_.max_cpu_percent = 100;
  Worker w1(backends(), config_, {.id = "w1"}, &encoder_);
  Worker w2(backends(), config_, {.id = "w2"}, &encoder_);
  w1.SendHeartbeat();
  w2.SendHeartbeat();
  Scheduler sched(backends(), config_, "test");
  for (int round = 0; round < 10; ++round) {
    auto s = sched.RunOnce();
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_LE(s->assigned, 2);  // capacity 1 each
    w1.RunOneJob();
    w2.RunOneJob();
  }
  state::VideoQuery q;
  q.state = state::JobState::kReady;
  EXPECT_EQ(state_->CountVideos(q).value(), 6);
  auto catalog = hls_->GetBytes("encode/master.m3u8", 1 << 20).value();
  for (int i = 0; i < 6; ++i) {
    EXPECT_NE(catalog.find("NAME=\"v" + std::to_string(i) + ".mp4\""), std::string::npos);
  }
  std::set<std::string> workers;
  state::JobQuery jq;
  jq.limit = 100;
  for (const auto& j : state_->ListJobs(jq).value()) workers.insert(j.worker_id);
  EXPECT_EQ(workers, (std::set<std::string>{"w1", "w2"}));
}

TEST_F(PipelineTest, ConcurrentPublishesLoseNoCatalogEntry) {
  for (int i = 0; i < 10; ++i) Upload("v" + std::to_string(i) + ".mp4", "x" + std::to_string(i));
  Watcher w(backends(), config_);
  ASSERT_TRUE(w.PollOnce().ok());
  config_.capacity = 2;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(std::make_unique<Worker>(backends(), config_,
                                               WorkerOptions{.id = "w" + std::to_string(i), .take_unassigned = true},
                                               &encoder_));
  }
  for (auto& wk : workers) wk->Start();
  state::VideoQuery q;
  q.state = state::JobState::kReady;
  for (int i = 0; i < 200 && state_->CountVideos(q).value() < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& wk : workers) wk->Stop();
  EXPECT_EQ(state_->CountVideos(q).value(), 10);
  auto catalog = hls_->GetBytes("encode/master.m3u8", 1 << 20).value();
  for (int i = 0; i < 10; ++i) {
    EXPECT_NE(catalog.find("NAME=\"v" + std::to_string(i) + ".mp4\""), std::string::npos) << catalog;
  }
  EXPECT_TRUE(hls_->violations().empty()) << hls_->violations().front();
}

TEST_F(PipelineTest, DeletedSourceKeepsOutputByDefault) {
  Upload("a.mp4", "one");
  Watcher w(backends(), config_);
  ASSERT_TRUE(w.PollOnce().ok());
  Worker worker(backends(), config_, {.id = "w1", .take_unassigned = true}, &encoder_);
  ASSERT_TRUE(worker.RunOneJob());
  ASSERT_TRUE(upload_->Delete("a.mp4").ok());
  ASSERT_TRUE(w.PollOnce().ok());
  EXPECT_TRUE(hls_->Head("encode/a.mp4/master.m3u8").ok());
  EXPECT_NE(VideoNamed("a.mp4").deleted_ms, 0);
}

TEST_F(PipelineTest, DeletedSourceRemovesOutputWhenConfigured) {
  config_.delete_output_with_source = true;
  Upload("a.mp4", "one");
  Upload("b.mp4", "two");
  Watcher w(backends(), config_);
  ASSERT_TRUE(w.PollOnce().ok());
  Worker worker(backends(), config_, {.id = "w1", .take_unassigned = true}, &encoder_);
  ASSERT_TRUE(worker.RunOneJob());
  ASSERT_TRUE(worker.RunOneJob());
  ASSERT_TRUE(upload_->Delete("a.mp4").ok());
  ASSERT_TRUE(w.PollOnce().ok());
  EXPECT_FALSE(hls_->Head("encode/a.mp4/master.m3u8").ok());
  auto catalog = hls_->GetBytes("encode/master.m3u8", 1 << 20).value();
  EXPECT_EQ(catalog.find("a.mp4"), std::string::npos) << catalog;
  EXPECT_NE(catalog.find("b.mp4"), std::string::npos) << catalog;
}

}  // namespace
}  // namespace hlsforge::pipeline
