#include "store/sqlite_report_journal.h"

#include <exception>
#include <mutex>

#include <SQLiteCpp/Statement.h>

#include "store/sqlite_error.h"

namespace mergeyard::store {
SqliteReportJournal::SqliteReportJournal(Database& db, const Clock& clock) : db_(db), clock_(clock) {}

Result<std::int64_t> SqliteReportJournal::Append(const engine::ReportJob& job) {
  const std::string encoded = engine::ReportJobToJson(job).dump();
  const Time now = clock_.Now();
  std::lock_guard lock(db_.mutex());
  try {
    SQLite::Statement insert(db_.sql(),
        "INSERT INTO report_jobs (kind, repo, pr, job_json, created_at) VALUES (?, ?, ?, ?, ?)");
    insert.bind(1, engine::ReportJobKindName(job.kind));
    insert.bind(2, job.Repo());
    insert.bind(3, static_cast<int64_t>(job.Pr()));
    insert.bind(4, encoded);
    insert.bind(5, static_cast<int64_t>(now));
    insert.exec();
    return static_cast<std::int64_t>(db_.sql().getLastInsertRowid());
  } catch (const std::exception& e) {
    return FromException("journaling a report job for " + job.Repo(), e);
  }
}

Status SqliteReportJournal::Done(std::int64_t id) {
  std::lock_guard lock(db_.mutex());
  try {
    SQLite::Statement del(db_.sql(), "DELETE FROM report_jobs WHERE id = ?");
    del.bind(1, static_cast<int64_t>(id));
    del.exec();
    return Ok();
  } catch (const std::exception& e) {
    return FromException("marking report job " + std::to_string(id) + " done", e);
  }
}

Result<std::vector<engine::JournaledReportJob>> SqliteReportJournal::Pending() {
  std::lock_guard lock(db_.mutex());
  std::vector<engine::JournaledReportJob> out;
  try {
    SQLite::Statement q(db_.sql(), "SELECT id, job_json FROM report_jobs ORDER BY id");
    while (q.executeStep()) {
      const std::int64_t id = q.getColumn(0).getInt64();
      auto json = nlohmann::json::parse(q.getColumn(1).getString(), nullptr, /*allow_exceptions=*/false);
      auto job = engine::ReportJobFromJson(json);
      if (!job) return Internal("report job " + std::to_string(id) + ": " + job.error().message);
      out.push_back({id, std::move(*job)});
    }
  } catch (const std::exception& e) {
    return FromException("reading pending report jobs", e);
  }
  return out;
}

}  // namespace mergeyard::store
