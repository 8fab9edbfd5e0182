// Internal to src/state: the small SQL surface the StateStore logic needs, with one
// implementation per database (drogon's DbClient shape, reduced to what we use). All store
// semantics live once in SqlStateStore on top of this, so SQLite and PostgreSQL behave the same
// by construction; only connection handling, locking and error mapping differ per backend.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"

namespace hlsforge::state {

// A bound parameter or a column value. std::monostate is SQL NULL.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

class SqlRow {
 public:
  explicit SqlRow(std::vector<SqlValue> values) : v_(std::move(values)) {}
  size_t size() const { return v_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(v_.at(i)); }
  // Conversions are lenient (PostgreSQL returns text): NULL -> 0 / "".
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  bool Bool(size_t i) const { return Int(i) != 0; }
  std::string Str(size_t i) const;

 private:
  std::vector<SqlValue> v_;
};
using SqlRows = std::vector<SqlRow>;

enum class Dialect { kSqlite, kPostgres };

// One open transaction. Placeholders are `?` in every dialect (rewritten to $n for PostgreSQL).
// After an error the transaction is unusable: return the error from the Transact callback.
class SqlTx {
 public:
  virtual ~SqlTx() = default;
  virtual Result<SqlRows> Query(const std::string& sql, const std::vector<SqlValue>& params) = 0;
  // Returns the number of rows changed.
  virtual Result<int64_t> Exec(const std::string& sql, const std::vector<SqlValue>& params) = 0;
  // Several statements, no parameters (migrations only).
  virtual Status ExecScript(const std::string& sql) = 0;
};

class SqlDb {
 public:
  enum class TxKind { kRead, kWrite };
  virtual ~SqlDb() = default;
  virtual Dialect dialect() const = 0;
  // The URL with any password masked, for messages.
  virtual std::string Describe() const = 0;
  // Runs `fn` in one transaction and commits if it returns OK, else rolls back and returns its
  // error. `fn` may run more than once (lost connection before commit, serialization conflict),
  // so it must reset its outputs and have no effects outside the transaction. Thread-safe.
  virtual Status Transact(TxKind kind, const std::function<Status(SqlTx&)>& fn) = 0;
};

// "FOR UPDATE SKIP LOCKED" where row locks exist (PostgreSQL); "" for SQLite, whose write
// transactions are serialized as a whole (BEGIN IMMEDIATE).
inline const char* ForUpdateSkipLocked(Dialect d) {
  return d == Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
}
inline const char* ForUpdate(Dialect d) { return d == Dialect::kPostgres ? " FOR UPDATE" : ""; }

// Rewrites `?` placeholders (outside quoted literals) to $1, $2, ...
std::string ToDollarPlaceholders(const std::string& sql);

}  // namespace hlsforge::state
