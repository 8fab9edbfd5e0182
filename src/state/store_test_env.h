// Test support for src/state: a fresh empty database per test, for each backend.
//   sqlite      a file in a temporary folder
//   postgresql  a new database on the server at $HLSFORGE_TEST_PG_URL (default: the ctest
//               fixture, HF_TEST_PG_URL), dropped at the end
#pragma once

#include <memory>
#include <string>

#include "common/fs.h"
#include "state/state_store.h"

namespace hlsforge::state::testing {

// URL of the shared PostgreSQL test server's admin database, "" if none is configured.
std::string PgAdminUrl();

class TestDb {
 public:
  // backend: "sqlite" or "postgresql". kUnavailable if the PostgreSQL server is not there.
  static Result<std::unique_ptr<TestDb>> Create(const std::string& backend);
  ~TestDb();

  const std::string& url() const { return url_; }
  // A new store (own connections) on this database, migrated.
  Result<std::unique_ptr<StateStore>> Open() const { return OpenStateStore(url_); }

 private:
  TestDb() = default;
  std::string url_;
  std::string pg_admin_url_;
  std::string pg_db_;
  std::unique_ptr<TempDir> dir_;
};

// Runs CREATE/DROP DATABASE and other statements outside a transaction on a PostgreSQL URL.
Status PgExec(const std::string& url, const std::string& sql);

// A URL that differs from `url` only in its database name.
std::string WithDatabase(const std::string& url, const std::string& db);

}  // namespace hlsforge::state::testing
