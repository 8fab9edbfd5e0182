// The Coordinator contract, run against every backend compiled into this binary:
// coord_test runs it on local://, coord_redis_test on Redis (ctest fixture `redis`).
#include "coord/coordinator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

namespace hlsforge::coord {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string RedisTestUrl() {
  if (const char* env = std::getenv("HLSFORGE_TEST_REDIS_URL"); env && *env) return env;
#ifdef HF_TEST_REDIS_URL
  return HF_TEST_REDIS_URL;
#else
  return "";
#endif
}

class CoordTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = GetParam() == "local" ? "local://" : RedisTestUrl();
    ASSERT_FALSE(url_.empty()) << "HLSFORGE_TEST_REDIS_URL not set";
    auto c = OpenCoordinator(url_);
    ASSERT_TRUE(c.ok()) << c.status();
    c_ = std::move(*c);
    // The Redis server is shared with tests running in parallel: every key is ours alone.
    std::random_device rd;
    p_ = "t" + std::to_string(rd()) + std::to_string(rd()) + ":";
  }

  long ElapsedMs(Clock::time_point start) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  }

  std::string url_;
  std::string p_;
  std::unique_ptr<Coordinator> c_;
};

TEST_P(CoordTest, MarkSeen) {
  auto first = c_->MarkSeen(p_ + "a.mp4", "\"e1\"");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  auto again = c_->MarkSeen(p_ + "a.mp4", "\"e1\"");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto other = c_->MarkSeen(p_ + "a.mp4", "\"e2\"");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(*other);
  // Name/ETag boundaries cannot be confused.
  auto ab = c_->MarkSeen(p_ + "a:b", "c");
  auto a_bc = c_->MarkSeen(p_ + "a", "b:c");
  ASSERT_TRUE(ab.ok() && a_bc.ok());
  EXPECT_TRUE(*ab);
  EXPECT_TRUE(*a_bc);
}

