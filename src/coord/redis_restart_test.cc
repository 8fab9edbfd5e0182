// Redis flushed, restarted and down in the middle of a run. Uses a private server
// (HF_TEST_REDIS_RESTART_PORT, started by tests/servers/redis.sh), never the shared fixture.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/subprocess.h"
#include "coord/coordinator.h"
#include "coord/redis_coordinator.h"

namespace hlsforge::coord {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class RedisRestartTest : public ::testing::Test {
 protected:
  static std::string Port() { return std::to_string(HF_TEST_REDIS_RESTART_PORT); }
  static Status Server(const std::string& action) {
    SubprocessOptions o;
    o.timeout = std::chrono::seconds(60);
    auto r = RunSubprocess({"bash", std::string(HF_TEST_SERVERS_SCRIPTS) + "/redis.sh", action,
                            std::string(HF_TEST_SERVERS_DIR) + "/redis-restart", Port()},
                           o);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return Internal("redis.sh " + action + ": " + r->err + r->out);
    return Status::Ok();
  }
  static void TearDownTestSuite() { (void)Server("stop"); }
  void SetUp() override {
    ASSERT_TRUE(Server("start").ok());
    url_ = "redis://127.0.0.1:" + Port();
    auto c = OpenCoordinator(url_);
    ASSERT_TRUE(c.ok()) << c.status();
    c_ = std::move(*c);
    // The server outlives a single test: start each one empty.
    ASSERT_TRUE(raw().Command({"FLUSHALL"}).ok());
  }
  RedisCoordinator& raw() { return dynamic_cast<RedisCoordinator&>(*c_); }

  // Waits on a second instance (another "process") and notifies from the first, retrying the
  // notify until the waiter wakes: after a reconnect the subscriber may need a moment.
  bool CrossInstanceWakeUp(Coordinator& waiter_side, const std::string& ch) {
    std::atomic<bool> woken{false};
    std::atomic<bool> done{false};
    std::thread waiter([&] {
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!woken && std::chrono::steady_clock::now() < deadline) {
        auto r = waiter_side.Wait(ch, 500ms);
        if (r.ok() && *r) woken = true;
      }
      done = true;
    });
    while (!done) {
      (void)c_->Notify(ch);
      std::this_thread::sleep_for(100ms);
    }
    waiter.join();
    return woken;
  }

  std::string url_;
  std::unique_ptr<Coordinator> c_;
};

TEST_F(RedisRestartTest, KeepsWorkingAfterFlushAll) {
  auto other = OpenCoordinator(url_);
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(*c_->MarkSeen("a.mp4", "e1"));
  ASSERT_TRUE(*c_->TryLock("catalog", "A", 30s));
  ASSERT_TRUE(c_->PublishHeartbeat("w1", "{}", 30s).ok());

  auto flushed = raw().Command({"FLUSHALL"});
  ASSERT_TRUE(flushed.ok()) << flushed.status();

  // The fast path forgets (the StateStore still dedups), locks are free, heartbeats gone.
  auto seen = c_->MarkSeen("a.mp4", "e1");
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_TRUE(*seen);
  auto again = c_->MarkSeen("a.mp4", "e1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto lock = (*other)->TryLock("catalog", "B", 30s);
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(*lock);
  auto beats = c_->Heartbeats();
  ASSERT_TRUE(beats.ok());
  EXPECT_TRUE(beats->empty());
  EXPECT_TRUE(CrossInstanceWakeUp(**other, "after-flush"));
}

TEST_F(RedisRestartTest, ReconnectsAfterRestart) {
  auto other = OpenCoordinator(url_);
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(*c_->MarkSeen("a.mp4", "e1"));
  EXPECT_TRUE(CrossInstanceWakeUp(**other, "before"));

  ASSERT_TRUE(Server("restart").ok());

  // Pooled connections are dead; the first call reconnects by itself.
  auto seen = c_->MarkSeen("b.mp4", "e1");
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_TRUE(*seen);
  auto lock = c_->TryLock("catalog", "A", 5s);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_TRUE(*lock);
  // Both subscribers come back too.
  EXPECT_TRUE(CrossInstanceWakeUp(**other, "after"));
}

TEST_F(RedisRestartTest, DownIsUnavailableThenRecovers) {
  ASSERT_TRUE(*c_->MarkSeen("a.mp4", "e1"));
  ASSERT_TRUE(Server("stop").ok());

  auto seen = c_->MarkSeen("b.mp4", "e1");
  ASSERT_FALSE(seen.ok());
  EXPECT_EQ(seen.status().code(), Code::kUnavailable);
  EXPECT_THAT(seen.status().message(), HasSubstr("redis://127.0.0.1:" + Port()));
  EXPECT_THAT(seen.status().message(), HasSubstr("Connection refused"));
  EXPECT_EQ(c_->Notify("x").code(), Code::kUnavailable);
  EXPECT_EQ(c_->PublishHeartbeat("w", "{}", 1s).code(), Code::kUnavailable);
  auto locked = ScopedLock::Acquire(*c_, "l", "A", 1s, 300ms);
  EXPECT_EQ(locked.status().code(), Code::kUnavailable);
  // Wait does not spin: it blocks for its timeout, then reports.
  std::this_thread::sleep_for(200ms);  // let the subscriber notice
  const auto start = std::chrono::steady_clock::now();
  auto w = c_->Wait("x", 300ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 280ms);
  if (!w.ok()) {
    EXPECT_EQ(w.status().code(), Code::kUnavailable);
  } else {
    EXPECT_FALSE(*w);
  }
  auto fresh = OpenCoordinator(url_);
  ASSERT_FALSE(fresh.ok());
  EXPECT_EQ(fresh.status().message(),
            "cannot reach redis://127.0.0.1:" + Port() + ": Connection refused");

  ASSERT_TRUE(Server("start").ok());
  auto back = c_->MarkSeen("b.mp4", "e1");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back);
  auto other = OpenCoordinator(url_);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(CrossInstanceWakeUp(**other, "recovered"));
}

TEST_F(RedisRestartTest, WrongPasswordIsPermissionDenied) {
  auto c = OpenCoordinator("redis://:wrongpass@127.0.0.1:" + Port());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kPermissionDenied) << c.status();
  EXPECT_THAT(c.status().message(), ::testing::Not(HasSubstr("wrongpass")));
}

}  // namespace
}  // namespace hlsforge::coord
