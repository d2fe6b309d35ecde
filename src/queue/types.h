#pragma once
// The queue's model (DESIGN.md section 1): entries, batches, and the State of
// one queue (one repository + target branch). Plain data; Step() in step.h is
// the only thing that changes it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/duration.h"
#include "queue/config.h"

namespace mergeyard::queue {

using PrNumber = std::int64_t;
using BatchId = std::int64_t;

// Priorities: 0..255, higher first. The names map to these values.
constexpr int kPriorityLow = 64;
constexpr int kPriorityNormal = 128;
constexpr int kPriorityHigh = 192;

// What failed a run: a pipeline step, a required external check (DESIGN.md
// section 7), or a required check that never reported within its timeout.
enum class FailureKind { kStep, kCheck, kCheckTimeout };

inline constexpr FailureKind kLastFailureKind = FailureKind::kCheckTimeout;

const char* FailureKindName(FailureKind k);  // "step", "check", "check_timeout"

// Why a report was made, as a fact. The words people read are made from the
// Report in one place at the forge edge (forge/report_text.h); metrics, the
// API and the dashboard read these fields, never the words.
enum class ReportReason {
  kNone,
  kAccepted,           // queued: newly accepted
  kAlreadyQueued,      // queued: the same head again (its priority updated)
  kBatchStarted,       // testing
  kTargetMoved,        // returned: the target moved; `commit` is the new tip when known
  kBatchAheadFailed,   // returned: a batch it was stacked on failed
  kBatchAheadChanged,  // returned: an entry of a batch ahead (or of its own batch) left
  kConflictsAhead,     // returned: conflicts with a batch ahead, retried on the new base
  kBuildFailed,        // returned: the batch could not be built; `detail` says why
  kPassedAlone,        // returned: passed in a bisection half, retested on the current target
  kLandRejected,       // returned: the target moved before landing
  kLanded,             // merged
  kFailed,             // kicked: failed alone; `failure`, `failed_step`, `log_url`, ...
  kConflict,           // kicked: conflicts with the target; `paths`
  kCancelledBy,        // cancelled: by `actor` (a comment command)
  kCancelledByAdmin,   // cancelled: through the admin API
  kClosed,             // cancelled: the pull request was closed
  kNewHead,            // cancelled: new commits were pushed; `head_sha`
  kReplaced,           // cancelled: replaced by a new `!integrate` on `head_sha`
};

inline constexpr ReportReason kLastReportReason = ReportReason::kReplaced;  // keep last

const char* ReportReasonName(ReportReason r);  // "accepted", "failed", "new_head", ...

// Why an entry is cancelled (the Cancel event; kept while its batch lands).
struct CancelCause {
  ReportReason reason = ReportReason::kNone;  // kNone: no cancel asked
  std::string actor;                          // who, for kCancelledBy
  std::string head_sha;                       // the new head, for kNewHead and kReplaced
  bool operator==(const CancelCause&) const = default;
};

enum class EntryStatus {
  kWaiting,    // ordered by priority, enqueue time, arrival
  kBatched,    // in a main-queue batch
  kBisecting,  // in a bisection node (or a singleton retry)
};

struct Entry {
  PrNumber pr = 0;
  std::string head_sha;     // pinned when `!integrate` was accepted
  int priority = kPriorityNormal;
  Time enqueued_at = 0;
  std::int64_t seq = 0;     // arrival order, the last tie-break
  EntryStatus status = EntryStatus::kWaiting;
  int retries_used = 0;     // singleton retries spent
  BatchId batch = 0;        // the batch holding it, 0 while waiting
  CancelCause pending_cancel;  // cancel asked while its batch was landing (reason kNone: none)
  bool pretested = false;   // passed a run in isolation on the tip (a pretest or bisection node)
  // Interaction suspects (step.h, "Interactions"): entries this one was split
  // apart from when both halves of a failed batch passed, so that the batch
  // failed only with both. Never batched together with any of them again.
  // Symmetric; it may name entries that have ended since.
  std::vector<PrNumber> apart_from;
  // Those of `apart_from` that have landed since; a kick names them.
  std::vector<PrNumber> apart_landed;
  // The failed batch in whose bisection this entry last passed a half, 0 if none.
  BatchId passed_half_of = 0;
};

enum class BatchKind { kMain, kBisect };

enum class BatchState {
  kQueued,       // bisection node waiting for a bisection slot
  kWaitingBase,  // main batch waiting for the commit of the batch ahead
  kBuilding,     // BuildBatch issued
  kTesting,      // StartRun issued
  kPassed,       // waiting for the batches ahead to land
  kFailed,       // pending failure (pending_failure_depth > 0)
  kLanding,      // Land issued
};

const char* BatchStateName(BatchState s);
const char* BatchKindName(BatchKind k);

struct Batch {
  BatchId id = 0;
  BatchKind kind = BatchKind::kMain;
  std::vector<PrNumber> prs;     // in merge order; never empty
  BatchState state = BatchState::kWaitingBase;
  BatchId parent = 0;            // main: the batch it is built on; 0 = the target tip
  std::string base_sha;          // the commit it was built on, once building
  std::string commit;            // the batch commit, once built
  Time created_at = 0;
  Time started_at = 0;           // run start
  Time finished_at = 0;          // run end
  // Bisection: the failed batch this node descends from and its parent node.
  BatchId bisect_root = 0;
  BatchId bisect_parent = 0;
  // Bisection: the other half of bisect_parent when that parent's failure
  // counted against its own entries; empty for roots, retries, or when the
  // parent was stacked on a batch still testing.
  std::vector<PrNumber> sibling;
  FailureKind failure = FailureKind::kStep;  // of the failing run
  std::string failed_step;
  std::string log_url;
  std::string failure_detail;
};

inline constexpr size_t kPastTipsKept = 32;

inline constexpr size_t kBatchStates = 7;  // the number of BatchState values

// Waiting entries, ordered two ways.
struct WaitingSet {
  // In queue order (rule 1): (-priority, enqueued_at, seq, pr).
  std::set<std::tuple<int, Time, std::int64_t, PrNumber>> order;
  // By enqueue time: (enqueued_at, seq, pr); the first is the oldest.
  std::set<std::tuple<Time, std::int64_t, PrNumber>> by_time;

