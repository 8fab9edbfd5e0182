#include "state/sqlite_db.h"

#include <sqlite3.h>

#include <filesystem>
#include <system_error>

namespace hlsforge::state {
namespace {

// How long one connection waits for another process's write lock before giving up with
// kUnavailable. Long enough for any of our transactions (they are all short).
constexpr int kBusyTimeoutMs = 10000;

}  // namespace

class SqliteDb::Tx : public SqlTx {
 public:
  explicit Tx(SqliteDb* db) : db_(db) {}

  Result<SqlRows> Query(const std::string& sql, const std::vector<SqlValue>& params) override {
    SqlRows rows;
    RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }

  Result<int64_t> Exec(const std::string& sql, const std::vector<SqlValue>& params) override {
    RETURN_IF_ERROR(Run(sql, params, nullptr));
    return static_cast<int64_t>(sqlite3_changes64(db_->db_));
  }

  Status ExecScript(const std::string& sql) override {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_->db_, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK) return db_->Error(rc, "script: " + msg);
    return Status::Ok();
  }

 private:
  Status Run(const std::string& sql, const std::vector<SqlValue>& params, SqlRows* rows) {
    ASSIGN_OR_RETURN(sqlite3_stmt * st, db_->Prepare(sql));
    // Always leave the cached statement reset and unbound, whatever happens below.
    struct Reset {
      sqlite3_stmt* st;
      ~Reset() {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
      }
    } reset{st};
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(st)) {
      return Internal("sqlite: statement wants " +
                      std::to_string(sqlite3_bind_parameter_count(st)) + " parameters, got " +
                      std::to_string(params.size()) + ": " + sql);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (const auto* v = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(st, idx, *v);
      } else if (const auto* d = std::get_if<double>(&params[i])) {
        rc = sqlite3_bind_double(st, idx, *d);
      } else if (const auto* s = std::get_if<std::string>(&params[i])) {
        rc = sqlite3_bind_text64(st, idx, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(st, idx);
      }
      if (rc != SQLITE_OK) return db_->Error(rc, "bind");
    }
    for (;;) {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return db_->Error(rc, "step");
      if (!rows) continue;
      const int n = sqlite3_column_count(st);
      std::vector<SqlValue> values;
      values.reserve(n);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(st, c)) {
          case SQLITE_INTEGER:
            values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(st, c)));
            break;
          case SQLITE_FLOAT:
            values.emplace_back(sqlite3_column_double(st, c));
            break;
          case SQLITE_NULL:
            values.emplace_back(std::monostate{});
            break;
          default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
            const int len = sqlite3_column_bytes(st, c);
            values.emplace_back(std::string(p ? p : "", p ? len : 0));
          }
        }
      }
      rows->emplace_back(std::move(values));
    }
    return Status::Ok();
  }

  SqliteDb* db_;
};

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  if (path != ":memory:") {
    namespace fs = std::filesystem;
    const fs::path p(path);
    if (!p.is_absolute()) {
      return InvalidArgument("sqlite database path must be absolute: '" + path + "'");
    }
    std::error_code ec;
    const fs::path dir = p.parent_path();
    if (!fs::is_directory(dir, ec)) {
      return NotFound("cannot open sqlite database " + path + ": folder " + dir.string() +
                      " does not exist");
    }
    if (fs::is_directory(p, ec)) {
      return InvalidArgument("cannot open sqlite database " + path + ": it is a folder");
    }
  }
  sqlite3* db = nullptr;
  // NOMUTEX: our own mutex serializes every use of the connection.
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    if (rc == SQLITE_PERM || rc == SQLITE_READONLY) {
      return PermissionDenied("cannot open sqlite database " + path + ": " + msg);
    }
    return Unavailable("cannot open sqlite database " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<SqliteDb> out(new SqliteDb(db, path));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // WAL: readers do not block the writer and commits are cheap. NORMAL sync is durable across
  // application crashes in WAL mode (a power cut may lose the last commits, never corrupt).
  if (path != ":memory:") {
    RETURN_IF_ERROR(out->ExecPlain("PRAGMA journal_mode=WAL").Annotate("sqlite " + path));
    RETURN_IF_ERROR(out->ExecPlain("PRAGMA synchronous=NORMAL").Annotate("sqlite " + path));
  }
  RETURN_IF_ERROR(out->ExecPlain("PRAGMA foreign_keys=ON").Annotate("sqlite " + path));
  return out;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
  sqlite3_close_v2(db_);
}

Status SqliteDb::ExecPlain(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  if (rc != SQLITE_OK) return Error(rc, std::string(sql) + (msg.empty() ? "" : ": " + msg));
  return Status::Ok();
}

Result<sqlite3_stmt*> SqliteDb::Prepare(const std::string& sql) {
  if (auto it = stmts_.find(sql); it != stmts_.end()) return it->second;
  sqlite3_stmt* st = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "prepare");
  stmts_.emplace(sql, st);
  return st;
}

Status SqliteDb::Error(int rc, const std::string& context) const {
  const std::string msg = "sqlite " + path_ + ": " + context + ": " + sqlite3_errmsg(db_) + " (" +
                          sqlite3_errstr(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Status(Code::kAlreadyExists, msg);
      }
      return FailedPrecondition(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(msg);
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
    case SQLITE_NOMEM:
      return ResourceExhausted(msg);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDenied(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      return Unavailable(msg);
    default:
      return Internal(msg);
  }
}

Status SqliteDb::Transact(TxKind kind, const std::function<Status(SqlTx&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(ExecPlain(kind == TxKind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
  Tx tx(this);
  Status s = fn(tx);
  if (s.ok()) {
    s = ExecPlain("COMMIT");
    if (s.ok()) return s;
  }
  // The transaction may already be gone (SQLite rolls back by itself on some errors).
  if (!sqlite3_get_autocommit(db_)) (void)ExecPlain("ROLLBACK");
  return s;
}

}  // namespace hlsforge::state
