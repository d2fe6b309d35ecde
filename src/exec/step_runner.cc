#include "exec/step_runner.h"

#include <filesystem>
#include <fstream>

#include "exec/process_runner.h"
#include "exec/scratch_pool.h"

namespace mergeyard::exec {
namespace fs = std::filesystem;


core::ActionResult RunAssignment(const core::Assignment& a, const StepEnv& env,
                                 const std::string& log_path, const std::atomic<bool>* cancel,
                                 const std::function<void()>& heartbeat) {
  core::ActionResult result;
  result.executor = env.executor_id;
  {
    std::ofstream log(log_path, std::ios::app);
    log << "[mergeyard] " << (a.action.name.empty() ? "action" : a.action.name) << " attempt "
        << a.attempt << " on executor " << env.executor_id << (a.hedge ? " (hedge)" : "")
        << (a.learned_sizing ? " (learned sizing)" : "") << "\n";
  }
  std::string workdir;
  bool is_checkout = false;
  if (a.action.has_remote) {
    if (!env.remote) {
      result.exit_code = -1;
      result.error = "this executor does not run REAPI actions";
      return result;
    }
    core::ActionResult r = env.remote->Run(a, log_path, cancel, heartbeat);
    r.executor = env.executor_id;
    return r;
  }
  if (a.action.has_input) {
    if (!env.checkouts) {
      result.exit_code = -1;
      result.error = "this executor has no checkouts";
      return result;
    }
    auto dir = env.checkouts->Acquire(a.action.input.repo, a.action.input.commit);
    if (!dir) {
      result.exit_code = -1;
      result.error = "checkout failed: " + dir.error().message;
      std::ofstream(log_path, std::ios::app) << "[mergeyard] " << result.error << "\n";
      return result;
    }
    workdir = *dir;
    is_checkout = true;
  } else {
    workdir = env.scratch_dir + "/" + a.lease;
    std::error_code ec;
    fs::create_directories(workdir, ec);
    if (ec) {
      result.exit_code = -1;
      result.error = "cannot create " + workdir;
      return result;
    }
  }
  RunSpec spec;
  spec.argv = a.action.command;
  spec.env = a.action.env;
  spec.workdir = workdir;
  spec.timeout = a.action.timeout;
  spec.sandbox = env.sandbox;
  spec.network = a.action.network;
  spec.memory_limit_bytes = a.action.resources.memory_bytes > 0 ? a.action.resources.memory_bytes * 2 : 0;
  spec.log_path = log_path;
  spec.cancel = cancel;
  spec.heartbeat = heartbeat;
  spec.heartbeat_every = 250;
  RunOutcome out = RunProcess(spec, *env.clock);
  if (is_checkout) env.checkouts->Release(a.action.input.repo, workdir);
  else RemoveTree(workdir);  // also where the step took write permission away
  Record(out, &result);
  return result;
}

void Record(const RunOutcome& out, core::ActionResult* result) {
  result->exit_code = out.exit_code;
  result->duration = out.duration;
  result->timed_out = out.timed_out;
  result->peak_memory_bytes = out.peak_memory_bytes;
  result->cpu_cores = out.cpu_cores;
  result->isolation = out.isolation;
  result->error = out.error;
}

}  // namespace mergeyard::exec
