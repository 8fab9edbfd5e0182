#include "state/postgres_db.h"

#include <charconv>
#include <chrono>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "common/log.h"
#include "state/sql_text.h"

namespace hlsforge::state {
namespace {

// Why a statement failed, which decides whether Transact may run it again.
enum class Failure {
  kNone,
  kConnection,  // the connection broke before COMMIT: rolled back by the server, safe to retry
  kConflict,    // serialization failure or deadlock: rolled back, retry after a short pause
  kOther,       // anything else (including a lost COMMIT): report
};

constexpr int kConflictRetries = 8;
constexpr auto kAcquireTimeout = std::chrono::seconds(30);

// libpq messages span several lines with tabs; one line reads better in logs and API errors.
std::string OneLine(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

Status ClassifyConnectError(const std::string& where, const std::string& what) {
  const std::string msg = OneLine(what);
  if (msg.find("authentication failed") != std::string::npos ||
      msg.find("no password supplied") != std::string::npos ||
      msg.find("no pg_hba.conf entry") != std::string::npos) {
    return PermissionDenied("postgresql " + where + ": " + msg);
  }
  if (msg.find("does not exist") != std::string::npos) {
    return NotFound("postgresql " + where + ": " + msg);
  }
  return Unavailable("cannot reach " + where + ": " + msg);
}

// Maps a libpqxx exception (rethrown by the caller inside a try) to a Status and a Failure.
Status Classify(const std::string& where, Failure* failure) {
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    *failure = Failure::kOther;
    return Unavailable("connection to " + where +
                       " lost during COMMIT; the outcome is unknown: " + OneLine(e.what()));
  } catch (const pqxx::broken_connection& e) {
    *failure = Failure::kConnection;
    return Unavailable("lost connection to " + where + ": " + OneLine(e.what()));
  } catch (const pqxx::statement_completion_unknown& e) {
    *failure = Failure::kOther;
    return Unavailable("postgresql " + where + ": statement outcome unknown: " + OneLine(e.what()));
  } catch (const pqxx::transaction_rollback& e) {
    *failure = Failure::kConflict;
    return Unavailable("postgresql " + where + ": transaction conflict: " + OneLine(e.what()));
  } catch (const pqxx::sql_error& e) {
    const std::string st = e.sqlstate();
    const std::string msg = "postgresql " + where + ": " + OneLine(e.what()) + " [" + st + "]";
    *failure = Failure::kOther;
    if (st == "40001" || st == "40P01") {
      *failure = Failure::kConflict;
      return Unavailable(msg);
    }
    // 08: connection exception; 57P0x: admin/crash shutdown, cannot connect now.
    if (st.rfind("08", 0) == 0 || st.rfind("57P", 0) == 0) {
      *failure = Failure::kConnection;
      return Unavailable(msg);
    }
    if (st == "23505") return Status(Code::kAlreadyExists, msg);
    if (st.rfind("23", 0) == 0) return FailedPrecondition(msg);
    if (st.rfind("22", 0) == 0) return InvalidArgument(msg);
    if (st.rfind("53", 0) == 0 || st.rfind("54", 0) == 0) return ResourceExhausted(msg);
    if (st.rfind("28", 0) == 0 || st.rfind("42501", 0) == 0) return PermissionDenied(msg);
    return Internal(msg);
  } catch (const std::exception& e) {
    *failure = Failure::kOther;
    return Internal("postgresql " + where + ": " + OneLine(e.what()));
  }
}

std::string DoubleText(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  if (ec != std::errc()) return "0";
  return std::string(buf, end);
}

// Light syntax check so that a malformed URL is kInvalidArgument here rather than an
// "unavailable" from libpq. libpq parses the URL for real.
Status CheckUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const std::string rest = url.substr(scheme + 3);
  const size_t end = rest.find_first_of("/?");
  std::string authority = rest.substr(0, end);
  if (const size_t at = authority.rfind('@'); at != std::string::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) {
    return InvalidArgument("postgresql URL has no host: '" + RedactUrl(url) + "'");
  }
  // Possibly several hosts: host1:port1,host2:port2; IPv6 in brackets.
  size_t start = 0;
  while (start <= authority.size()) {
    size_t comma = authority.find(',', start);
    if (comma == std::string::npos) comma = authority.size();
    std::string hp = authority.substr(start, comma - start);
    std::string port;
    if (!hp.empty() && hp[0] == '[') {
      const size_t close = hp.find(']');
      if (close == std::string::npos) {
        return InvalidArgument("postgresql URL has an unclosed '[': '" + RedactUrl(url) + "'");
      }
      if (close + 1 < hp.size()) {
        if (hp[close + 1] != ':') {
          return InvalidArgument("postgresql URL has junk after ']': '" + RedactUrl(url) + "'");
        }
        port = hp.substr(close + 2);
        if (port.empty()) return InvalidArgument("postgresql URL has an empty port");
      }
    } else if (const size_t colon = hp.find(':'); colon != std::string::npos) {
      port = hp.substr(colon + 1);
      if (port.empty()) return InvalidArgument("postgresql URL has an empty port");
    }
    if (!port.empty()) {
      int p = 0;
      auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
      if (ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535) {
        return InvalidArgument("postgresql URL has a bad port '" + port + "': '" + RedactUrl(url) +
                               "'");
      }
    }
    start = comma + 1;
  }
  return Status::Ok();
}

}  // namespace

