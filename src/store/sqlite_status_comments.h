#pragma once
// engine::StatusCommentIndex on the SQLite database: the status_comments
// table of migrations/0006_status_comments.sql. In a database that reported
// nothing before the table existed (a new installation), a pull request with
// no row is known to have no status comment (Find answers 0); in an upgraded
// one, Find answers nullopt and the reporter looks once. Thread-safe: every
// call holds the Database's mutex.

#include "base/clock.h"
#include "engine/status_comment_index.h"
#include "store/database.h"

namespace mergeyard::store {

class SqliteStatusComments final : public engine::StatusCommentIndex {
 public:
  // `db` and `clock` must outlive it; the clock stamps updated_at.
  SqliteStatusComments(Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  Result<std::optional<std::int64_t>> Find(const std::string& repo, std::int64_t pr) override;
  Status Remember(const std::string& repo, std::int64_t pr, std::int64_t comment_id) override;

 private:
  Database& db_;
  const Clock& clock_;
};

}  // namespace mergeyard::store
