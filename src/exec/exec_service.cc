#include "exec/exec_service.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/log.h"

namespace mergeyard::exec {

ExecService::ExecService(ServiceOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      cas_(options_.data_dir + "/cas", options_.cas_max_bytes),
      cache_(options_.data_dir + "/action_cache.jsonl") {
  // Unique per start: ids stored in the persistent cache never collide.
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "e%llx-", static_cast<unsigned long long>(clock_.Now()));
  options_.backend.id_prefix = prefix;
  backend_ = std::make_unique<core::Backend>(options_.backend, cache_);
}

ExecService::~ExecService() { Stop(); }

Status ExecService::Start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir + "/logs", ec);
  if (ec) return Internal("cannot create " + options_.data_dir + ": " + ec.message());
  if (Status s = cas_.Open(); !s) return s;
  if (Status s = cache_.Open(); !s) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_) {
    started_ = true;
    ticker_ = std::thread([this] { TickLoop(); });
  }
  return Ok();
}

void ExecService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  std::lock_guard<std::mutex> lock(mu_);
  cache_.Flush();
}

void ExecService::TickLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.tick));
    if (stopping_) break;
    Dispatch d;
    PumpLocked(clock_.Now(), &d);
    cache_.Flush();
    lock.unlock();
    Run(d);
    lock.lock();
  }
}

void ExecService::PumpLocked(Time now, Dispatch* d) {
  backend_->Tick(now);
  bool assigned = false;
  for (auto& a : backend_->Schedule(now)) {
    lease_exec_[a.lease] = a.execution;
    inbox_[a.executor].push_back(std::move(a));
    assigned = true;
  }
  for (auto& n : backend_->TakeNotices()) {
    if (n.kind == core::Notice::Kind::kDelivered) {
      auto it = callbacks_.find(n.outcome.waiter);
      if (it == callbacks_.end()) continue;
      d->outcomes.emplace_back(std::move(it->second), std::move(n.outcome));
      callbacks_.erase(it);
    } else {
      lease_exec_.erase(n.lease);
      auto& box = inbox_[n.executor];  // not yet picked up: just drop it
      for (auto it = box.begin(); it != box.end(); ++it)
        if (it->lease == n.lease) { box.erase(it); break; }
      auto hook = cancel_hooks_.find(n.executor);
      if (hook != cancel_hooks_.end() && hook->second) d->cancels.emplace_back(hook->second, n.lease);
    }
  }
  (void)assigned;
  cv_.notify_all();  // Wait() and PollWork() re-check their condition
}

void ExecService::Run(Dispatch& d) {
  for (auto& [fn, outcome] : d.outcomes) fn(outcome);
  for (auto& [fn, lease] : d.cancels) fn(lease);
  if (!d.outcomes.empty()) cv_.notify_all();
}

core::Submitted ExecService::Submit(const core::Action& action, core::SubmitOptions opts,
                                    OutcomeFn done) {
  std::string digest = core::ActionDigest(action);
  Dispatch d;
  core::Submitted s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Time now = clock_.Now();
    s = backend_->Submit(action, digest, opts, now);
    if (s.waiter && done) callbacks_[s.waiter] = std::move(done);
    PumpLocked(now, &d);
  }
  Run(d);
  return s;
}

std::optional<core::ActionResult> ExecService::CachedResult(const std::string& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.Get(digest);
}

void ExecService::CacheResult(const std::string& digest, const core::ActionResult& result) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.Put(digest, result);
}

bool ExecService::Leave(core::WaiterId waiter) {
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.erase(waiter);
  return backend_->Leave(waiter, clock_.Now());
}

std::optional<core::ExecutionView> ExecService::View(const core::ExecutionId& id) {
  std::lock_guard<std::mutex> lock(mu_);
  return backend_->View(id);
}

std::optional<core::ExecutionView> ExecService::Wait(const core::ExecutionId& id, Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout);
  for (;;) {
    auto v = backend_->View(id);
    if (!v || v->state == core::ExecState::kCompleted || v->state == core::ExecState::kCancelled)
      return v;
    if (stopping_ || cv_.wait_until(lock, deadline) == std::cv_status::timeout)
      return backend_->View(id);
  }
}

