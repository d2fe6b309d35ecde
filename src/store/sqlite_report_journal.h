#pragma once
// engine::ReportJournal on the SQLite database: the report_jobs table of
// migrations/0003_report_jobs.sql. Append returns once the row is committed
// (synchronous=FULL), so a job it accepted survives a crash. Done deletes the
// row. Thread-safe: every call holds the Database's mutex.

#include <cstdint>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "engine/report_journal.h"
#include "store/database.h"

namespace mergeyard::store {

class SqliteReportJournal final : public engine::ReportJournal {
 public:
  // `db` and `clock` must outlive the journal. The clock stamps created_at.
  SqliteReportJournal(Database& db, const Clock& clock);

  // engine::ReportJournal
  Result<std::int64_t> Append(const engine::ReportJob& job) override;
  Status Done(std::int64_t id) override;
  Result<std::vector<engine::JournaledReportJob>> Pending() override;

 private:
  Database& db_;
  const Clock& clock_;
};

}  // namespace mergeyard::store
