#include "state/store_test_env.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <pqxx/pqxx>
#include <random>

namespace hlsforge::state::testing {

std::string PgAdminUrl() {
  if (const char* env = std::getenv("HLSFORGE_TEST_PG_URL"); env && *env) return env;
#ifdef HF_TEST_PG_URL
  return HF_TEST_PG_URL;
#else
  return "";
#endif
}

Status PgExec(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    n.exec(sql);
    return Status::Ok();
  } catch (const std::exception& e) {
    return Unavailable(std::string("postgresql test helper: ") + e.what());
  }
}

std::string WithDatabase(const std::string& url, const std::string& db) {
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const size_t query = url.find('?');
  std::string base = url.substr(0, slash == std::string::npos ? query : slash);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + db + rest;
}

Result<std::unique_ptr<TestDb>> TestDb::Create(const std::string& backend) {
  std::unique_ptr<TestDb> t(new TestDb());
  if (backend == "sqlite") {
    ASSIGN_OR_RETURN(TempDir dir, TempDir::Create({}, "hlsforge-state-test-"));
    t->dir_ = std::make_unique<TempDir>(std::move(dir));
    t->url_ = "sqlite://" + (t->dir_->path() / "state.db").string();
    return t;
  }
  if (backend == "postgresql") {
    t->pg_admin_url_ = PgAdminUrl();
    if (t->pg_admin_url_.empty()) return Unavailable("HLSFORGE_TEST_PG_URL is not set");
    static std::atomic<int> counter{0};
    std::random_device rd;
    t->pg_db_ = "hft_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
                std::to_string(rd() % 100000);
    RETURN_IF_ERROR(PgExec(t->pg_admin_url_, "CREATE DATABASE " + t->pg_db_));
    t->url_ = WithDatabase(t->pg_admin_url_, t->pg_db_);
    return t;
  }
  return InvalidArgument("unknown backend " + backend);
}

TestDb::~TestDb() {
  if (!pg_db_.empty()) {
    (void)PgExec(pg_admin_url_, "DROP DATABASE IF EXISTS " + pg_db_ + " WITH (FORCE)");
  }
}

}  // namespace hlsforge::state::testing
