#include "exec/exec_stack.h"

#include "base/log.h"
#include "exec/process_runner.h"

namespace mergeyard::exec {

Result<std::unique_ptr<ExecStack>> ExecStack::Start(ExecStackOptions o, const Clock& clock) {
  if (o.data_dir.empty()) return Invalid("exec: data_dir is required");
  if (!o.configs) return Invalid("exec: a repository config lookup is required");
  std::unique_ptr<ExecStack> s(new ExecStack());
  if (!o.fetch_url) o.fetch_url = o.mirror_of;
  s->options_ = o;
  s->workspace_ = std::make_unique<GitCliWorkspace>(o.mirror_of, o.data_dir + "/worktrees");
  ServiceOptions so;
  so.backend = o.backend;
  so.data_dir = o.data_dir;
  so.fetch_url = o.fetch_url;
  so.cas_max_bytes = o.cas_max_bytes;
  s->service_ = std::make_unique<ExecService>(so, clock);
  if (Status st = s->service_->Start(); !st) return st.error();
  if (!o.reapi_remote.remote.empty()) {
    if (!o.reapi_remote.mirror_of) o.reapi_remote.mirror_of = o.mirror_of;
    auto engine = reapi::EngineClient::Create(o.reapi_remote);
    if (!engine) return engine.error();
    s->engine_ = std::move(*engine);
    LocalExecutorOptions lo = o.local;
    lo.id = "reapi-remote";
    lo.capacity = core::Resources{1024, 0, {}};  // the engine schedules; this only bounds what is in flight
    lo.scratch_dir = o.data_dir + "/scratch";
    lo.runner = [engine = s->engine_.get()](const core::Assignment& a, const std::string& log,
                                             const std::atomic<bool>* cancel, const std::function<void()>& beat) {
      return engine->Run(a, log, cancel, beat);
    };
    s->local_ = std::make_unique<LocalExecutor>(*s->service_, s->workspace_.get(), lo);
    s->local_->Start();
    LOG_INFO("pipeline steps run on a REAPI engine",
             {{"remote", o.reapi_remote.remote}, {"instance", o.reapi_remote.instance}});
  } else if (o.local_executor) {
    LocalExecutorOptions lo = o.local;
    if (lo.scratch_dir.empty()) lo.scratch_dir = o.data_dir + "/scratch";
    s->local_blobs_ = std::make_unique<reapi::LocalBlobAccess>(s->service_->content());
    s->local_reapi_ =
        std::make_unique<reapi::ActionRunner>(*s->local_blobs_, lo.id, lo.sandbox, clock, lo.scratch_dir);
    lo.remote = s->local_reapi_.get();
    s->local_ = std::make_unique<LocalExecutor>(*s->service_, s->workspace_.get(), lo);
    s->local_->Start();
    LOG_INFO("local executor started",
             {{"isolation", lo.sandbox && BwrapAvailable() ? "bwrap" : "process-group"}});
  }
  if (!o.reapi.listen.empty()) {
    auto server = reapi::Server::Start(o.reapi, *s->service_);
    if (!server) return server.error();
    s->reapi_server_ = std::move(*server);
    const bool loopback = o.reapi.listen.rfind("127.", 0) == 0 || o.reapi.listen.rfind("localhost:", 0) == 0 ||
                          o.reapi.listen.rfind("[::1]:", 0) == 0;
    if (o.reapi.token.empty() && !loopback)
      LOG_WARN("the REAPI listener takes calls from the network without a token: set reapi_token",
               {{"listen", o.reapi.listen}});
    LOG_INFO("REAPI server listening", {{"listen", o.reapi.listen}, {"port", std::to_string(s->reapi_server_->port())},
                                        {"auth", o.reapi.token.empty() ? "none" : "bearer token"},
                                        {"tls", o.reapi.tls_cert_file.empty() ? "off" : "on"}});
  }
  auto links = LogLinks::LoadOrCreate(o.data_dir + "/log-link.key");
  if (!links) return links.error();
  s->log_links_ = std::make_unique<LogLinks>(*links);
  s->run_port_ = std::make_unique<PipelineRunPort>(*s->service_, *s->workspace_, o.configs, o.public_url,
                                                   s->log_links_.get());
  return s;
}

ExecStack::~ExecStack() { Stop(); }

void ExecStack::Mount(httplib::Server& server, ApiTokens tokens) {
  tokens.log_links = log_links_.get();
  RegisterRoutes(server, *service_, workspace_.get(), std::move(tokens));
}

void ExecStack::Stop() {
  if (stopped_) return;
  stopped_ = true;
  run_port_.reset();
  if (reapi_server_) reapi_server_->Stop();
  if (local_) local_->Stop();
  if (service_) service_->Stop();
}

}  // namespace mergeyard::exec
