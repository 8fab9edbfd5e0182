#include "state/state_store.h"

#include <cctype>

#include "state/postgres_db.h"
#include "state/sql_state_store.h"
#include "state/sql_text.h"
#include "state/sqlite_db.h"

namespace hlsforge::state {
namespace {

constexpr const char* kStates[] = {"queued",    "assigned", "downloading", "encoding",
                                   "uploading", "ready",    "failed",      "cancelled"};

const char* kUrlHelp =
    "expected sqlite:///absolute/path.db, sqlite://:memory: or "
    "postgresql://user:pass@host:port/db";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || HexValue(s[i + 1]) < 0 || HexValue(s[i + 2]) < 0) {
      return InvalidArgument("bad percent escape in '" + s + "'");
    }
    out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
    i += 2;
  }
  if (out.find('\0') != std::string::npos) return InvalidArgument("NUL byte in path");
  return out;
}

Result<std::unique_ptr<SqlDb>> OpenDb(const std::string& url) {
  if (url.rfind("sqlite://", 0) == 0) {
    const std::string rest = url.substr(9);
    if (rest == ":memory:") {
      ASSIGN_OR_RETURN(auto db, SqliteDb::Open(":memory:"));
      return std::unique_ptr<SqlDb>(std::move(db));
    }
    if (rest.empty() || rest[0] != '/') {
      return InvalidArgument("sqlite URL '" + url + "' needs an absolute path (" + kUrlHelp + ")");
    }
    if (rest.find_first_of("?#") != std::string::npos) {
      return InvalidArgument("sqlite URL '" + url + "': query parameters are not supported");
    }
    ASSIGN_OR_RETURN(std::string path, PercentDecode(rest));
    ASSIGN_OR_RETURN(auto db, SqliteDb::Open(path));
    return std::unique_ptr<SqlDb>(std::move(db));
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    ASSIGN_OR_RETURN(auto db, PostgresDb::Open(url));
    return std::unique_ptr<SqlDb>(std::move(db));
  }
  return InvalidArgument("unsupported state store URL '" + RedactUrl(url) + "' (" + kUrlHelp + ")");
}

}  // namespace

const char* JobStateName(JobState s) {
  const auto i = static_cast<size_t>(s);
  return i < std::size(kStates) ? kStates[i] : "unknown";
}

std::optional<JobState> ParseJobState(std::string_view s) {
  for (size_t i = 0; i < std::size(kStates); ++i) {
    if (s == kStates[i]) return static_cast<JobState>(i);
  }
  return std::nullopt;
}

Result<std::unique_ptr<StateStore>> OpenStateStore(const std::string& url) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqlDb> db, OpenDb(url));
  auto store = std::make_unique<SqlStateStore>(std::move(db));
  RETURN_IF_ERROR(store->Migrate());
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace hlsforge::state
