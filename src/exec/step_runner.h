#pragma once
// Runs one assignment on this machine: obtains the working directory (a
// checkout of the input commit, or an empty directory), runs the command
// through RunProcess, and turns the outcome into an ActionResult. Shared by
// the local executor and `mergeyard executor`.

#include <atomic>
#include <functional>
#include <string>

#include "base/clock.h"
#include "exec/core/backend.h"
#include "exec/process_runner.h"
#include "exec/workspace.h"

namespace mergeyard::exec {

// Runs REAPI actions (core::Action::has_remote): fetches the input root from
// a CAS, runs the Command, uploads the outputs. exec/reapi implements it.
class RemoteActionRunner {
 public:
  virtual ~RemoteActionRunner() = default;
  // Same contract as RunAssignment.
  virtual core::ActionResult Run(const core::Assignment& a, const std::string& log_path,
                                 const std::atomic<bool>* cancel,
                                 const std::function<void()>& heartbeat) = 0;
};

// Runs one assignment in place of RunAssignment (same contract), e.g. on an
// external REAPI engine (reapi/engine_client.h).
using StepRunnerFn = std::function<core::ActionResult(const core::Assignment& a, const std::string& log_path,
                                                      const std::atomic<bool>* cancel,
                                                      const std::function<void()>& heartbeat)>;

struct StepEnv {
  CheckoutProvider* checkouts = nullptr;  // null: actions with an input fail
  RemoteActionRunner* remote = nullptr;   // null: REAPI actions fail
  std::string scratch_dir;                // empty working directories go here
  std::string executor_id;
  bool sandbox = true;
  const Clock* clock = nullptr;
};

// The process's verdict and usage into `result` (exit code, duration,
// timeout, peak memory, cpu, isolation, start error).
void Record(const RunOutcome& out, core::ActionResult* result);

// Appends to `log_path`. `heartbeat` runs about once a second while the step
// runs; `cancel` stops it. An infrastructure failure (no checkout) comes back
// as result.error.
core::ActionResult RunAssignment(const core::Assignment& a, const StepEnv& env,
                                 const std::string& log_path, const std::atomic<bool>* cancel,
                                 const std::function<void()>& heartbeat);

}  // namespace mergeyard::exec
