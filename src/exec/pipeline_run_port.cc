#include "exec/pipeline_run_port.h"

#include "base/log.h"
#include "exec/http_routes.h"

namespace mergeyard::exec {

struct PipelineRunPort::Run {
  engine::QueueKey key;
  queue::StartRun start;
  engine::EventSink* sink = nullptr;
  engine::RepoConfig config;
  std::size_t step = 0;
  bool rerun = false;          // the current step is an unmerged re-run
  core::WaiterId waiter = 0;
  bool cancelled = false;
  bool done = false;
  queue::RunFinished result;
};

core::Action StepAction(const engine::QueueKey& key, const engine::PipelineStep& step,
                        const std::string& commit, bool cache_failures) {
  core::Action a;
  a.name = step.name;
  a.command = {"sh", "-c", step.run};
  a.env = step.env;
  a.timeout = step.timeout;
  a.network = step.network;
  a.has_input = true;
  a.input.repo = key.repo;
  a.input.commit = commit;
  a.input.paths = step.inputs;
  a.resources.cpu = step.resources.cpu;
  a.resources.memory_bytes = step.resources.memory_bytes;
  a.resources.custom = step.resources.custom;
  a.group = key.repo;
  a.cache_failures = cache_failures;
  return a;
}

PipelineRunPort::PipelineRunPort(ExecService& service, TreeResolver& trees, RepoConfigLookup configs,
                                 std::string public_url, const LogLinks* links)
    : service_(service), trees_(trees), configs_(std::move(configs)),
      public_url_(std::move(public_url)), links_(links) {
  worker_ = std::thread([this] { Worker(); });
}

PipelineRunPort::~PipelineRunPort() {
  std::map<RunKey, std::shared_ptr<Run>> runs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    runs.swap(runs_);
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  for (auto& [k, run] : runs)
    if (run->waiter) service_.Leave(run->waiter);
}

std::size_t PipelineRunPort::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const auto& [k, r] : runs_) n += r->done ? 0 : 1;
  return n;
}

void PipelineRunPort::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void PipelineRunPort::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (stopping_) return;
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

void PipelineRunPort::Start(const engine::QueueKey& key, const queue::StartRun& start,
                            engine::EventSink& sink) {
  RunKey rk{key.ToString(), start.batch};
  std::shared_ptr<Run> run;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = runs_.find(rk);
    if (it != runs_.end() && it->second->start.commit == start.commit && !it->second->cancelled) {
      it->second->sink = &sink;  // re-attach
      if (it->second->done) {
        queue::RunFinished again = it->second->result;
        engine::QueueKey k = key;
        tasks_.push_back([&sink, k, again] { sink.Post(k, again); });
        cv_.notify_one();
      }
      return;
    }
    if (it != runs_.end()) {  // same batch id, different commit: the old run is stale
      it->second->cancelled = true;
      if (it->second->waiter) service_.Leave(it->second->waiter);
    }
    if (runs_.size() > 4096) {  // forget finished runs; a re-Start then runs again (cache hits)
      for (auto i = runs_.begin(); i != runs_.end();) i = i->second->done ? runs_.erase(i) : std::next(i);
    }
    run = std::make_shared<Run>();
    run->key = key;
    run->start = start;
    run->sink = &sink;
    runs_[rk] = run;
  }
  Post([this, run] {
    auto config = configs_(run->key);
    if (!config) {
      LOG_WARN("no repository config for run", {{"repo", run->key.repo}});
      Finish(run, false, "configuration", "");
      return;
    }
    run->config = *config;
    if (run->config.pipeline.empty()) return Finish(run, true, "", "");
    SubmitStep(run);
  });
}

void PipelineRunPort::Cancel(const engine::QueueKey& key, const queue::CancelRun& cancel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_.find(RunKey{key.ToString(), cancel.batch});
  if (it == runs_.end()) return;
  it->second->cancelled = true;
  if (it->second->waiter && !it->second->done) service_.Leave(it->second->waiter);
  runs_.erase(it);
}

void PipelineRunPort::SubmitStep(const std::shared_ptr<Run>& run) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (run->cancelled) return;
  }
  const engine::PipelineStep& step = run->config.pipeline[run->step];
  core::Action action = StepAction(run->key, step, run->start.commit, run->config.cache_failures);
  Status resolved = ResolveInputTree(trees_, action);
  if (!resolved) {
    LOG_WARN("cannot resolve step input", {{"repo", run->key.repo}, {"step", step.name},
                                           {"error", resolved.error().message}});
    return Finish(run, false, step.name, "");
  }
  core::SubmitOptions opts;
  if (run->rerun) opts = core::SubmitOptions{true, true};
  std::weak_ptr<Run> weak = run;
  core::Submitted s = service_.Submit(action, opts, [this, weak](const core::Outcome& o) {
    if (auto r = weak.lock()) Post([this, r, o] { OnOutcome(r, o); });
  });
  if (s.status == core::SubmitStatus::kCached) {
    core::Outcome o;
    o.execution = o.winner = s.execution;
    o.result = *s.cached;
    return OnOutcome(run, o);
  }
  std::lock_guard<std::mutex> lock(mu_);
  run->waiter = s.waiter;
  if (run->cancelled) service_.Leave(s.waiter);
}

void PipelineRunPort::OnOutcome(const std::shared_ptr<Run>& run, const core::Outcome& o) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (run->cancelled || run->done) return;
    run->waiter = 0;
  }
  const engine::PipelineStep& step = run->config.pipeline[run->step];
  if (o.cancelled) return SubmitStep(run);  // the backend dropped it: ask again
  if (o.result.passed()) {
    run->rerun = false;
    if (++run->step == run->config.pipeline.size()) return Finish(run, true, "", o.winner);
    return SubmitStep(run);
  }
  if (o.merged() && !run->rerun && o.result.error.empty()) {
    LOG_INFO("merged failure; re-running unmerged", {{"repo", run->key.repo}, {"step", step.name},
                                                      {"execution", o.winner}});
    run->rerun = true;
    return SubmitStep(run);
  }
  Finish(run, false, step.name, o.winner);
}

void PipelineRunPort::Finish(const std::shared_ptr<Run>& run, bool passed, const std::string& step,
                             const std::string& execution) {
  queue::RunFinished f;
  f.batch = run->start.batch;
  f.passed = passed;
  f.failed_step = passed ? "" : step;
  if (!execution.empty()) {
    f.log_url = public_url_ + "/api/v1/executions/" + execution + "/log";
    if (links_) f.log_url += "?sig=" + links_->Sign(execution);
  }
  engine::EventSink* sink;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (run->cancelled || run->done) return;
    run->done = true;
    run->result = f;
    sink = run->sink;
  }
  sink->Post(run->key, f);
}

}  // namespace mergeyard::exec
