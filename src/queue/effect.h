#pragma once
// Effects: what the adapters must do after a transition. Each is idempotent
// from the adapter's side (re-running one after a crash must be harmless):
// a build of the same batch id may be redone, a run for a batch id re-attaches,
// a Land whose commit is already the tip answers landed.

#include <string>
#include <variant>
#include <vector>

#include "queue/types.h"

namespace mergeyard::queue {

struct EntryRef {
  PrNumber pr = 0;
  std::string head_sha;
};

// Build `entries` in order on `base_sha` with `method`. Answer: BatchBuilt
// (with the entries that conflicted left out, each marked with_tip when it also
// conflicts with `tip`), or BuildFailed.
struct BuildBatch {
  BatchId batch = 0;
  std::string base_sha;
  std::string tip;
  std::vector<EntryRef> entries;
  MergeMethod method = MergeMethod::kMerge;
};

// Test `commit`: its pipeline steps and its required external checks.
// `started_at` is when the run first started (kept when it is re-issued
// after a restart), so deadlines survive restarts. Answer: RunFinished.
struct StartRun {
  BatchId batch = 0;
  std::string commit;
  Time started_at = 0;
};

// The run for `batch` is no longer wanted. No answer.
struct CancelRun {
  BatchId batch = 0;
};

// Move the target from `expected_tip` to `commit` by compare-and-swap; never
// force. `prs` are every entry that lands with it. Answer: LandResult.
struct Land {
  BatchId batch = 0;
  std::string commit;
  std::string expected_tip;
  std::vector<PrNumber> prs;
};

enum class ReportKind {
  kQueued,     // accepted (or already queued); `position`
  kTesting,    // a batch holding it started testing
  kReturned,   // back to waiting (rebuilt, conflicted with a batch ahead)
  kMerged,     // ended: landed
  kKicked,     // ended: failed, or conflicts with the target
  kCancelled,  // ended: cancelled, closed, or new head
};

const char* ReportKindName(ReportKind k);

// Tell the pull request. Merged, kicked and cancelled end the entry: each
// entry gets exactly one of them. `reason` (types.h) says why, as a fact;
// the other fields are set where the reason says so, else left empty.
struct Report {
  PrNumber pr = 0;
  ReportKind kind = ReportKind::kQueued;
  ReportReason reason = ReportReason::kNone;
  BatchId batch = 0;
  std::string commit;            // merged: the commit it landed in; testing: the batch commit
  int position = 0;              // queued: 1-based place among waiting entries, 0 if not waiting
  int batches_ahead = 0;         // queued: the batch it is expected in, counted from now
  // kicked for failure:
  FailureKind failure = FailureKind::kStep;
  std::string failed_step;       // the step, or the external check
  std::string log_url;           // the step's log, or the check's own page
  std::string failure_detail;    // the forge's word for a failed check ("timed_out"), or the timeout
  std::string base_sha;          // the commit it failed alone on
  BatchId bisect_root = 0;       // the failed batch whose bisection found it; 0 when none
  int attempts = 0;              // how many times it failed alone (singleton retries + 1)
  std::vector<PrNumber> fails_with;  // interaction partners that landed since
  std::vector<std::string> paths;    // kicked for conflict
  std::string actor;             // cancelled by; queued (kAccepted) by, when a person
  std::string head_sha;          // new head / replaced by; queued (kAccepted): the approved head
  int priority = kPriorityNormal;  // queued
  Time queued_at = 0;            // merged: when it was queued (0: not known)
  std::string detail;            // build failed: git's words (never secrets)
};

// Fire TimerFired at `at` (or later). Arming again replaces the previous timer.
struct ArmTimer {
  Time at = 0;
};

// A batch is over (landed, failed, rebuilt, emptied). For history and for
// the adapters to drop its temporary ref. `result` is one of "pass", "fail",
// "cancelled".
struct BatchDone {
  Batch batch;
  std::string result;
};

using Effect = std::variant<BuildBatch, StartRun, CancelRun, Land, Report, ArmTimer, BatchDone>;

std::string ToString(const Effect& e);

}  // namespace mergeyard::queue
