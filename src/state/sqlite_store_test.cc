// SQLite-only behaviour: URLs, files, modes. The shared contract is in state_store_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/fs.h"
#include "state/sql_state_store.h"
#include "state/sql_text.h"
#include "state/sqlite_db.h"
#include "state/state_store.h"

namespace hlsforge::state {
namespace {

using ::testing::HasSubstr;

TEST(SqliteStoreTest, MemoryStoreWorks) {
  auto s = OpenStateStore("sqlite://:memory:");
  ASSERT_TRUE(s.ok()) << s.status();
  auto r = (*s)->RecordObject("a.mp4", "a.mp4", "e", 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->has_value());
}

TEST(SqliteStoreTest, BadUrlsGiveClearErrors) {
  struct Case {
    std::string url;
    Code code;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"sqlite:///nonexistent-dir/x.db", Code::kNotFound, "folder /nonexistent-dir does not exist"},
      {"sqlite://relative.db", Code::kInvalidArgument, "absolute path"},
      {"sqlite://", Code::kInvalidArgument, "absolute path"},
      {"sqlite:///tmp/x.db?mode=ro", Code::kInvalidArgument, "query"},
      {"sqlite:///tmp/bad%zzescape.db", Code::kInvalidArgument, "percent"},
      {"sqlite:///tmp/nul%00byte.db", Code::kInvalidArgument, "NUL"},
      {"sqlite:///", Code::kInvalidArgument, "folder"},
      {"mysql://root@localhost/db", Code::kInvalidArgument, "unsupported state store URL"},
      {"", Code::kInvalidArgument, "unsupported"},
      {"postgresql://u:secret@h:notaport/db", Code::kInvalidArgument, "bad port"},
  };
  for (const auto& c : cases) {
    auto s = OpenStateStore(c.url);
    ASSERT_FALSE(s.ok()) << c.url;
    EXPECT_EQ(s.status().code(), c.code) << c.url << ": " << s.status();
    EXPECT_THAT(s.status().message(), HasSubstr(c.text)) << c.url;
    EXPECT_THAT(s.status().message(), ::testing::Not(HasSubstr("secret")));
  }
}

TEST(SqliteStoreTest, NotADatabaseFile) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const auto path = dir->path() / "garbage.db";
  {
    std::ofstream f(path);
    f << std::string(8192, 'g');
  }
  auto s = OpenStateStore("sqlite://" + path.string());
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("not a database"));
}

TEST(SqliteStoreTest, PercentEncodedPathAndWalMode) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  auto s = OpenStateStore("sqlite://" + dir->path().string() + "/my%20state.db");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(std::filesystem::exists(dir->path() / "my state.db"));
  ASSERT_TRUE((*s)->RecordObject("a", "a", "e", 1).ok());
  EXPECT_TRUE(std::filesystem::exists(dir->path() / "my state.db-wal"));
}

TEST(SqliteStoreTest, NewerSchemaIsRefused) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const std::string url = "sqlite://" + (dir->path() / "s.db").string();
  {
    auto db = SqliteDb::Open((dir->path() / "s.db").string());
    ASSERT_TRUE(db.ok());
    SqlStateStore store(std::move(*db));
    ASSERT_TRUE(store.Migrate().ok());
    ASSERT_TRUE(
        store.db()
            .Transact(SqlDb::TxKind::kWrite,
                      [](SqlTx& tx) {
                        return tx.Exec("INSERT INTO schema_migrations VALUES (99, 'future', 0)", {})
                            .status();
                      })
            .ok());
  }
  auto s = OpenStateStore(url);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("newer"));
}

TEST(SqliteStoreTest, FailedTransactionRollsBack) {
  auto db = SqliteDb::Open(":memory:");
  ASSERT_TRUE(db.ok());
  SqlStateStore store(std::move(*db));
  ASSERT_TRUE(store.Migrate().ok());
  Status s = store.db().Transact(SqlDb::TxKind::kWrite, [](SqlTx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec("INSERT INTO seen_objects VALUES ('n', 'e', 1)", {}).status());
    return Aborted("changed my mind");
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  auto r = store.RecordObject("n", "n", "e", 1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_value()) << "the insert above must have been rolled back";
  // A duplicate primary key is kAlreadyExists.
  Status dup = store.db().Transact(SqlDb::TxKind::kWrite, [](SqlTx& tx) -> Status {
    return tx.Exec("INSERT INTO seen_objects VALUES ('n', 'e', 1)", {}).status();
  });
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  // Wrong parameter count is a clear internal error, not a crash.
  Status bad = store.db().Transact(
      SqlDb::TxKind::kRead, [](SqlTx& tx) -> Status { return tx.Query("SELECT ?", {}).status(); });
  EXPECT_EQ(bad.code(), Code::kInternal);
}

// ---- helpers in sql_text / sql_db ----

TEST(SqlTextTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9\xE6\x97\xA5\xF0\x9F\x8E\xAC"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
}

TEST(SqlTextTest, Sanitize) {
  EXPECT_EQ(SanitizeText("ok", 100), "ok");
  EXPECT_EQ(SanitizeText(std::string("a\0b", 3), 100), "ab");
  EXPECT_EQ(SanitizeText("a\xFF"
                         "b",
                         100),
            "a\xEF\xBF\xBD"
            "b");
  const std::string cut = SanitizeText(std::string(100, 'x'), 30);
  EXPECT_LE(cut.size(), 30u);
  EXPECT_THAT(cut, HasSubstr("(truncated)"));
  // Never cuts inside a multi-byte character.
  std::string multi;
  for (int i = 0; i < 50; ++i) multi += "\xE6\x97\xA5";
  EXPECT_TRUE(IsValidUtf8(SanitizeText(multi, 40)));
}

TEST(SqlTextTest, ContainsPatternEscapes) {
  EXPECT_EQ(ContainsPattern("AbC"), "%abc%");
  EXPECT_EQ(ContainsPattern("50%_x\\"), "%50\\%\\_x\\\\%");
}

TEST(SqlTextTest, RedactUrl) {
  EXPECT_EQ(RedactUrl("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactUrl("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(RedactUrl("postgresql://h/db?user=u&password=secret&x=1"),
            "postgresql://h/db?user=u&password=***&x=1");
  EXPECT_EQ(RedactUrl("redis://:pw@h:6379/0"), "redis://:***@h:6379/0");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
}

TEST(SqlDbTest, DollarPlaceholders) {
  EXPECT_EQ(ToDollarPlaceholders("SELECT ? , ?"), "SELECT $1 , $2");
  EXPECT_EQ(ToDollarPlaceholders("SELECT '?' , \"a?\", ?"), "SELECT '?' , \"a?\", $1");
  EXPECT_EQ(ToDollarPlaceholders("x = 'it''s ?' AND y = ?"), "x = 'it''s ?' AND y = $1");
}

}  // namespace
}  // namespace hlsforge::state
