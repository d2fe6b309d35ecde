#pragma once
// Runs one step as a child process: in its own process group, with a scrubbed
// environment plus the step's variables, rlimits, stdout and stderr appended
// to a log file, and a timeout (or a cancel flag) that kills the whole group
// (SIGTERM, then SIGKILL after kill_grace). Where `bwrap` is available and
// `sandbox` is set, the step runs inside a bubblewrap sandbox: the whole file
// system read-only, the working directory writable, a private /tmp, its own
// pid namespace, and no network unless `network`. The log's first line says
// which isolation was used.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"

namespace mergeyard::exec {

struct RunSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;   // declared variables (added to the scrubbed base)
  std::string workdir;                      // writable; must exist
  std::string writable_root;                // the tree the sandbox makes writable; empty: workdir
  Duration timeout = 30 * kMinute;
  bool sandbox = true;
  bool network = false;
  std::int64_t memory_limit_bytes = 0;      // RLIMIT_AS backstop; 0: none
  std::string log_path;
  std::string stdout_path, stderr_path;     // when set: the step's stdout / stderr go there, not to the log
  const std::atomic<bool>* cancel = nullptr;
  std::function<void()> heartbeat;          // called about every heartbeat_every while running
  Duration heartbeat_every = 1 * kSecond;
  Duration kill_grace = 2 * kSecond;
  // Called once the process has exited, before the closing lines (timeout,
  // exit code) go to the log: appends output the step wrote elsewhere.
  std::function<void()> on_exit;
};

struct RunOutcome {
  int exit_code = -1;        // 128 + signal when killed by a signal
  bool timed_out = false;
  bool cancelled = false;
  Duration duration = 0;
  std::int64_t peak_memory_bytes = 0;
  double cpu_cores = 0;
  std::string isolation;     // "bwrap" or "process-group"
  std::string error;         // could not start
};

// True when /usr/bin/bwrap (or bwrap on PATH) exists and works here.
bool BwrapAvailable();

RunOutcome RunProcess(const RunSpec& spec, const Clock& clock);

}  // namespace mergeyard::exec
