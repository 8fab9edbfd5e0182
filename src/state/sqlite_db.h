// Internal to src/state: SqlDb on SQLite (libsqlite3).
//
// One connection per SqliteDb, guarded by a mutex: every transaction of this process runs alone,
// which is plenty for the embedded default and makes reasoning simple. Other processes on the
// same file are serialized by SQLite itself: write transactions start with BEGIN IMMEDIATE (the
// write lock is taken up front, so two writers never deadlock on a lock upgrade) and wait up to
// busy_timeout for each other. WAL mode lets readers proceed while a writer works.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "state/sql_db.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hlsforge::state {

class SqliteDb : public SqlDb {
 public:
  // `path` is an absolute file path (created if missing; its folder must exist) or ":memory:".
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb() override;

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string Describe() const override { return "sqlite://" + path_; }
  Status Transact(TxKind kind, const std::function<Status(SqlTx&)>& fn) override;

 private:
  class Tx;
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Result<sqlite3_stmt*> Prepare(const std::string& sql);
  Status Error(int rc, const std::string& context) const;
  Status ExecPlain(const char* sql);

  std::mutex mu_;
  sqlite3* db_;
  const std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;  // guarded by mu_
};

}  // namespace hlsforge::state
