#pragma once
// engine::RunPort on the execution backend. Start(key, {batch, commit}) turns
// each step of the repository's pipeline into an action on that commit and
// submits it; steps run in order and the first failing step fails the run.
// RunFinished{batch, passed, failed_step, log_url} is posted to the sink once.
//
// A failing step whose result was merged (shared with other waiters) is
// re-run once unmerged (skip_cache + no_merge) before it counts, so one flaky
// execution does not fail every batch that joined it.
// Cancel makes the batch's waiter leave. Starting a (queue, batch) that is
// running re-attaches; one that already finished re-posts its result.
// Thread-safe; submissions and tree resolution run on an internal thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/ports.h"
#include "engine/repo_config.h"
#include "exec/exec_service.h"
#include "exec/log_links.h"
#include "exec/workspace.h"

namespace mergeyard::exec {

// The configuration of a queue (its target branch's .mergeyard.yml, last good).
using RepoConfigLookup = std::function<std::optional<engine::RepoConfig>(const engine::QueueKey& key)>;

// The action for one pipeline step on `commit` (input.tree not yet resolved).
core::Action StepAction(const engine::QueueKey& key, const engine::PipelineStep& step,
                        const std::string& commit, bool cache_failures);

class PipelineRunPort final : public engine::RunPort {
 public:
  // `public_url` prefixes log URLs (e.g. "http://127.0.0.1:8080"; may be
  // empty); with `links`, log URLs carry a signature that opens them
  // without a token.
  PipelineRunPort(ExecService& service, TreeResolver& trees, RepoConfigLookup configs,
                  std::string public_url = "", const LogLinks* links = nullptr);
  ~PipelineRunPort() override;

  // engine::RunPort
  void Start(const engine::QueueKey& key, const queue::StartRun& run, engine::EventSink& sink) override;
  void Cancel(const engine::QueueKey& key, const queue::CancelRun& cancel) override;

  // Runs in flight (for tests and metrics).
  std::size_t active() const;

 private:
  struct Run;
  using RunKey = std::pair<std::string, queue::BatchId>;
  void Post(std::function<void()> task);
  void Worker();
  void SubmitStep(const std::shared_ptr<Run>& run);
  void OnOutcome(const std::shared_ptr<Run>& run, const core::Outcome& o);
  void Finish(const std::shared_ptr<Run>& run, bool passed, const std::string& step,
              const std::string& execution);

  ExecService& service_;
  TreeResolver& trees_;
  RepoConfigLookup configs_;
  std::string public_url_;
  const LogLinks* links_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::map<RunKey, std::shared_ptr<Run>> runs_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace mergeyard::exec
