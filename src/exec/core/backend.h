#pragma once
// The execution backend's pure core: action merging, the action cache check,
// waiter reference counts, hedging, fair scheduling onto executors, leases and
// learned sizing. No threads, no clock reads: every call takes `now`. The
// shell (exec/ExecService) wraps it in a mutex and a ticking thread; a
// simulator can drive it directly with a virtual clock.
//
// Model:
//  - An *entry* is one wanted action (by digest) with its *waiters* (a true
//    reference count). It owns a primary *execution* and up to max_hedges
//    hedge executions. Submitting an action whose entry is live joins it.
//  - The first execution of an entry to complete wins: its result is cached
//    (if cacheable), delivered to every waiter (Notice kDelivered), and the
//    other executions are cancelled (Notice kCancelLease for running ones).
//    The in-flight table is cleaned with compare-and-erase on the primary
//    execution id, so a newer entry for the same digest is never dropped.
//  - When the last waiter leaves, the entry is cancelled after
//    config.no_waiter_grace unless someone joins in between. Queued work whose
//    waiters all left, or whose result is already cached, never starts.
//  - Executors register capacity and labels; Schedule() assigns queued
//    executions (FairQueue order) to executors where cpu, memory and custom
//    resources fit, preferring one with the repository warm. Each assignment
//    carries a lease that must be renewed; a lease not renewed for
//    lease_duration + lease_grace expires and the execution is re-queued
//    (at most max_attempts starts), and a late Complete is refused.
//
// Not thread-safe. Notices accumulate until TakeNotices().

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "exec/core/action.h"
#include "exec/core/backend_config.h"
#include "exec/core/fair_queue.h"
#include "exec/core/result_cache.h"
#include "exec/core/sizing.h"

namespace mergeyard::exec::core {

using ExecutionId = std::string;
using LeaseId = std::string;
using WaiterId = std::uint64_t;

enum class SubmitStatus { kCached, kMerged, kQueued };
const char* SubmitStatusName(SubmitStatus s);

enum class ExecState { kQueued, kRunning, kCompleted, kCancelled };
const char* ExecStateName(ExecState s);

struct SubmitOptions {
  bool skip_cache = false;  // do not answer from the action cache, now or when it would start
  bool no_merge = false;    // never join or be joined (flaky re-run, opt-out)
};

struct Submitted {
  SubmitStatus status = SubmitStatus::kQueued;
  ExecutionId execution;    // for kCached: the execution that produced the result
  WaiterId waiter = 0;      // 0 for kCached (nothing to wait for)
  std::string digest;
  std::optional<ActionResult> cached;
};

// What a waiter receives when its entry ends.
struct Outcome {
  WaiterId waiter = 0;
  ExecutionId execution;    // the primary execution the waiter was given
  ExecutionId winner;       // the execution whose result this is (primary or hedge)
  std::string digest;
  bool cancelled = false;   // ended without result (e.g. cancelled by the backend)
  ActionResult result;
  bool joined = false;      // this waiter joined an execution someone else started
  int shared_by = 1;        // waiters that received this one result
  bool merged() const { return joined || shared_by > 1; }
};

struct ExecutorInfo {
  std::string id;
  Resources capacity;
  std::map<std::string, std::string> labels;  // matched against action.platform
  std::set<std::string> warm_repos;           // repositories with a warm mirror
};

struct Assignment {
  ExecutionId execution;
  LeaseId lease;
  std::string executor;
  std::string digest;
  Action action;
  Resources reserved;       // what the scheduler reserved (learned or declared)
  bool learned_sizing = false;
  bool hedge = false;
  int attempt = 1;
};

struct Notice {
  enum class Kind { kDelivered, kCancelLease };
  Kind kind = Kind::kDelivered;
  Outcome outcome;          // kDelivered
  std::string executor;     // kCancelLease
  LeaseId lease;            // kCancelLease
  ExecutionId execution;    // kCancelLease
};

// A registered executor and its load, for the admin API.
struct ExecutorView {
  ExecutorInfo info;
  Resources used{0, 0, {}};         // reserved by the executions it runs
  std::vector<ExecutionId> running; // executions it holds a lease for, in id order
  Time last_seen = 0;               // last poll, renewal or registration
};

// A read-only view for the API.
struct ExecutionView {
  ExecutionId id;
  std::string digest;
  std::string name;
  std::string group;
  ExecState state = ExecState::kQueued;
  int waiters = 0;
  int merged_submissions = 0;   // submissions that joined
  bool hedge = false;
  ExecutionId hedge_of;
  std::vector<ExecutionId> hedges;
  std::string executor;
  int attempts = 0;
  Time queued_at = 0, started_at = 0, finished_at = 0;
  std::optional<ActionResult> result;
  bool cached = false;
  ExecutionId winner;
  std::string end_reason;
  Resources declared, reserved;
  bool learned_sizing = false;
};

class Backend {
 public:
  Backend(BackendConfig config, ResultCache& cache);

  // --- clients ---
  Submitted Submit(const Action& action, const std::string& digest, SubmitOptions opts, Time now);
  // The waiter no longer wants the result. False if unknown or already answered.
  bool Leave(WaiterId waiter, Time now);

