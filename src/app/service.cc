#include "app/service.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "api/admin_api.h"
#include "api/metrics.h"
#include "base/metrics.h"
#include "app/async_git_port.h"
#include "app/dir_lock.h"
#include "app/forge_remote_resolver.h"
#include "app/git_merge_checker.h"
#include "app/timer_thread.h"
#include "base/log.h"
#include "engine/engine.h"
#include "exec/exec_stack.h"
#include "forge/admission.h"
#include "forge/ci_gate.h"
#include "forge/config_source.h"
#include "forge/directory.h"
#include "forge/reporter.h"
#include "forge/setup.h"
#include "git/mirror_git_port.h"
#include "store/database.h"
#include "store/forge_repo_store.h"
#include "store/sqlite_report_journal.h"
#include "store/sqlite_status_comments.h"
#include "store/sqlite_state_store.h"
#include "store/sqlite_verdict_cache.h"
#include "webhook/service.h"

namespace mergeyard::app {

// Declared in the order they are built; destroyed in reverse, so nothing
// outlives what it points at. Stop() tears the threads down explicitly first.
struct Service::Parts {
  ServiceConfig config;
  std::optional<DirLock> data_dir_lock;  // first taken, last released
  SystemClock clock;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::SqliteStateStore> store;
  std::unique_ptr<store::SqliteReportJournal> report_journal;  // the reporter's: outlives it
  std::unique_ptr<store::SqliteStatusComments> status_comments;  // the reporter's: outlives it
  std::unique_ptr<TimerThread> timers;
  std::unique_ptr<store::ForgeRepoStore> forge_repos;  // the directory's observer: outlives it
  forge::ForgeDirectory forges;
  std::unique_ptr<forge::ForgeClients> clients;
  std::unique_ptr<forge::ForgeConfigSource> configs;
  std::unique_ptr<ForgeRemoteResolver> resolver;
  std::unique_ptr<git::MirrorGitPort> git;
  std::unique_ptr<forge::Reporter> reporter;
  std::unique_ptr<exec::ExecStack> exec;
  std::unique_ptr<store::SqliteVerdictCache> verdicts;  // the CI gate's: outlives it
  std::unique_ptr<forge::CiGate> ci;                    // the engine's run port: outlives it
  std::unique_ptr<AsyncGitPort> async_git;
  std::unique_ptr<api::QueueMetrics> queue_metrics;  // the engine's observer: outlives it
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<GitMergeChecker> merges;
  std::unique_ptr<forge::Admitter> admission;  // the comment command's and admin enqueue's
  httplib::Server http;
  std::unique_ptr<webhook::Service> webhooks;
  int port = 0;
  std::thread http_thread;
  std::thread engine_thread;

  std::mutex mu;
  std::condition_variable cv;
  bool stop_requested = false;
  bool engine_failed = false;
  bool stopped = false;