struct PostgresDb::Conn {
  explicit Conn(const std::string& conninfo) : c(conninfo) {}
  pqxx::connection c;
};

class PostgresDb::Tx : public SqlTx {
 public:
  Tx(pqxx::work& w, const std::string& where) : w_(w), where_(where) {}
  Failure failure() const { return failure_; }

  Result<SqlRows> Query(const std::string& sql, const std::vector<SqlValue>& params) override {
    pqxx::result r;
    RETURN_IF_ERROR(Run(sql, params, &r));
    SqlRows rows;
    rows.reserve(r.size());
    for (const auto& row : r) {
      std::vector<SqlValue> values;
      values.reserve(row.size());
      for (const auto& f : row) {
        if (f.is_null()) {
          values.emplace_back(std::monostate{});
        } else {
          values.emplace_back(std::string(f.c_str(), f.size()));
        }
      }
      rows.emplace_back(std::move(values));
    }
    return rows;
  }

  Result<int64_t> Exec(const std::string& sql, const std::vector<SqlValue>& params) override {
    pqxx::result r;
    RETURN_IF_ERROR(Run(sql, params, &r));
    return static_cast<int64_t>(r.affected_rows());
  }

  Status ExecScript(const std::string& sql) override {
    if (failure_ != Failure::kNone) return Internal("postgresql: transaction already failed");
    try {
      w_.exec(sql);
      return Status::Ok();
    } catch (...) {
      return Classify(where_, &failure_);
    }
  }

 private:
  Status Run(const std::string& sql, const std::vector<SqlValue>& params, pqxx::result* out) {
    if (failure_ != Failure::kNone) return Internal("postgresql: transaction already failed");
    // Every value goes as a text parameter (never spliced into the SQL); the server infers types
    // from the columns they meet. nullptr in `ptrs` is SQL NULL.
    std::vector<std::string> text(params.size());
    std::vector<const char*> ptrs(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* v = std::get_if<int64_t>(&params[i])) {
        text[i] = std::to_string(*v);
      } else if (const auto* d = std::get_if<double>(&params[i])) {
        text[i] = DoubleText(*d);
      } else if (const auto* s = std::get_if<std::string>(&params[i])) {
        text[i] = *s;
      } else {
        continue;
      }
      ptrs[i] = text[i].c_str();
    }
    try {
      *out = w_.exec_params(ToDollarPlaceholders(sql), pqxx::prepare::make_dynamic_params(ptrs));
      return Status::Ok();
    } catch (...) {
      return Classify(where_, &failure_);
    }
  }

  pqxx::work& w_;
  const std::string& where_;
  Failure failure_ = Failure::kNone;
};

