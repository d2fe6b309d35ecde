#pragma once
// The execution backend as a service: core::Backend behind one mutex, a
// ticking thread for its timers, the on-disk action cache and content store,
// per-executor work inboxes (long-polled), logs, and callbacks to waiters.
// Every public method is thread-safe. Callbacks (waiter outcomes, lease
// cancellations) run on the thread that caused them, after the lock is
// released; they must not block.
//
// Data directory layout: <data_dir>/cas/ (content store: logs),
// <data_dir>/action_cache.jsonl, <data_dir>/logs/<execution>.log (live logs).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "exec/content_store.h"
#include "exec/core/backend.h"
#include "exec/disk_result_cache.h"

namespace mergeyard::exec {

struct ServiceOptions {
  core::BackendConfig backend;
  std::string data_dir;
  // The content store's size limit (logs and REAPI blobs); 0: unbounded.
  std::int64_t cas_max_bytes = 0;
  Duration tick = 100;  // how often timers are checked
  // repo -> URL a remote executor fetches it from (sent with assignments).
  std::function<std::optional<std::string>(const std::string& repo)> fetch_url;
};

class ExecService {
 public:
  using OutcomeFn = std::function<void(const core::Outcome&)>;
  using CancelFn = std::function<void(const core::LeaseId& lease)>;

  ExecService(ServiceOptions options, const Clock& clock);
  ~ExecService();
  ExecService(const ExecService&) = delete;
  ExecService& operator=(const ExecService&) = delete;

  // Creates the data directory, loads the action cache, starts the ticker.
  Status Start();
  void Stop();

  // Submits an action (input.tree already resolved). `done` is called once
  // with the outcome unless the answer is kCached (the result is in the
  // returned Submitted) or the waiter leaves first.
  core::Submitted Submit(const core::Action& action, core::SubmitOptions opts, OutcomeFn done);
  bool Leave(core::WaiterId waiter);
  // The action cache by backend digest (core::ActionDigest), for the REAPI
  // ActionCache service. CacheResult stores what a client reports.
  std::optional<core::ActionResult> CachedResult(const std::string& digest);
  void CacheResult(const std::string& digest, const core::ActionResult& result);

  std::optional<core::ExecutionView> View(const core::ExecutionId& id);
  // Blocks until the execution is completed or cancelled, or `timeout` passed.
  std::optional<core::ExecutionView> Wait(const core::ExecutionId& id, Duration timeout);

  // --- executors ---
  // Registers (or re-registers) an executor. `on_cancel` (may be null) is told
  // about leases the backend takes back; remote executors learn it on Renew.
  void RegisterExecutor(const core::ExecutorInfo& info, CancelFn on_cancel);
  void UnregisterExecutor(const std::string& id);
  // Waits up to `wait` for assignments for this executor. kNotFound when the
  // executor is not registered (it must register again).
  Result<std::vector<core::Assignment>> PollWork(const std::string& executor, Duration wait);
  Status Renew(const core::LeaseId& lease);
  // Stores the log (the live log of the execution) in the content store,
  // then completes. Refused when the lease is no longer held.
  Status Complete(const core::LeaseId& lease, core::ActionResult result);
  // Appends to the live log of the execution holding `lease`.
  Status AppendLog(const core::LeaseId& lease, const std::string& chunk);
  std::string LiveLogPath(const core::ExecutionId& execution) const;
  // The log of an execution: its stored log when finished, else the live log.
  Result<std::string> ReadLog(const core::ExecutionId& execution);
  std::optional<std::string> FetchUrl(const std::string& repo) const;

  ContentStore& content() { return cas_; }
  const core::BackendConfig& config() const { return options_.backend; }
  core::Backend::Stats Stats();
  // Read-only listings for the admin API (see core::Backend).
  std::vector<core::ExecutionView> ListExecutions(std::size_t recent);
  std::vector<core::ExecutorView> ListExecutors();
  const Clock& clock() const { return clock_; }

 private:
  struct Dispatch {
    std::vector<std::pair<OutcomeFn, core::Outcome>> outcomes;
    std::vector<std::pair<CancelFn, core::LeaseId>> cancels;
  };
  // REQUIRES: mu_ held. Runs timers and the scheduler, collects what to call.
  void PumpLocked(Time now, Dispatch* d);
  void Run(Dispatch& d);
  void TickLoop();

  ServiceOptions options_;
  const Clock& clock_;
  ContentStore cas_;
  DiskResultCache cache_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<core::Backend> backend_;
  std::unordered_map<core::WaiterId, OutcomeFn> callbacks_;
  std::map<std::string, std::deque<core::Assignment>> inbox_;
  std::map<std::string, CancelFn> cancel_hooks_;
  std::unordered_map<core::LeaseId, core::ExecutionId> lease_exec_;
  std::thread ticker_;
  bool stopping_ = false;
  bool started_ = false;
};

}  // namespace mergeyard::exec