  std::string PublicUrl() const {
    return config.public_url.empty() ? "http://" + config.listen : config.public_url;
  }
};

namespace {

forge::ForgeSettings ForgeSettingsOf(const ServiceConfig& c) {
  forge::ForgeSettings s;
  s.github_url = c.github.url;
  s.github_token = c.github.token;
  s.github_app_id = c.github.app_id;
  s.github_private_key_file = c.github.private_key_file;
  s.github_clone_url = c.github.clone_url;
  s.gitlab_url = c.gitlab.url;
  s.gitlab_token = c.gitlab.token;
  s.gitlab_clone_url = c.gitlab.clone_url;
  s.gitea_url = c.gitea.url;
  s.gitea_token = c.gitea.token;
  s.gitea_clone_url = c.gitea.clone_url;
  return s;
}

webhook::WebhookSecrets SecretsOf(const ServiceConfig& c) {
  webhook::WebhookSecrets s;
  s.default_secret = c.webhook_secret;
  for (const char* forge : {"github", "gitlab", "gitea"}) {
    const std::string secret = c.WebhookSecretFor(forge);
    if (!secret.empty()) s.per_forge[forge] = secret;
  }
  if (!c.WebhookSecretFor("gitea").empty()) s.per_forge["forgejo"] = c.WebhookSecretFor("gitea");
  return s;
}

// Teaches `forges` what webhooks taught it before the restart (the forge of
// each repository, GitHub App installations: through Remember, as a webhook
// would), then saves whatever it learns from now on. Rows of forges no longer
// configured are skipped. A database error loses only the knowledge (the
// next webhooks bring it back): logged, not fatal.
void MakeForgeDirectoryDurable(store::ForgeRepoStore& repos, forge::ForgeDirectory& forges) {
  auto rows = repos.LoadAll();
  if (!rows.ok()) {
    LOG_ERROR("cannot read which forge serves which repository", {{"error", rows.error().ToString()}});
  } else {
    for (const auto& row : *rows) {
      forge::ForgeKind kind;
      if (forge::ParseForgeKind(row.forge, &kind) && forges.ForKind(kind)) {
        forges.Remember(row.repo, kind, row.installation_id);
      }
    }
  }
  forges.OnLearned([&repos](const std::string& repo, forge::ForgeKind kind, std::int64_t installation_id) {
    if (Status s = repos.Save(repo, forge::ForgeKindName(kind), installation_id); !s.ok()) {
      LOG_WARN("cannot save which forge serves a repository", {{"repo", repo}, {"error", s.error().ToString()}});
    }
  });
}

}  // namespace

Result<std::unique_ptr<Service>> Service::Start(const ServiceConfig& config) {
  std::unique_ptr<Service> service(new Service());
  service->parts_ = std::make_unique<Parts>();
  Parts& p = *service->parts_;
  p.config = config;
  std::string host;
  if (!SplitListen(config.listen, &host, &p.port)) return Invalid("listen must be host:port, got " + config.listen);
  auto lock = DirLock::Acquire(config.data_dir);
  if (!lock.ok()) return lock.error();
  p.data_dir_lock.emplace(std::move(*lock));
  auto db = store::Database::Open(config.DatabasePath());
  if (!db.ok()) return Internal("cannot open the database: " + db.error().ToString());
  p.db = std::move(*db);
  p.store = std::make_unique<store::SqliteStateStore>(*p.db, p.clock);
  p.timers = std::make_unique<TimerThread>(p.clock);

  auto clients = forge::ConnectForges(ForgeSettingsOf(config), p.clock, p.forges);
  if (!clients.ok()) return clients.error();
  p.clients = std::move(*clients);
  p.forge_repos = std::make_unique<store::ForgeRepoStore>(*p.db, p.clock);
  MakeForgeDirectoryDurable(*p.forge_repos, p.forges);  // before the reporter's replay and the engine's recovery
  p.configs = std::make_unique<forge::ForgeConfigSource>(p.forges);
  p.resolver = std::make_unique<ForgeRemoteResolver>(p.forges, *p.clients);
  p.git = std::make_unique<git::MirrorGitPort>(config.data_dir, *p.resolver, p.clock);
  forge::ReporterOptions ro;
  ro.dashboard_url = p.PublicUrl();
  p.report_journal = std::make_unique<store::SqliteReportJournal>(*p.db, p.clock);
  p.status_comments = std::make_unique<store::SqliteStatusComments>(*p.db, p.clock);
  p.reporter = std::make_unique<forge::Reporter>(p.forges, *p.configs, p.clock, ro, p.report_journal.get(),
                                                 p.status_comments.get());

  exec::ExecStackOptions eo;
  eo.data_dir = config.data_dir + "/exec";
  git::MirrorGitPort* git = p.git.get();
  eo.mirror_of = [git](const std::string& repo) -> std::optional<std::string> {
    auto path = git->MirrorPath(repo);
    if (!path.ok() || !std::filesystem::exists(*path)) return std::nullopt;
    return *path;
  };
  forge::ForgeConfigSource* configs = p.configs.get();
  // After a restart nothing has loaded the configuration yet: read it then.
  eo.configs = [configs](const engine::QueueKey& key) -> std::optional<engine::RepoConfig> {
    if (auto good = configs->LastGood(key.repo, key.branch)) return good;
    auto loaded = configs->Load(key.repo, key.branch);
    if (!loaded.ok() || !loaded->present || !loaded->parse.ok()) return std::nullopt;
    return loaded->parse.config;
  };
  eo.public_url = p.PublicUrl();
  eo.local_executor = config.local_executors > 0;
  eo.local.capacity.cpu = config.local_executors;
  eo.cas_max_bytes = config.cas_max_bytes;
  eo.reapi.listen = config.reapi_listen;
  eo.reapi.token = config.reapi_token;
  eo.reapi.tls_cert_file = config.reapi_tls_cert_file;
  eo.reapi.tls_key_file = config.reapi_tls_key_file;
  eo.reapi_remote.remote = config.reapi_remote;
  eo.reapi_remote.instance = config.reapi_instance;
  eo.reapi_remote.token = config.reapi_remote_token.empty() ? config.reapi_token : config.reapi_remote_token;
  auto exec_stack = exec::ExecStack::Start(eo, p.clock);
  if (!exec_stack.ok()) return Internal("cannot start the execution backend: " + exec_stack.error().ToString());
  p.exec = std::move(*exec_stack);
  // Batches of repositories with `checks` also wait for their CI's verdicts.
  p.verdicts = std::make_unique<store::SqliteVerdictCache>(*p.db, p.clock);
  // A batch whose tree already passed the required checks, in a repository
  // with no pipeline, is not pushed: the forge's CI is not started for it
  // (the CI gate reuses the verdict), and it lands from the mirror.
  engine::VerdictCache* verdicts = p.verdicts.get();
  p.git->SetBatchPushWanted([configs, verdicts](const engine::QueueKey& key, const std::string& tree) {
    auto config = configs->LastGood(key.repo, key.branch);
    if (!config || !config->checks.active() || !config->pipeline.empty() || config->checks.from_branch_protection)
      return true;
    return !verdicts->Find(key.repo, tree, config->checks.required).ok();
  });
  exec::GitCliWorkspace* trees = &p.exec->workspace();
  p.ci = std::make_unique<forge::CiGate>(
      p.exec->run_port(), p.forges, eo.configs, p.clock, p.verdicts.get(),
      [trees](const std::string& repo, const std::string& commit) { return trees->TreeId(repo, commit); },
      forge::CiGateOptions{config.ci_poll_interval, config.ci_safety_poll_interval});

  p.async_git = std::make_unique<AsyncGitPort>(*p.git);
  p.engine = std::make_unique<engine::Engine>(
      engine::Ports{p.async_git.get(), p.ci.get(), p.reporter.get(), p.timers.get(), p.store.get(), &p.clock,
                   /*log_transitions=*/true});
  engine::Engine* engine = p.engine.get();
  p.configs->SetTipOf([engine](const std::string& repo, const std::string& branch) {
    return engine->Tip({repo, branch});
  }, &p.clock);
  p.queue_metrics = std::make_unique<api::QueueMetrics>(p.clock);
  p.engine->SetObserver(p.queue_metrics->Observer());
  p.engine->SetNewQueueConfig([configs](const engine::QueueKey& key) {
    auto good = configs->LastGood(key.repo, key.branch);
    return good ? good->queue : queue::QueueConfig{};
  });
  if (p.clients->configured().empty()) {
    LOG_WARN("no forge is configured: serving the dashboard, the API and the execution backend only");
  } else {
    std::string list;
    for (const auto& f : p.clients->configured()) list += (list.empty() ? "" : ", ") + f;
    LOG_INFO("forges configured", {{"forges", list}});
  }
  if (Status s = p.engine->Recover(); !s.ok()) return Internal("recovery failed: " + s.error().ToString());
  p.merges = std::make_unique<GitMergeChecker>(*p.git, *p.engine, *p.configs);
  p.admission = std::make_unique<forge::Admitter>(*p.configs, *p.merges, *p.engine);

  p.http.set_tcp_nodelay(true);
  // cpp-httplib's default pool (cores - 1, at least 8) let eight idle
  // executors' long polls starve webhooks and /healthz.
  const int http_threads = config.http_threads;
  p.http.new_task_queue = [http_threads] { return new httplib::ThreadPool(static_cast<size_t>(http_threads)); };
  // Routes answer their own errors; this covers the rest (unknown paths,
  // wrong methods) with the same JSON shape.
  p.http.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) -> httplib::Server::HandlerResponse {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const std::string code = res.status == 404 ? "not_found" : res.status == 405 ? "method_not_allowed" : "error";
    const std::string message = res.status == 404 ? "no such route" : "HTTP " + std::to_string(res.status);
    res.set_content("{\"error\": {\"code\": \"" + code + "\", \"message\": \"" + message + "\"}}",
                    "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  p.http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  exec::ExecService* exec_service = &p.exec->service();
  const exec::reapi::Counters* reapi_counters =
      p.exec->reapi_server() ? &p.exec->reapi_server()->counters() : nullptr;  // null: no REAPI server
  const Clock* clock = &p.clock;
  p.http.Get("/metrics", [engine, exec_service, clock, reapi_counters](const httplib::Request&,
                                                                       httplib::Response& res) {
    res.set_content(api::RenderMetrics(*engine, exec_service, metrics::Default(), *clock, reapi_counters),
                    api::kMetricsContentType);
  });
  p.exec->Mount(p.http, exec::ApiTokens{config.admin_token, config.executor_token});
  api::AdminDeps deps{p.engine.get(), p.store.get(), &p.forges, &p.exec->service()};
  deps.reapi = reapi_counters;
  deps.admission = p.admission.get();
  deps.ci = p.ci.get();
  api::MountAdminApi(p.http, deps, {config.admin_token, config.public_url});
  api::MountDashboard(p.http);
  webhook::ServiceOptions wo;
  wo.listener.secrets = SecretsOf(config);
  wo.processor.queued = [engine](const engine::QueueKey& key, std::int64_t pr) {
    auto state = engine->Snapshot(key);
    return state && state->entries.count(pr) > 0;
  };
  auto webhooks = webhook::Service::Start(p.http, *p.db, p.forges, *p.configs, *p.admission, *p.reporter, *p.engine,
                                          p.clock, wo);
  if (!webhooks.ok()) return Internal("cannot start the webhook listener: " + webhooks.error().ToString());
  p.webhooks = std::move(*webhooks);
  p.webhooks->processor().SetCiGate(p.ci.get());

  // Debian's cpp-httplib is built with a listen backlog of 5: a burst of
  // connections (webhooks, executors starting together) would wait for SYN
  // retransmits. Listening again on the bound socket raises it.
  int listen_fd = -1;
  p.http.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  if (p.port == 0) p.port = p.http.bind_to_any_port(host);
  else if (!p.http.bind_to_port(host, p.port)) p.port = -1;
  p.http.set_socket_options(httplib::default_socket_options);  // forget `listen_fd`
  if (p.port < 0) return Internal("cannot listen on " + config.listen);
  if (listen_fd >= 0 && ::listen(listen_fd, SOMAXCONN) != 0) {
    LOG_WARN("cannot raise the listen backlog", {{"error", std::strerror(errno)}});
  }
  LOG_INFO("listening", {{"address", host + ":" + std::to_string(p.port)}, {"data_dir", config.data_dir}});

  p.http_thread = std::thread([&p] { p.http.listen_after_bind(); });
  p.engine_thread = std::thread([&p] {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(p.mu);
        if (p.stop_requested) return;
      }
      p.engine->WaitForEvent(500);
      if (!p.engine->Drain().ok()) {  // the store refused a transition: stop rather than diverge from it
        std::lock_guard<std::mutex> lock(p.mu);
        p.engine_failed = true;
        p.stop_requested = true;
        p.cv.notify_all();
        return;
      }
    }
  });
  return service;
}