  bool empty() const { return order.empty(); }
  void Insert(const Entry& e);
  void Erase(const Entry& e);
  bool operator==(const WaitingSet&) const = default;
};

// Indexes over a State's entries and batches, so that a Step costs what it
// changes rather than the size of the queue. Derived data: never persisted,
// and rebuilt by Step when `built` is false (a State just decoded, or put
// together by hand). Step keeps them current; code outside Step that changes
// `entries` or `batches` of a State it will Step again must call
// RebuildIndexes() (or clear `built`). CheckIndexes() says whether they agree.
struct StateIndexes {
  bool built = false;
  WaitingSet waiting;                  // every waiting entry
  WaitingSet untested, pretested;      // the same, split by Entry::pretested
  // Bisection nodes by state (index: the BatchState's value), ids ascending.
  std::array<std::set<BatchId>, kBatchStates> bisect;
};

struct State {
  std::string target_branch = "main";
  std::string tip;               // the target branch's commit, as last known
  // Commits the target was at before `tip`, newest last (at most
  // kPastTipsKept): a TargetMoved naming one of them is a late echo (a push
  // webhook delivered after the queue moved on) and is ignored.
  std::vector<std::string> past_tips;
  QueueConfig config;
  bool paused = false;
  std::map<PrNumber, Entry> entries;   // every live entry (not yet ended)
  std::map<BatchId, Batch> batches;    // every live batch (main and bisection)
  std::vector<BatchId> main;           // the main queue, head (next to land) first
  BatchId next_batch_id = 1;
  std::int64_t next_seq = 1;
  Time timer_at = 0;                   // the formation timer armed, 0 when none
  BatchId landing = 0;                 // the batch whose Land is in flight, 0 when none
  Time build_backoff_until = 0;        // after a BuildFailed: form nothing before this
  StateIndexes index;                  // derived; see StateIndexes
};

// Recomputes `s.index` from its entries and batches.
void RebuildIndexes(State& s);

// Empty when `s.index` is built and agrees with the entries and batches;
// otherwise what disagrees. Costs O(entries + batches): for tests and the
// simulator's invariant checks.
std::string CheckIndexes(const State& s);

// Waiting entries in queue order (rule 1); at most `limit` of them. With the
// indexes built this costs O(limit), else a sort of the entries.
std::vector<PrNumber> WaitingInOrder(const State& s, size_t limit = SIZE_MAX);

// Position (1-based) of a waiting entry in queue order, 0 if not waiting.
// With the indexes built this costs O(min(position, waiting - position)):
// cheap for the front and for the back, where a new entry usually goes.
int WaitingPosition(const State& s, PrNumber pr);

// The entries a landing of `batch` carries: a bisection node's own; for a
// main batch, its own and those of every batch ahead of it in the main queue.
std::vector<PrNumber> PrsLandingWith(const State& s, BatchId batch);

// A readable multi-line dump, for failing tests and `simulate` traces.
std::string ToString(const State& s);

}  // namespace mergeyard::queue
