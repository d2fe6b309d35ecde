#pragma once
// Events the queue reacts to: commands from people, results of effects the
// adapters carried out, and timers. Results name the batch they answer; a
// result for a batch that no longer exists, or is no longer in the state that
// asked for it, is stale and ignored.

#include <string>
#include <variant>
#include <vector>

#include "queue/types.h"

namespace mergeyard::queue {

// `!integrate` (or the admin API). Re-enqueueing a live entry with a new head
// replaces it; with the same head it only updates the priority. Without
// `priority_given` (a plain `!integrate`), a live entry keeps its priority.
struct Enqueue {
  PrNumber pr = 0;
  std::string head_sha;
  int priority = kPriorityNormal;
  bool priority_given = true;
  std::string actor;  // who asked ("" when not a person: the admin API); for the report
};

// `!integrate cancel`, the admin API, or the pull request closed. `reason` is
// kCancelledBy (with `actor`), kCancelledByAdmin or kClosed.
struct Cancel {
  PrNumber pr = 0;
  ReportReason reason = ReportReason::kCancelledByAdmin;
  std::string actor;
};

// A push to the pull request: the entry is removed unless the head is the pinned one.
struct HeadChanged {
  PrNumber pr = 0;
  std::string head_sha;
};

struct Reprioritize {
  PrNumber pr = 0;
  int priority = kPriorityNormal;
};

struct MergeConflict {
  PrNumber pr = 0;
  std::vector<std::string> paths;
  bool with_tip = false;  // conflicts with the target tip itself, not only with batches ahead
};

// Answer to BuildBatch. `commit` is empty when every entry conflicted.
struct BatchBuilt {
  BatchId batch = 0;
  std::string commit;
  std::vector<MergeConflict> conflicts;
};

// BuildBatch could not be carried out (git unreachable...). The batch is
// dissolved and its entries wait again.
struct BuildFailed {
  BatchId batch = 0;
  std::string message;
};

// `failed_step` names the failing step or required check, `log_url` its log
// or the check's own page; `failure_detail` is the forge's word for a failed
// check ("timed_out") or, for kCheckTimeout, the timeout ("2h").
struct RunFinished {
  BatchId batch = 0;
  bool passed = false;
  std::string failed_step;
  std::string log_url;
  FailureKind failure = FailureKind::kStep;
  std::string failure_detail;
};

// Answer to Land. When not landed, `tip` is where the target really is.
struct LandResult {
  BatchId batch = 0;
  bool landed = false;
  std::string tip;
};

// The target branch is at `tip` (someone pushed, or first contact).
struct TargetMoved {
  std::string tip;
};

struct TimerFired {};

struct SetPaused {
  bool paused = false;
};

struct ConfigChanged {
  QueueConfig config;
};

using Event = std::variant<Enqueue, Cancel, HeadChanged, Reprioritize, BatchBuilt, BuildFailed,
                           RunFinished, LandResult, TargetMoved, TimerFired, SetPaused,
                           ConfigChanged>;

std::string ToString(const Event& e);

}  // namespace mergeyard::queue
