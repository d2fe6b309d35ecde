#include "store/migrator.h"

#include <algorithm>
#include <exception>
#include <string>

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

namespace mergeyard::store {
namespace {

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)";

Status CheckOrder(const std::vector<Migration>& migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version <= 0) {
      return Invalid("migration " + migrations[i].name + " has version <= 0");
    }
    if (i > 0 && migrations[i].version <= migrations[i - 1].version) {
      return Invalid("migrations out of order: " + migrations[i - 1].name + " then " +
                     migrations[i].name);
    }
  }
  return Ok();
}

// kInvalid when the database holds a version `migrations` does not know.
Status CheckKnown(const std::vector<int>& applied, const std::vector<Migration>& migrations) {
  for (int version : applied) {
    bool known = std::any_of(migrations.begin(), migrations.end(),
                             [&](const Migration& m) { return m.version == version; });
    if (!known) {
      return Internal("the database schema is at migration " + std::to_string(version) +
                     ", which this mergeyard does not know (it was written by a newer "
                     "version; upgrade mergeyard)");
    }
  }
  return Ok();
}

// Applies `m` unless another connection did since AppliedVersions (two
// processes starting at once): returns whether it ran.
Result<bool> ApplyOne(SQLite::Database& db, const Migration& m, Time now) {
  try {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement seen(db, "SELECT count(*) FROM schema_migrations WHERE version = ?");
    seen.bind(1, m.version);
    if (seen.executeStep() && seen.getColumn(0).getInt() > 0) return false;
    db.exec(m.sql);
    SQLite::Statement row(db,
                          "INSERT INTO schema_migrations (version, name, applied_at) "
                          "VALUES (?, ?, ?)");
    row.bind(1, m.version);
    row.bind(2, m.name);
    row.bind(3, static_cast<int64_t>(now));
    row.exec();
    tx.commit();
  } catch (const std::exception& e) {  // the Transaction's destructor rolled back
    return Internal("migration " + m.name + " failed: " + e.what());
  }
  return true;
}

}  // namespace

Result<std::vector<int>> AppliedVersions(SQLite::Database& db) {
  try {
    db.exec(kCreateTable);
    std::vector<int> versions;
    SQLite::Statement q(db, "SELECT version FROM schema_migrations ORDER BY version");
    while (q.executeStep()) versions.push_back(q.getColumn(0).getInt());
    return versions;
  } catch (const std::exception& e) {
    return Internal(std::string("reading schema_migrations: ") + e.what());
  }
}

Result<std::vector<Migration>> ApplyMigrations(SQLite::Database& db,
                                               const std::vector<Migration>& migrations,
                                               Time now) {
  if (Status s = CheckOrder(migrations); !s) return s.error();
  auto applied = AppliedVersions(db);
  if (!applied) return applied.error();
  if (Status s = CheckKnown(*applied, migrations); !s) return s.error();
  std::vector<Migration> done;
  for (const Migration& m : migrations) {
    if (std::binary_search(applied->begin(), applied->end(), m.version)) continue;
    auto ran = ApplyOne(db, m, now);
    if (!ran) return ran.error();
    if (*ran) done.push_back(m);
  }
  return done;
}

}  // namespace mergeyard::store
