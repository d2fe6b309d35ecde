#pragma once
// engine::VerdictCache on the SQLite database: the ci_verdicts table of
// migrations/0005_ci_verdicts.sql. Thread-safe: every call holds the
// Database's mutex.

#include "base/clock.h"
#include "engine/verdict_cache.h"
#include "store/database.h"

namespace mergeyard::store {

class SqliteVerdictCache final : public engine::VerdictCache {
 public:
  // `db` and `clock` must outlive the cache; the clock stamps passed_at.
  SqliteVerdictCache(Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  // Errors: kNotFound (no row), kTransient when SQLite stays busy, else kInternal.
  Result<engine::CachedVerdict> Find(const std::string& repo, const std::string& tree,
                                     const std::vector<std::string>& checks) override;
  Status Put(const std::string& repo, const std::string& tree, const std::vector<std::string>& checks,
             const engine::CachedVerdict& verdict) override;

 private:
  Database& db_;
  const Clock& clock_;
};

}  // namespace mergeyard::store
