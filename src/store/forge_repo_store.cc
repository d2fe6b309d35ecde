#include "store/forge_repo_store.h"

#include <exception>
#include <mutex>

#include <SQLiteCpp/Statement.h>

#include "store/sqlite_error.h"

namespace mergeyard::store {
ForgeRepoStore::ForgeRepoStore(Database& db, const Clock& clock) : db_(db), clock_(clock) {}

Status ForgeRepoStore::Save(const std::string& repo, const std::string& forge, std::int64_t installation_id) {
  const Time now = clock_.Now();
  std::lock_guard lock(db_.mutex());
  try {
    SQLite::Statement upsert(db_.sql(),
        "INSERT INTO forge_repos (repo, forge, installation_id, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(repo) DO UPDATE SET forge = excluded.forge, installation_id = excluded.installation_id, "
        "updated_at = excluded.updated_at");
    upsert.bind(1, repo);
    upsert.bind(2, forge);
    upsert.bind(3, static_cast<int64_t>(installation_id));
    upsert.bind(4, static_cast<int64_t>(now));
    upsert.exec();
    return Ok();
  } catch (const std::exception& e) {
    return FromException("saving the forge of " + repo, e);
  }
}

Result<std::vector<ForgeRepoRow>> ForgeRepoStore::LoadAll() {
  std::lock_guard lock(db_.mutex());
  std::vector<ForgeRepoRow> out;
  try {
    SQLite::Statement q(db_.sql(), "SELECT repo, forge, installation_id FROM forge_repos ORDER BY repo");
    while (q.executeStep()) {
      out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64()});
    }
  } catch (const std::exception& e) {
    return FromException("reading the forges of repositories", e);
  }
  return out;
}

}  // namespace mergeyard::store
