#include "store/sqlite_verdict_cache.h"

#include <exception>
#include <mutex>

#include <SQLiteCpp/Statement.h>
#include <nlohmann/json.hpp>

#include "store/sqlite_error.h"

namespace mergeyard::store {

Result<engine::CachedVerdict> SqliteVerdictCache::Find(const std::string& repo, const std::string& tree,
                                                       const std::vector<std::string>& checks) {
  std::lock_guard lock(db_.mutex());
  try {
    SQLite::Statement q(db_.sql(),
        "SELECT commit_sha, links_json FROM ci_verdicts WHERE repo = ? AND tree = ? AND checks = ?");
    q.bind(1, repo);
    q.bind(2, tree);
    q.bind(3, engine::VerdictChecksKey(checks));
    if (!q.executeStep()) return NotFound("no verdict for tree " + tree);
    engine::CachedVerdict v;
    v.commit = q.getColumn(0).getString();
    auto links = nlohmann::json::parse(q.getColumn(1).getString(), nullptr, false);
    if (links.is_object())
      for (const auto& [name, url] : links.items())
        if (url.is_string()) v.links[name] = url.get<std::string>();
    return v;
  } catch (const std::exception& e) {
    return FromException("reading the CI verdict of " + repo, e);
  }
}

Status SqliteVerdictCache::Put(const std::string& repo, const std::string& tree,
                               const std::vector<std::string>& checks, const engine::CachedVerdict& verdict) {
  const Time now = clock_.Now();
  std::lock_guard lock(db_.mutex());
  try {
    SQLite::Statement upsert(db_.sql(),
        "INSERT INTO ci_verdicts (repo, tree, checks, commit_sha, links_json, passed_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(repo, tree, checks) DO UPDATE SET "
        "commit_sha = excluded.commit_sha, links_json = excluded.links_json, passed_at = excluded.passed_at");
    upsert.bind(1, repo);
    upsert.bind(2, tree);
    upsert.bind(3, engine::VerdictChecksKey(checks));
    upsert.bind(4, verdict.commit);
    upsert.bind(5, nlohmann::json(verdict.links).dump());
    upsert.bind(6, static_cast<int64_t>(now));
    upsert.exec();
    return Ok();
  } catch (const std::exception& e) {
    return FromException("saving the CI verdict of " + repo, e);
  }
}

}  // namespace mergeyard::store
