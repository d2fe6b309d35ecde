#pragma once
// The executor inside `mergeyard serve`: registers with the ExecService as
// one executor with this machine's capacity, long-polls its inbox, runs each
// assignment on its own thread (RunAssignment), renews the lease while the
// step runs, and completes it. A lease the backend takes back (cancelled,
// lost the race) kills the step's process group.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exec/exec_service.h"
#include "exec/step_runner.h"

namespace mergeyard::exec {

struct LocalExecutorOptions {
  std::string id = "local";
  core::Resources capacity;          // cpu 0: this machine's cores and memory
  std::map<std::string, std::string> labels = {{"os", "linux"}};
  bool sandbox = true;               // use bwrap when available
  std::string scratch_dir;           // for steps without input
  RemoteActionRunner* remote = nullptr;  // runs REAPI actions; null: they fail
  StepRunnerFn runner;               // set: runs every assignment instead of this machine
  Duration poll_wait = 500;
};

class LocalExecutor {
 public:
  LocalExecutor(ExecService& service, CheckoutProvider* checkouts, LocalExecutorOptions options);
  ~LocalExecutor();
  void Start();
  void Stop();

 private:
  void PollLoop();
  void RunOne(core::Assignment a);
  void Cancel(const core::LeaseId& lease);
  core::ExecutorInfo Info();

  ExecService& service_;
  CheckoutProvider* checkouts_;
  LocalExecutorOptions options_;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
  std::mutex mu_;
  std::map<core::LeaseId, std::shared_ptr<std::atomic<bool>>> running_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void ReapLocked();
  std::vector<Worker> workers_;
};

// This machine's cpu cores and physical memory.
core::Resources MachineCapacity();

}  // namespace mergeyard::exec