TEST_P(CoordTest, MarkSeenHostileNames) {
  const std::vector<std::string> names = {
      p_ + "x'); DROP TABLE videos;--",     p_ + "*?[glob]*",
      p_ + "vid\xC3\xA9o \xF0\x9F\x8E\xAC", p_ + std::string("nul\0inside", 10),
      p_ + "\r\n*3\r\n$3\r\nSET\r\n",  // RESP injection attempt
      p_ + std::string(60 << 10, 'n'),
  };
  for (const auto& n : names) {
    auto r = c_->MarkSeen(n, "etag");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(*r) << n.substr(0, 40);
    auto again = c_->MarkSeen(n, "etag");
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again) << n.substr(0, 40);
  }
  EXPECT_EQ(c_->MarkSeen("", "e").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c_->MarkSeen("n", "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c_->MarkSeen(std::string(70 << 10, 'n'), "e").status().code(), Code::kInvalidArgument);
}

TEST_P(CoordTest, LockOwnershipAndExtension) {
  const std::string lock = p_ + "catalog";
  auto a = c_->TryLock(lock, "A", 5s);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(*a);
  auto b = c_->TryLock(lock, "B", 5s);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(*b);
  auto a2 = c_->TryLock(lock, "A", 5s);  // re-entrant for the owner: extends
  ASSERT_TRUE(a2.ok());
  EXPECT_TRUE(*a2);
  ASSERT_TRUE(c_->Unlock(lock, "B").ok());  // not B's: no effect
  auto b2 = c_->TryLock(lock, "B", 5s);
  ASSERT_TRUE(b2.ok());
  EXPECT_FALSE(*b2);
  ASSERT_TRUE(c_->Unlock(lock, "A").ok());
  auto b3 = c_->TryLock(lock, "B", 5s);
  ASSERT_TRUE(b3.ok());
  EXPECT_TRUE(*b3);
  ASSERT_TRUE(c_->Unlock(lock, "B").ok());
  ASSERT_TRUE(c_->Unlock(p_ + "never-locked", "B").ok());

  EXPECT_EQ(c_->TryLock("", "A", 1s).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c_->TryLock(lock, "", 1s).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c_->TryLock(lock, "A", 0ms).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c_->TryLock(lock, "A", -5ms).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c_->Unlock("", "A").code(), Code::kInvalidArgument);
}

TEST_P(CoordTest, LockExpiresAndExtendKeepsIt) {
  const std::string lock = p_ + "expiring";
  ASSERT_TRUE(*c_->TryLock(lock, "A", 150ms));
  std::this_thread::sleep_for(350ms);
  auto b = c_->TryLock(lock, "B", 400ms);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(*b) << "A's lock should have expired";
  // B extends before expiry; A must stay out past the original deadline.
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(*c_->TryLock(lock, "B", 600ms));
  std::this_thread::sleep_for(300ms);  // 500 ms after B first took it (> its first ttl)
  auto a = c_->TryLock(lock, "A", 1s);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(*a) << "B extended its lock";
}

TEST_P(CoordTest, ScopedLock) {
  const std::string lock = p_ + "scoped";
  {
    auto held = ScopedLock::Acquire(*c_, lock, "A", 10s, 1s);
    ASSERT_TRUE(held.ok()) << held.status();
    const auto start = Clock::now();
    auto other = ScopedLock::Acquire(*c_, lock, "B", 10s, 150ms);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.status().code(), Code::kDeadlineExceeded);
    EXPECT_THAT(other.status().message(), ::testing::HasSubstr(lock));
    EXPECT_GE(ElapsedMs(start), 140);
    // Moving keeps exactly one owner of the release.
    std::vector<ScopedLock> moved;
    moved.push_back(std::move(*held));
  }
  auto b = ScopedLock::Acquire(*c_, lock, "B", 10s, 0ms);
  ASSERT_TRUE(b.ok()) << "released on scope exit: " << b.status();
  // A waiter gets the lock as soon as the holder lets go.
  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);
    auto dropped = std::move(*b);
    (void)dropped;
  });
  const auto start = Clock::now();
  auto c = ScopedLock::Acquire(*c_, lock, "C", 10s, 5s);
  releaser.join();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_LT(ElapsedMs(start), 3000);
  auto bad = ScopedLock::Acquire(*c_, "", "C", 10s, 5s);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST_P(CoordTest, Heartbeats) {
  ASSERT_TRUE(c_->PublishHeartbeat(p_ + "w1", R"({"cpu":10})", 200ms).ok());
  ASSERT_TRUE(c_->PublishHeartbeat(p_ + "w2", R"({"cpu":20})", 10s).ok());
  ASSERT_TRUE(c_->PublishHeartbeat(p_ + "w2", R"({"cpu":30})", 10s).ok());
  auto mine = [&] {
    std::map<std::string, std::string> out;
    auto all = c_->Heartbeats();
    EXPECT_TRUE(all.ok()) << all.status();
    if (all.ok()) {
      for (const auto& [id, json] : *all) {
        if (id.rfind(p_, 0) == 0) out[id.substr(p_.size())] = json;
      }
    }
    return out;
  };
  auto now = mine();
  EXPECT_EQ(now.size(), 2u);
  EXPECT_EQ(now["w1"], R"({"cpu":10})");
  EXPECT_EQ(now["w2"], R"({"cpu":30})");
  std::this_thread::sleep_for(400ms);
  auto later = mine();
  EXPECT_EQ(later.size(), 1u);
  EXPECT_EQ(later.count("w1"), 0u);
  EXPECT_EQ(c_->PublishHeartbeat("", "{}", 1s).code(), Code::kInvalidArgument);
  EXPECT_EQ(c_->PublishHeartbeat("w", "{}", 0ms).code(), Code::kInvalidArgument);
}

TEST_P(CoordTest, NotifyWakesEveryWaiterOnTheChannel) {
  const std::string ch = p_ + "jobs";
  std::atomic<int> woken{0};
  std::atomic<int> other_woken{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      auto r = c_->Wait(ch, 10s);
      ASSERT_TRUE(r.ok()) << r.status();
      if (*r) ++woken;
    });
  }
  std::thread other([&] {
    auto r = c_->Wait(p_ + "other", 1500ms);
    ASSERT_TRUE(r.ok()) << r.status();
    if (*r) ++other_woken;
  });
  std::this_thread::sleep_for(300ms);  // let them all block
  const auto start = Clock::now();
  ASSERT_TRUE(c_->Notify(ch).ok());
  for (auto& t : waiters) t.join();
  EXPECT_LT(ElapsedMs(start), 5000);
  EXPECT_EQ(woken.load(), 3);
  other.join();
  EXPECT_EQ(other_woken.load(), 0);
}