int Service::port() const { return parts_->port; }

void Service::RequestStop() {
  std::lock_guard<std::mutex> lock(parts_->mu);
  parts_->stop_requested = true;
  parts_->cv.notify_all();
}

bool Service::WaitUntilStoppedOrFailed() {
  std::unique_lock<std::mutex> lock(parts_->mu);
  parts_->cv.wait(lock, [&] { return parts_->stop_requested; });
  return parts_->engine_failed;
}

void Service::Stop() {
  if (!parts_) return;
  Parts& p = *parts_;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    if (p.stopped) return;
    p.stopped = true;
    p.stop_requested = true;
    p.cv.notify_all();
  }
  p.http.stop();
  if (p.http_thread.joinable()) p.http_thread.join();
  p.webhooks.reset();  // the processor stops posting
  if (p.engine) p.engine->Interrupt();
  if (p.engine_thread.joinable()) p.engine_thread.join();
  // Answers that arrive from here on are not processed; Recover() re-issues
  // what they answered on the next start.
  p.async_git.reset();
  p.ci.reset();  // its thread reads configurations, which asks the engine for tips
  if (p.exec) p.exec->Stop();
  p.reporter.reset();
  p.timers.reset();
}

Service::~Service() { Stop(); }

}  // namespace mergeyard::app
