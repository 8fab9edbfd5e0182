// PostgreSQL-only behaviour: URLs and unreachable servers (restarts: postgres_restart_test.cc).
// The shared contract runs in state_store_test.cc. This binary needs the `postgres` ctest
// fixture.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "state/store_test_env.h"

namespace hlsforge::state {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PostgresStoreTest, UnreachableServersGiveClearErrors) {
  struct Case {
    std::string url;
    Code code;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"postgresql://nohost.invalid:1/x", Code::kUnavailable, "cannot reach"},
      {"postgresql://127.0.0.1:1/x", Code::kUnavailable, "cannot reach postgresql://127.0.0.1:1/x"},
      {"postgresql://user:secret@127.0.0.1:1/x", Code::kUnavailable, "user:***@"},
      {"postgres://127.0.0.1:99999/x", Code::kInvalidArgument, "bad port"},
      {"postgresql://127.0.0.1:/x", Code::kInvalidArgument, "empty port"},
      {"postgresql:///x", Code::kInvalidArgument, "no host"},
      {"postgresql://[::1/x", Code::kInvalidArgument, "unclosed"},
  };
  for (const auto& c : cases) {
    auto s = OpenStateStore(c.url);
    ASSERT_FALSE(s.ok()) << c.url;
    EXPECT_EQ(s.status().code(), c.code) << c.url << ": " << s.status();
    EXPECT_THAT(s.status().message(), HasSubstr(c.text)) << s.status();
    EXPECT_THAT(s.status().message(), Not(HasSubstr("secret")));
  }
}

TEST(PostgresStoreTest, MissingDatabaseIsNotFound) {
  const std::string admin = testing::PgAdminUrl();
  ASSERT_FALSE(admin.empty()) << "HLSFORGE_TEST_PG_URL not set";
  auto s = OpenStateStore(testing::WithDatabase(admin, "no_such_db_hlsforge"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kNotFound) << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr("no_such_db_hlsforge"));
}

}  // namespace
}  // namespace hlsforge::state