TEST_P(CoordTest, WaitTimesOut) {
  auto start = Clock::now();
  auto r = c_->Wait(p_ + "quiet", 200ms);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(*r);
  EXPECT_GE(ElapsedMs(start), 190);
  // A notify before the wait started does not count.
  ASSERT_TRUE(c_->Notify(p_ + "early").ok());
  std::this_thread::sleep_for(100ms);
  start = Clock::now();
  auto early = c_->Wait(p_ + "early", 200ms);
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(*early);
  // Odd timeouts are clamped, never undefined.
  auto negative = c_->Wait(p_ + "quiet", -5s);
  ASSERT_TRUE(negative.ok());
  EXPECT_FALSE(*negative);
  std::thread notifier([&] {
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(c_->Notify(p_ + "forever").ok());
  });
  auto huge = c_->Wait(p_ + "forever", std::chrono::milliseconds::max());
  notifier.join();
  ASSERT_TRUE(huge.ok());
  EXPECT_TRUE(*huge);
  EXPECT_EQ(c_->Wait("", 1ms).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c_->Notify("").code(), Code::kInvalidArgument);
}

TEST_P(CoordTest, HostileChannelNames) {
  for (const std::string& name : {std::string("*"), std::string("a:b [x]?"),
                                  std::string("k\xC3\xA9 \r\n"), std::string(4096, 'c')}) {
    const std::string ch = p_ + name;
    std::atomic<bool> woken{false};
    std::thread waiter([&] {
      auto r = c_->Wait(ch, 10s);
      ASSERT_TRUE(r.ok()) << r.status();
      woken = *r;
    });
    std::this_thread::sleep_for(150ms);
    ASSERT_TRUE(c_->Notify(ch).ok());
    waiter.join();
    EXPECT_TRUE(woken.load()) << name.substr(0, 20);
  }
}

TEST_P(CoordTest, SecondInstance) {
  auto other = OpenCoordinator(url_);
  ASSERT_TRUE(other.ok()) << other.status();
  std::atomic<int> result{-1};
  std::thread waiter([&] {
    auto r = (*other)->Wait(p_ + "cross", 1500ms);
    ASSERT_TRUE(r.ok()) << r.status();
    result = *r ? 1 : 0;
  });
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(c_->Notify(p_ + "cross").ok());
  waiter.join();
  auto seen = (*other)->MarkSeen(p_ + "shared", "e");
  ASSERT_TRUE(c_->MarkSeen(p_ + "shared", "e").ok());
  ASSERT_TRUE(seen.ok());
  if (GetParam() == "local") {
    // Each local:// instance is its own world (share one instance within a process).
    EXPECT_EQ(result.load(), 0);
  } else {
    // Redis: instances (processes) share dedup keys, locks and wake-ups.
    EXPECT_EQ(result.load(), 1);
    auto again = (*other)->MarkSeen(p_ + "shared", "e");
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again);
    ASSERT_TRUE(*c_->TryLock(p_ + "l", "A", 5s));
    EXPECT_FALSE(*(*other)->TryLock(p_ + "l", "B", 5s));
  }
  EXPECT_EQ(c_->Url(), GetParam() == "local" ? "local://" : (*other)->Url());
}

TEST_P(CoordTest, ManyThreadsOneLock) {
  // Mutual exclusion under contention: a shared counter updated only under the lock.
  const std::string lock = p_ + "contended";
  int counter = 0;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto held = ScopedLock::Acquire(*c_, lock, "owner" + std::to_string(t), 10s, 20s);
        ASSERT_TRUE(held.ok()) << held.status();
        if (inside.fetch_add(1) != 0) ++overlaps;
        ++counter;
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(counter, 60);
}

#if defined(HF_COORD_TEST_LOCAL)
INSTANTIATE_TEST_SUITE_P(Local, CoordTest, ::testing::Values("local"));

TEST(OpenCoordinatorTest, BadUrls) {
  for (const std::string url : {"", "local:", "local:/", "local://x", "memory://", "redis:/h",
                                "http://127.0.0.1:6379", "zookeeper://h:1"}) {
    auto c = OpenCoordinator(url);
    ASSERT_FALSE(c.ok()) << url;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << url;
    EXPECT_THAT(c.status().message(), ::testing::HasSubstr("local://")) << url;
  }
  auto secret = OpenCoordinator("ftp://user:secret@h");
  ASSERT_FALSE(secret.ok());
  EXPECT_THAT(secret.status().message(), ::testing::Not(::testing::HasSubstr("secret")));
}
#endif
#if defined(HF_COORD_TEST_REDIS)
INSTANTIATE_TEST_SUITE_P(Redis, CoordTest, ::testing::Values("redis"));
#endif

}  // namespace
}  // namespace hlsforge::coord