  // --- executors ---
  // Registers or refreshes (reconnects) an executor; leases it holds are kept.
  void UpsertExecutor(const ExecutorInfo& info, Time now);
  // The executor is gone for good: its leases expire now.
  void RemoveExecutor(const std::string& id, Time now);
  std::vector<Assignment> Schedule(Time now);
  // Keeps the lease alive and marks the executor seen. kNotFound when the
  // lease is not held any more (expired, cancelled, lost the race): stop the step.
  Status Renew(const LeaseId& lease, Time now);
  // Marks the executor seen (a poll). False if it is not registered.
  // `heard`: a fresh sign of life (a new poll), which also lifts the hold
  // on an executor whose lease expired; false for a long poll that was
  // already open (it may outlive its executor).
  bool Touch(const std::string& executor, Time now, bool heard = true);
  // Executors currently registered.
  std::vector<ExecutorInfo> Executors() const;
  // Refused (kConflict) when the lease is unknown, expired or cancelled.
  Status Complete(const LeaseId& lease, ActionResult result, Time now);

  // --- time ---
  // Fires due timers: no-waiter cancellations, lease expiry, hedges, executor staleness.
  void Tick(Time now);
  // The earliest time Tick has something to do, or nullopt.
  std::optional<Time> NextDeadline() const;

  std::vector<Notice> TakeNotices();
  std::optional<ExecutionView> View(const ExecutionId& id) const;
  int WaitersOf(const ExecutionId& id) const;
  // Read-only listings for the admin API. ListExecutions: every live
  // execution (queued or running), oldest first, then at most `recent`
  // finished ones still retained, newest first.
  std::vector<ExecutionView> ListExecutions(std::size_t recent) const;
  // Every registered executor, by id, with what it runs.
  std::vector<ExecutorView> ListExecutors() const;

  struct Stats {
    std::uint64_t submitted = 0, cached = 0, merged = 0, queued = 0, started = 0,
                  hedges = 0, completed = 0, cancelled = 0, lease_expired = 0, dropped_stale = 0;
    std::size_t queue_length = 0, running = 0, live_entries = 0, groups = 0;
  };
  Stats stats() const;
  const SizingModel& sizing() const { return sizing_; }
  const BackendConfig& config() const { return config_; }

 private:
  struct Waiter {
    std::uint64_t entry = 0;
    bool joined = false;
  };
  struct Entry {
    std::uint64_t id = 0;
    std::string digest;
    Action action;
    bool mergeable = true;
    bool skip_cache = false;  // submitted with skip_cache: a cached result never answers it
    std::set<WaiterId> waiters;
    int joined_count = 0;
    ExecutionId primary;
    std::vector<ExecutionId> hedges;
    Time last_hedge_at = 0;
    Time no_waiters_since = -1;
  };
  struct Execution {
    ExecutionId id;
    std::uint64_t entry = 0;
    std::string digest, name, group;
    bool hedge = false;
    ExecutionId hedge_of;
    std::vector<ExecutionId> hedges;
    ExecState state = ExecState::kQueued;
    int attempts = 0;
    std::string executor;
    LeaseId lease;
    Time lease_renewed = 0;
    Time queued_at = 0, started_at = 0, finished_at = 0;
    std::uint64_t seq = 0;
    int priority = 0;
    Resources declared, reserved, holding;
    bool learned_sizing = false;
    std::optional<ActionResult> result;
    bool cached = false;
    ExecutionId winner;
    std::string end_reason;
    int waiters_at_end = 0;
    int merged_at_end = 0;
  };
  struct Executor {
    ExecutorInfo info;
    Resources used{0, 0, {}};
    std::set<LeaseId> leases;
    Time last_seen = 0;
    // A lease of it expired: it gets no work until it is heard from again
    // (a renewal, a new poll, a registration), so a dead executor is not
    // handed the step it just lost, nor any other.
    bool suspect = false;
  };
  enum class TimerKind { kGrace, kLease, kHedge, kExecutorStale };
  struct Timer {
    TimerKind kind;
    std::string id;
  };

  ExecutionId NewExecution(Entry& entry, bool hedge, Time now);
  void Enqueue(Execution& ex, bool boost);
  FairQueue::Fit Fit(const std::string& exec_id, std::string* chosen);
  bool FitsOn(const Executor& e, const Resources& need, bool* custom_only) const;
  Assignment Start(Execution& ex, const std::string& executor, Time now);
  void Release(Execution& ex);
  void FinishEntry(Entry& entry, const ExecutionId& winner, const ActionResult* result,
                   bool cached, const std::string& reason, Time now);
  void CancelExecution(Execution& ex, const std::string& reason, Time now);
  void MaybeHedge(Entry& entry, Time now, bool on_merge);
  Duration HedgeThreshold(const Entry& entry) const;
  void ExpireLease(const LeaseId& lease, Time now);
  void FireTimer(const Timer& t, Time now);
  void Arm(Time at, TimerKind kind, const std::string& id);
  void Retire(const ExecutionId& id);
  Entry* EntryOf(const Execution& ex);
  Execution* Find(const ExecutionId& id);
  bool HasLiveExecution(const Entry& entry, const ExecutionId& except);

  BackendConfig config_;
  ResultCache& cache_;
  SizingModel sizing_;
  FairQueue queue_;
  struct Inflight {
    ExecutionId primary;
    std::uint64_t entry = 0;
  };
  std::unordered_map<std::string, Inflight> inflight_;  // digest -> live mergeable entry
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::unordered_map<ExecutionId, Execution> executions_;
  std::unordered_map<WaiterId, Waiter> waiters_;
  std::unordered_map<LeaseId, ExecutionId> leases_;
  std::map<std::string, Executor> executors_;
  std::multimap<Time, Timer> timers_;
  std::deque<ExecutionId> retired_;   // finished executions, oldest first (bounded)
  std::vector<Notice> notices_;
  Stats stats_;
  std::uint64_t next_entry_ = 1, next_exec_ = 1, next_lease_ = 1, next_seq_ = 1;
  WaiterId next_waiter_ = 1;
};

}  // namespace mergeyard::exec::core
