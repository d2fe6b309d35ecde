#include "engine/memory_report_journal.h"

namespace mergeyard::engine {

Result<std::int64_t> MemoryReportJournal::Append(const ReportJob& job) {
  nlohmann::json encoded = ReportJobToJson(job);
  std::lock_guard<std::mutex> lock(mu_);
  const std::int64_t id = next_id_++;
  pending_.emplace(id, std::move(encoded));
  return id;
}

Status MemoryReportJournal::Done(std::int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.erase(id);
  return Ok();
}

Result<std::vector<JournaledReportJob>> MemoryReportJournal::Pending() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JournaledReportJob> out;
  for (const auto& [id, encoded] : pending_) {
    auto job = ReportJobFromJson(encoded);
    if (!job) return Internal("report job " + std::to_string(id) + ": " + job.error().message);
    out.push_back({id, std::move(*job)});
  }
  return out;
}

std::int64_t MemoryReportJournal::appended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_id_ - 1;
}

}  // namespace mergeyard::engine
