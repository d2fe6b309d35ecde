#pragma once
// `mergeyard executor`: a remote executor. Registers its resources, labels
// and warm repositories with the server, long-polls for assignments over HTTP
// with its token, runs each one (RunAssignment, in a checkout fetched into its
// own bare mirrors from the assignment's fetch_url), renews the lease while
// the step runs, streams the log, and uploads the result. A lease the server
// refuses to renew stops the step. Lost connections are retried; a result is
// re-sent until the server answers (accepted or refused). REAPI actions take
// their inputs from the server's blobs through a local cache (work_dir/cas)
// and send their outputs back (reapi/remote_blob_access.h).

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "base/clock.h"
#include "exec/core/action.h"

namespace mergeyard::exec {

struct RemoteExecutorOptions {
  std::string server;                 // "http://127.0.0.1:8080"
  std::string token;
  std::string id;                     // unique executor name
  core::Resources capacity;           // cpu 0: this machine
  std::map<std::string, std::string> labels = {{"os", "linux"}};
  std::string work_dir;               // mirrors, worktrees, logs
  bool sandbox = true;
  Duration poll_wait = 10 * kSecond;
  std::int64_t cas_max_bytes = 4LL << 30;  // the local blob cache (REAPI inputs) under work_dir/cas
};

// Runs until *stop becomes true. Returns a process exit code: 0 after a stop,
// 3 when the server refuses the token. The work directory must be this
// process's alone (`mergeyard executor` locks it: app/dir_lock.h).
int RunRemoteExecutor(const RemoteExecutorOptions& options, const std::atomic<bool>& stop);

}  // namespace mergeyard::exec
