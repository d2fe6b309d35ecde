#pragma once
// What webhooks taught forge::ForgeDirectory, on the SQLite database: the
// forge_repos table of migrations/0004_forge_repos.sql, one row per
// repository. app/ loads it into the directory on start and saves what the
// directory learns afterwards. The forge is stored by its name
// (forge::ForgeKindName); store/ does not interpret it. Thread-safe: every
// call holds the Database's mutex.

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "store/database.h"

namespace mergeyard::store {

struct ForgeRepoRow {
  std::string repo;                  // "owner/name"
  std::string forge;                 // "github", "gitlab", "gitea", "forgejo"
  std::int64_t installation_id = 0;  // GitHub App installation; 0: none known
};

class ForgeRepoStore {
 public:
  // `db` and `clock` must outlive the store. The clock stamps updated_at.
  ForgeRepoStore(Database& db, const Clock& clock);

  // Inserts or replaces the row of `repo`; returns once it is committed.
  // Errors: kTransient when SQLite stays busy, else kInternal.
  Status Save(const std::string& repo, const std::string& forge, std::int64_t installation_id);

  // Every row, ordered by repo. Errors: kTransient when SQLite stays busy,
  // else kInternal.
  Result<std::vector<ForgeRepoRow>> LoadAll();

 private:
  Database& db_;
  const Clock& clock_;
};

}  // namespace mergeyard::store