void ExecService::RegisterExecutor(const core::ExecutorInfo& info, CancelFn on_cancel) {
  Dispatch d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Time now = clock_.Now();
    backend_->UpsertExecutor(info, now);
    cancel_hooks_[info.id] = std::move(on_cancel);
    PumpLocked(now, &d);
  }
  Run(d);
}

void ExecService::UnregisterExecutor(const std::string& id) {
  Dispatch d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Time now = clock_.Now();
    backend_->RemoveExecutor(id, now);
    inbox_.erase(id);
    PumpLocked(now, &d);
    cancel_hooks_.erase(id);
  }
  Run(d);
}

Result<std::vector<core::Assignment>> ExecService::PollWork(const std::string& executor,
                                                            Duration wait) {
  std::unique_lock<std::mutex> lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait);
  for (bool fresh = true;; fresh = false) {
    if (!backend_->Touch(executor, clock_.Now(), /*heard=*/fresh)) return NotFound("executor not registered");
    auto& box = inbox_[executor];
    if (!box.empty()) {
      std::vector<core::Assignment> out(std::make_move_iterator(box.begin()),
                                        std::make_move_iterator(box.end()));
      box.clear();
      return out;
    }
    if (stopping_ || cv_.wait_until(lock, deadline) == std::cv_status::timeout)
      return std::vector<core::Assignment>{};
  }
}

Status ExecService::Renew(const core::LeaseId& lease) {
  Dispatch d;
  Status s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Time now = clock_.Now();
    s = backend_->Renew(lease, now);
    PumpLocked(now, &d);
  }
  Run(d);
  return s;
}

Status ExecService::Complete(const core::LeaseId& lease, core::ActionResult result) {
  std::string execution;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = lease_exec_.find(lease);
    if (it == lease_exec_.end()) return Conflict("lease " + lease + " is not held; result refused");
    execution = it->second;
  }
  if (result.log_digest.empty()) {  // store the log outside the lock
    auto digest = cas_.PutFile(LiveLogPath(execution));
    if (digest) result.log_digest = *digest;
  }
  Dispatch d;
  Status s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Time now = clock_.Now();
    s = backend_->Complete(lease, std::move(result), now);
    lease_exec_.erase(lease);
    PumpLocked(now, &d);
  }
  Run(d);
  return s;
}

Status ExecService::AppendLog(const core::LeaseId& lease, const std::string& chunk) {
  std::string execution;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = lease_exec_.find(lease);
    if (it == lease_exec_.end()) return NotFound("lease " + lease + " is not held");
    execution = it->second;
  }
  std::ofstream log(LiveLogPath(execution), std::ios::app | std::ios::binary);
  log.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  return Ok();
}

std::string ExecService::LiveLogPath(const core::ExecutionId& execution) const {
  return options_.data_dir + "/logs/" + execution + ".log";
}

Result<std::string> ExecService::ReadLog(const core::ExecutionId& execution) {
  auto v = View(execution);
  if (!v) return NotFound("no execution " + execution);
  if (v->result && !v->result->log_digest.empty()) {
    auto blob = cas_.Get(v->result->log_digest);
    if (blob) return blob;
  }
  std::ifstream in(LiveLogPath(execution), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> ExecService::FetchUrl(const std::string& repo) const {
  if (!options_.fetch_url) return std::nullopt;
  return options_.fetch_url(repo);
}

core::Backend::Stats ExecService::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return backend_->stats();
}

std::vector<core::ExecutionView> ExecService::ListExecutions(std::size_t recent) {
  std::lock_guard<std::mutex> lock(mu_);
  return backend_->ListExecutions(recent);
}

std::vector<core::ExecutorView> ExecService::ListExecutors() {
  std::lock_guard<std::mutex> lock(mu_);
  return backend_->ListExecutors();
}

}  // namespace mergeyard::exec
