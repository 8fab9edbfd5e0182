// Internal to src/state: SqlDb on PostgreSQL (libpqxx 6.4).
//
// A small pool of connections (up to kMaxConnections, opened on demand) shared by all threads.
// Transactions run at READ COMMITTED; the store code takes row locks (FOR UPDATE, SKIP LOCKED
// for claims) where it reads before it writes. A transaction that loses a serialization or
// deadlock conflict is retried a few times. A transaction that fails because the connection
// broke before COMMIT was rolled back by the server, so it is retried once on a fresh
// connection; if that fails too the caller gets kUnavailable. A connection lost during COMMIT
// leaves the outcome unknown: kUnavailable, never a silent retry.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "state/sql_db.h"

namespace hlsforge::state {

class PostgresDb : public SqlDb {
 public:
  static constexpr int kMaxConnections = 8;

  // Connects once to check the URL and the server (kUnavailable with the reason if it cannot).
  static Result<std::unique_ptr<PostgresDb>> Open(const std::string& url);
  ~PostgresDb() override;

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string Describe() const override { return redacted_; }
  Status Transact(TxKind kind, const std::function<Status(SqlTx&)>& fn) override;

 private:
  class Tx;
  struct Conn;  // wraps pqxx::connection, so that this header does not need pqxx
  PostgresDb(std::string conninfo, std::string redacted);
  Result<std::unique_ptr<Conn>> Connect();
  Result<std::unique_ptr<Conn>> Acquire();
  void Release(std::unique_ptr<Conn> c, bool broken);

  const std::string conninfo_;
  const std::string redacted_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by mu_
  int open_ = 0;                             // guarded by mu_
};

}  // namespace hlsforge::state
