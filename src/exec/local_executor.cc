#include "exec/local_executor.h"

#include <unistd.h>

#include "base/log.h"

namespace mergeyard::exec {

core::Resources MachineCapacity() {
  core::Resources r;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  r.cpu = cpus > 0 ? static_cast<double>(cpus) : 1.0;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  r.memory_bytes = pages > 0 && page > 0 ? static_cast<std::int64_t>(pages) * page : 0;
  return r;
}

LocalExecutor::LocalExecutor(ExecService& service, CheckoutProvider* checkouts,
                             LocalExecutorOptions options)
    : service_(service), checkouts_(checkouts), options_(std::move(options)) {
  if (options_.capacity.cpu <= 0) options_.capacity = MachineCapacity();
}

LocalExecutor::~LocalExecutor() { Stop(); }

core::ExecutorInfo LocalExecutor::Info() {
  core::ExecutorInfo info;
  info.id = options_.id;
  info.capacity = options_.capacity;
  info.labels = options_.labels;
  if (checkouts_)
    for (const auto& r : checkouts_->WarmRepos()) info.warm_repos.insert(r);
  return info;
}

void LocalExecutor::Start() {
  service_.RegisterExecutor(Info(), [this](const core::LeaseId& lease) { Cancel(lease); });
  poller_ = std::thread([this] { PollLoop(); });
}

void LocalExecutor::Stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [lease, flag] : running_) flag->store(true);
  }
  if (poller_.joinable()) poller_.join();
  std::vector<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& w : workers)
    if (w.thread.joinable()) w.thread.join();
  service_.UnregisterExecutor(options_.id);
}

void LocalExecutor::Cancel(const core::LeaseId& lease) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = running_.find(lease);
  if (it != running_.end()) it->second->store(true);
}

void LocalExecutor::PollLoop() {
  int polls = 0;
  while (!stopping_) {
    auto work = service_.PollWork(options_.id, options_.poll_wait);
    if (!work || (++polls % 20 == 0)) {  // re-register when dropped; refresh warm repos
      service_.RegisterExecutor(Info(), [this](const core::LeaseId& lease) { Cancel(lease); });
      if (!work) continue;
    }
    for (auto& a : *work) {
      auto flag = std::make_shared<std::atomic<bool>>(false);
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) flag->store(true);
      running_[a.lease] = flag;
      auto done = std::make_shared<std::atomic<bool>>(false);
      workers_.push_back(Worker{std::thread([this, done, a = std::move(a)]() mutable {
                                  RunOne(std::move(a));
                                  done->store(true);
                                }),
                                done});
    }
    std::lock_guard<std::mutex> lock(mu_);
    ReapLocked();
  }
}

void LocalExecutor::ReapLocked() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void LocalExecutor::RunOne(core::Assignment a) {
  std::shared_ptr<std::atomic<bool>> cancel;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel = running_[a.lease];
  }
  StepEnv env;
  env.checkouts = checkouts_;
  env.scratch_dir = options_.scratch_dir;
  env.remote = options_.remote;
  env.executor_id = options_.id;
  env.sandbox = options_.sandbox;
  env.clock = &service_.clock();
  auto heartbeat = [&] {
    if (!service_.Renew(a.lease)) cancel->store(true);  // the lease is gone: stop
  };
  const std::string log_path = service_.LiveLogPath(a.execution);
  core::ActionResult result = options_.runner
                                  ? options_.runner(a, log_path, cancel.get(), heartbeat)
                                  : RunAssignment(a, env, log_path, cancel.get(), heartbeat);
  if (options_.runner && result.executor.empty()) result.executor = options_.id;
  if (!cancel->load()) {
    Status s = service_.Complete(a.lease, result);
    if (!s) LOG_INFO("result refused", {{"execution", a.execution}, {"reason", s.error().message}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(a.lease);
}

}  // namespace mergeyard::exec
