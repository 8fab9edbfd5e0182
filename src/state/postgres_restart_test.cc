// PostgreSQL connection loss: a private server (HF_TEST_PG_RESTART_PORT, started by
// tests/servers/postgres.sh) is restarted and stopped in the middle of the tests, so it must not
// be the shared `postgres` fixture.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "common/subprocess.h"
#include "state/store_test_env.h"

namespace hlsforge::state {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

// ---- a private server that the tests restart and stop ----

class PostgresRestartTest : public ::testing::Test {
 protected:
  static std::string Dir() { return std::string(HF_TEST_SERVERS_DIR) + "/postgres-restart"; }
  static std::string Port() { return std::to_string(HF_TEST_PG_RESTART_PORT); }
  static Status Server(const std::string& action) {
    SubprocessOptions o;
    o.timeout = std::chrono::seconds(120);
    o.env["HLSFORGE_PG_OPTS"] = "-c fsync=off -c synchronous_commit=off";
    auto r = RunSubprocess(
        {"bash", std::string(HF_TEST_SERVERS_SCRIPTS) + "/postgres.sh", action, Dir(), Port()}, o);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return Internal("postgres.sh " + action + ": " + r->err + r->out);
    return Status::Ok();
  }
  static void SetUpTestSuite() { start_status_ = new Status(Server("start")); }
  static void TearDownTestSuite() {
    (void)Server("stop");
    delete start_status_;
  }
  void SetUp() override {
    ASSERT_TRUE(start_status_->ok()) << *start_status_;
    ASSERT_TRUE(Server("start").ok());  // a previous test may have stopped it
    admin_ = "postgresql://postgres@127.0.0.1:" + Port() + "/hlsforge_test";
    db_name_ = "restart_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
               "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : db_name_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(testing::PgExec(admin_, "DROP DATABASE IF EXISTS " + db_name_).ok());
    ASSERT_TRUE(testing::PgExec(admin_, "CREATE DATABASE " + db_name_).ok());
    url_ = testing::WithDatabase(admin_, db_name_);
  }

  static inline Status* start_status_ = nullptr;
  std::string admin_, db_name_, url_;
};

TEST_F(PostgresRestartTest, SurvivesServerRestart) {
  auto opened = OpenStateStore(url_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto& store = **opened;
  // Fill the pool with several idle connections, all of which the restart will break.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 20; ++k) ASSERT_TRUE(store.CountVideos({}).ok());
    });
  }
  for (auto& t : threads) t.join();
  auto first = store.RecordObject("a.mp4", "a.mp4", "e1", 1);
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status();
  auto claimed = store.ClaimJob("w1", NowMs(), 60'000, true);
  ASSERT_TRUE(claimed.ok() && claimed->has_value()) << claimed.status();

  ASSERT_TRUE(Server("restart").ok());

  // The next calls reconnect by themselves.
  auto second = store.RecordObject("b.mp4", "b.mp4", "e1", 1);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->has_value());
  EXPECT_TRUE(store.UpdateProgress(**first, (*claimed)->lease_token, JobState::kEncoding, 50).ok());
  auto n = store.CountVideos({});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  // The dedup held across the restart.
  auto dup = store.RecordObject("a.mp4", "a.mp4", "e1", 1);
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_FALSE(dup->has_value());
}

TEST_F(PostgresRestartTest, ServerDownIsUnavailableThenRecovers) {
  auto opened = OpenStateStore(url_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto& store = **opened;
  ASSERT_TRUE(store.RecordObject("a.mp4", "a.mp4", "e1", 1).ok());

  ASSERT_TRUE(Server("stop").ok());
  auto r = store.RecordObject("b.mp4", "b.mp4", "e1", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(),
              AnyOf(HasSubstr("cannot reach postgresql://"), HasSubstr("lost connection")))
      << r.status();
  auto c = store.CountVideos({});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnavailable);
  EXPECT_THAT(c.status().message(), HasSubstr("127.0.0.1:" + Port()));
  // Opening while down fails the same clear way.
  auto down = OpenStateStore(url_);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable);

  ASSERT_TRUE(Server("start").ok());
  auto again = store.RecordObject("b.mp4", "b.mp4", "e1", 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->has_value()) << "the failed call above must not have recorded anything";
  auto n = store.CountVideos({});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
}

}  // namespace
}  // namespace hlsforge::state