Result<std::unique_ptr<PostgresDb>> PostgresDb::Open(const std::string& url) {
  RETURN_IF_ERROR(CheckUrl(url));
  std::string conninfo = url;
  const auto add_default = [&](const std::string& key, const std::string& value) {
    if (conninfo.find(key + "=") != std::string::npos) return;
    conninfo += (conninfo.find('?') == std::string::npos ? "?" : "&");
    conninfo += key + "=" + value;
  };
  // Fail fast when the server is unreachable instead of hanging on a TCP connect, and notice a
  // vanished server (host down, network cut) within about a minute instead of hours.
  add_default("connect_timeout", "5");
  add_default("keepalives_idle", "30");
  add_default("keepalives_interval", "10");
  add_default("keepalives_count", "3");
  std::unique_ptr<PostgresDb> db(new PostgresDb(conninfo, RedactUrl(url)));
  ASSIGN_OR_RETURN(auto conn, db->Connect());
  db->Release(std::move(conn), false);
  std::lock_guard<std::mutex> lock(db->mu_);
  ++db->open_;  // Release() put it in idle_ without counting it: count it now.
  return db;
}

PostgresDb::PostgresDb(std::string conninfo, std::string redacted)
    : conninfo_(std::move(conninfo)), redacted_(std::move(redacted)) {}

PostgresDb::~PostgresDb() = default;

Result<std::unique_ptr<PostgresDb::Conn>> PostgresDb::Connect() {
  try {
    return std::make_unique<Conn>(conninfo_);
  } catch (const pqxx::broken_connection& e) {
    return ClassifyConnectError(redacted_, e.what());
  } catch (const std::exception& e) {
    return ClassifyConnectError(redacted_, e.what());
  }
}

Result<std::unique_ptr<PostgresDb::Conn>> PostgresDb::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + kAcquireTimeout;
  for (;;) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (open_ < kMaxConnections) {
      ++open_;
      lock.unlock();
      auto c = Connect();
      if (!c.ok()) {
        lock.lock();
        --open_;
        cv_.notify_one();
      }
      return c;
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Unavailable("postgresql " + redacted_ + ": all " + std::to_string(kMaxConnections) +
                         " connections stayed busy for " + std::to_string(kAcquireTimeout.count()) +
                         " s");
    }
  }
}

void PostgresDb::Release(std::unique_ptr<Conn> c, bool broken) {
  std::vector<std::unique_ptr<Conn>> drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken) {
      // One broken connection usually means the server restarted: the idle ones are dead too.
      // Dropping them all lets the retry start on a fresh connection.
      drop = std::move(idle_);
      idle_.clear();
      open_ -= 1 + static_cast<int>(drop.size());
      drop.push_back(std::move(c));
    } else {
      idle_.push_back(std::move(c));
    }
  }
  cv_.notify_all();
}

Status PostgresDb::Transact(TxKind /*kind*/, const std::function<Status(SqlTx&)>& fn) {
  int connection_retries = 0;
  int conflict_retries = 0;
  for (;;) {
    auto conn = Acquire();
    if (!conn.ok()) return conn.status();
    Failure failure = Failure::kNone;
    Status s;
    try {
      pqxx::work w((*conn)->c);
      Tx tx(w, redacted_);
      s = fn(tx);
      failure = tx.failure();
      if (s.ok() && failure == Failure::kNone) {
        try {
          w.commit();
        } catch (...) {
          s = Classify(redacted_, &failure);
          // A connection lost during COMMIT may have committed: never retry that.
          if (failure == Failure::kConnection) {
            failure = Failure::kOther;
            s = Unavailable("connection to " + redacted_ +
                            " lost during COMMIT; the outcome is unknown: " + s.message());
          }
        }
      }
      // Not committed: the pqxx::work destructor rolls back (and swallows errors).
    } catch (...) {
      s = Classify(redacted_, &failure);
    }
    const bool broken = failure == Failure::kConnection || !(*conn)->c.is_open();
    Release(std::move(*conn), broken);
    if (s.ok()) return s;
    if (failure == Failure::kConnection && connection_retries++ < 1) {
      HF_LOG_WARN("state: {} ; reconnecting and retrying once", s.message());
      continue;
    }
    if (failure == Failure::kConflict && conflict_retries++ < kConflictRetries) {
      thread_local std::mt19937 rng(std::random_device{}());
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::uniform_int_distribution<int>(1, 10 << std::min(conflict_retries, 4))(rng)));
      continue;
    }
    return s;
  }
}

}  // namespace hlsforge::state
