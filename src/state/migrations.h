// Internal to src/state: the versioned schema. Each migration is applied once, in its own
// transaction, and recorded in schema_migrations(version). Never edit a released migration;
// append a new one (same version number in both dialects).
#pragma once

#include <string>
#include <vector>

#include "state/sql_db.h"

namespace hlsforge::state {

struct Migration {
  int version;
  std::string name;
  std::string sql;  // several statements
};

// Ordered by version, 1..N without gaps.
const std::vector<Migration>& Migrations(Dialect dialect);

}  // namespace hlsforge::state
