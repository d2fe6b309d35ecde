#pragma once
// The reporter's write-ahead journal. The engine marks a transition complete
// once its effects are handed to the ports, so a Report accepted by the forge
// adapter must survive a crash before it reaches the forge. The adapter
// appends each job here before queueing it, marks it done once it ran (or was
// given up), and on start runs whatever is still pending, in order. Replayed
// jobs may already have reached the forge: running them must be harmless.
// Implementations: store::SqliteReportJournal (durable), MemoryReportJournal
// (tests, the simulator).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "base/result.h"
#include "engine/ports.h"
#include "queue/effect.h"

namespace mergeyard::engine {

// One piece of reporting work: a queue report, a status comment text, or a
// separate reply.
struct ReportJob {
  enum class Kind { kReport, kStatusComment, kReply };
  Kind kind = Kind::kReport;
  QueueKey key;            // kReport
  queue::Report report;    // kReport
  std::string repo;        // kStatusComment, kReply
  std::int64_t pr = 0;     // kStatusComment, kReply
  std::string text;        // kStatusComment, kReply
  Time at = 0;             // when it was handed over (a replay reports the original times)

  // The repository the job is about, whatever its kind.
  const std::string& Repo() const { return kind == Kind::kReport ? key.repo : repo; }
  // The pull request the job is about, whatever its kind.
  std::int64_t Pr() const { return kind == Kind::kReport ? report.pr : pr; }
};

// "report", "status_comment", "reply".
const char* ReportJobKindName(ReportJob::Kind kind);

// {"kind": ..., "at", "repo", "branch", "report" (engine::EffectToJson's
// fields) or "at", "repo", "pr", "text"}; a missing "at" decodes as 0.
// Decoding fails with kInvalid naming what is wrong.
nlohmann::json ReportJobToJson(const ReportJob& job);
Result<ReportJob> ReportJobFromJson(const nlohmann::json& j);

// A job as the journal holds it: `id` ascends in the order jobs were appended.
struct JournaledReportJob {
  std::int64_t id = 0;
  ReportJob job;
};

// Thread-safe.
class ReportJournal {
 public:
  virtual ~ReportJournal() = default;
  // Stores the job durably; returns its id (> 0). Errors: kTransient when the
  // storage is busy, kInternal otherwise; on error nothing was stored.
  virtual Result<std::int64_t> Append(const ReportJob& job) = 0;
  // The job will not be run again. Idempotent: an unknown id is ok.
  virtual Status Done(std::int64_t id) = 0;
  // Every job appended and not done, in append order.
  // Errors: kInternal naming a stored job that does not decode.
  virtual Result<std::vector<JournaledReportJob>> Pending() = 0;
};

}  // namespace mergeyard::engine
