#pragma once
// Everything `mergeyard serve` needs from the execution backend, wired in one
// place: the ExecService (data under options.data_dir), a GitCliWorkspace on
// the server's bare mirrors, the local executor (unless disabled), and the
// engine's RunPort. app/ creates one, mounts its routes on the listener and
// hands run_port() to the Engine:
//
//   exec::ExecStackOptions o;
//   o.data_dir = data_dir + "/exec";
//   o.mirror_of = [&](const std::string& repo) { return mirrors.PathOf(repo); };
//   o.configs = [&](const engine::QueueKey& key) { return configs.LastGood(key.repo, key.branch); };
//   auto stack = exec::ExecStack::Start(o, clock);      // Result<unique_ptr>
//   (*stack)->Mount(http_server, {admin_token, executor_token});
//   engine uses (*stack)->run_port();  ... (*stack)->Stop() before exit.

#include <memory>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "exec/exec_service.h"
#include "exec/git_cli_workspace.h"
#include "exec/http_routes.h"
#include "exec/local_executor.h"
#include "exec/pipeline_run_port.h"
#include "exec/reapi/action_runner.h"
#include "exec/reapi/engine_client.h"
#include "exec/reapi/server.h"

namespace mergeyard::exec {

struct ExecStackOptions {
  std::string data_dir;                 // exec data: cache, content store, logs, worktrees
  RepoPathFn mirror_of;                 // repo -> bare mirror path on this machine
  RepoPathFn fetch_url;                 // repo -> URL remote executors fetch from (default: mirror_of)
  RepoConfigLookup configs;             // queue -> its parsed .mergeyard.yml
  std::string public_url;               // prefixes log URLs in RunFinished
  bool local_executor = true;
  LocalExecutorOptions local;           // scratch_dir defaults under data_dir
  core::BackendConfig backend;
  std::int64_t cas_max_bytes = 0;       // content store size limit (logs, REAPI blobs); 0: none
  reapi::ServerOptions reapi;           // reapi.listen empty: no REAPI server
  // reapi_remote.remote set: pipeline steps run on that REAPI engine; its
  // executor replaces the local one (mirror_of defaults to this mirror_of).
  reapi::EngineClientOptions reapi_remote;
};

class ExecStack {
 public:
  static Result<std::unique_ptr<ExecStack>> Start(ExecStackOptions options, const Clock& clock);
  ~ExecStack();

  // Mounts the execution API; signed log links (see log_links.h) are accepted.
  void Mount(httplib::Server& server, ApiTokens tokens);
  engine::RunPort& run_port() { return *run_port_; }
  ExecService& service() { return *service_; }
  GitCliWorkspace& workspace() { return *workspace_; }
  // The REAPI server, or null when reapi.listen is not set.
  reapi::Server* reapi_server() { return reapi_server_.get(); }
  // The client of the external REAPI engine, or null without reapi_remote.
  reapi::EngineClient* engine_client() { return engine_.get(); }
  void Stop();

 private:
  ExecStack() = default;
  ExecStackOptions options_;
  std::unique_ptr<GitCliWorkspace> workspace_;
  std::unique_ptr<ExecService> service_;
  std::unique_ptr<reapi::LocalBlobAccess> local_blobs_;
  std::unique_ptr<reapi::ActionRunner> local_reapi_;
  std::unique_ptr<LocalExecutor> local_;
  std::unique_ptr<reapi::Server> reapi_server_;
  std::unique_ptr<reapi::EngineClient> engine_;
  std::unique_ptr<LogLinks> log_links_;
  std::unique_ptr<PipelineRunPort> run_port_;
  bool stopped_ = false;
};

}  // namespace mergeyard::exec
