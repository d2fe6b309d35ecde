#include "store/sqlite_status_comments.h"

#include <exception>
#include <mutex>

#include <SQLiteCpp/Statement.h>

#include "store/sqlite_error.h"

namespace mergeyard::store {

Result<std::optional<std::int64_t>> SqliteStatusComments::Find(const std::string& repo, std::int64_t pr) {
  std::lock_guard lock(db_.mutex());
  try {
    SQLite::Statement q(db_.sql(), "SELECT comment_id FROM status_comments WHERE repo = ? AND pr = ?");
    q.bind(1, repo);
    q.bind(2, static_cast<int64_t>(pr));
    if (q.executeStep()) return std::optional<std::int64_t>(q.getColumn(0).getInt64());
    // No row: none was made, if the table has known every one made.
    SQLite::Statement c(db_.sql(), "SELECT complete FROM status_comments_coverage");
    if (c.executeStep() && c.getColumn(0).getInt() != 0) return std::optional<std::int64_t>(0);
    return std::optional<std::int64_t>();
  } catch (const std::exception& e) {
    return FromException("reading the status comment of " + repo + "#" + std::to_string(pr), e);
  }
}

Status SqliteStatusComments::Remember(const std::string& repo, std::int64_t pr, std::int64_t comment_id) {
  const Time now = clock_.Now();
  std::lock_guard lock(db_.mutex());
  try {
    SQLite::Statement upsert(db_.sql(),
        "INSERT INTO status_comments (repo, pr, comment_id, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(repo, pr) DO UPDATE SET comment_id = excluded.comment_id, updated_at = excluded.updated_at");
    upsert.bind(1, repo);
    upsert.bind(2, static_cast<int64_t>(pr));
    upsert.bind(3, static_cast<int64_t>(comment_id));
    upsert.bind(4, static_cast<int64_t>(now));
    upsert.exec();
    return Ok();
  } catch (const std::exception& e) {
    return FromException("saving the status comment of " + repo + "#" + std::to_string(pr), e);
  }
}

}  // namespace mergeyard::store
