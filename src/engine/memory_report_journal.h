#pragma once
// A ReportJournal in memory: survives a Reporter being destroyed and built
// again, not a process exit. For tests and the simulator. Thread-safe.

#include <map>
#include <mutex>

#include "engine/report_journal.h"

namespace mergeyard::engine {

class MemoryReportJournal final : public ReportJournal {
 public:
  // engine::ReportJournal
  // Stores the job's JSON encoding and decodes it again in Pending, so a job
  // that would not survive serialisation fails here as it would in SQLite.
  Result<std::int64_t> Append(const ReportJob& job) override;
  Status Done(std::int64_t id) override;
  Result<std::vector<JournaledReportJob>> Pending() override;

  // Appends so far, done or not (tests).
  std::int64_t appended() const;

 private:
  mutable std::mutex mu_;
  std::int64_t next_id_ = 1;
  std::map<std::int64_t, nlohmann::json> pending_;
};

}  // namespace mergeyard::engine
