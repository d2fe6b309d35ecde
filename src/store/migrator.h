#pragma once
// Applies schema migrations to a SQLite database. The versions applied are
// recorded in schema_migrations(version, name, applied_at). Each migration runs
// in its own transaction together with its schema_migrations row, so one that
// fails leaves the database exactly as it was before it.

#include <vector>

#include <SQLiteCpp/Database.h>

#include "base/duration.h"
#include "base/result.h"
#include "store/migration.h"

namespace mergeyard::store {

// Versions recorded in schema_migrations, ascending (empty for a new database).
Result<std::vector<int>> AppliedVersions(SQLite::Database& db);

// Applies, in version order, every migration of `migrations` whose version is
// not yet recorded; `now` is stored as applied_at. Returns the ones applied.
// Errors:
//  - kInvalid: `migrations` is not strictly ascending by version; nothing is
//    applied.
//  - kInternal: the database records a version this list does not know (a
//    newer binary's schema); nothing is applied.
//  - kInternal: a migration failed; the message names it and holds SQLite's
//    message. The ones before it stay applied; it and those after do not.
// REQUIRES: no transaction is open on `db`; the caller serialises writers.
Result<std::vector<Migration>> ApplyMigrations(SQLite::Database& db,
                                               const std::vector<Migration>& migrations,
                                               Time now);

}  // namespace mergeyard::store
