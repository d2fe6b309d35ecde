// `mergeyard serve`: the one HTTP listener, the engine thread, recovery from
// the SQLite store, and graceful shutdown on SIGINT/SIGTERM.

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "app/commands.h"
#include "app/service_config.h"
#include "app/timer_thread.h"
#include "base/log.h"
#include "engine/engine.h"
#include "exec/exec_stack.h"
#include "store/database.h"
#include "store/sqlite_state_store.h"

namespace mergeyard::app {
namespace {

// Stands in for the git, execution and forge adapters of repositories that
// have no forge configured: there are none, so nothing should ever reach it,
// and anything that does fails visibly instead of hanging.
class UnconfiguredPorts final : public engine::GitPort, public engine::RunPort,
                                public engine::ForgePort {
 public:
  void Build(const engine::QueueKey& key, const queue::BuildBatch& b, engine::EventSink& sink) override {
    sink.Post(key, queue::BuildFailed{b.batch, "no forge is configured for " + key.repo});
  }
  void Land(const engine::QueueKey& key, const queue::Land& l, engine::EventSink& sink) override {
    sink.Post(key, queue::LandResult{l.batch, false, l.expected_tip});
  }
  void Drop(const engine::QueueKey&, const queue::BatchDone&) override {}
  void Start(const engine::QueueKey& key, const queue::StartRun& r, engine::EventSink& sink) override {
    sink.Post(key, queue::RunFinished{r.batch, false, "setup", ""});
  }
  void Cancel(const engine::QueueKey&, const queue::CancelRun&) override {}
  void Report(const engine::QueueKey& key, const queue::Report& r) override {
    LOG_INFO("report", {{"repo", key.repo}, {"pr", std::to_string(r.pr)},
                        {"kind", queue::ReportKindName(r.kind)}, {"message", r.message}});
  }
};

bool SplitListen(const std::string& listen, std::string* host, int* port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  try {
    *port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return false;
  }
  return *port >= 0 && *port < 65536;
}

std::string Metrics(const engine::Engine& engine) {
  std::string out;
  out += "# HELP mergeyard_transitions_total Queue transitions committed since start.\n";
  out += "# TYPE mergeyard_transitions_total counter\n";
  out += "mergeyard_transitions_total " + std::to_string(engine.transitions()) + "\n";
  out += "# HELP mergeyard_queue_entries Live entries per queue and status.\n";
  out += "# TYPE mergeyard_queue_entries gauge\n";
  for (const auto& key : engine.Queues()) {
    auto state = engine.Snapshot(key);
    if (!state) continue;
    int waiting = 0, testing = 0;
    for (const auto& [pr, e] : state->entries)
      (e.status == queue::EntryStatus::kWaiting ? waiting : testing)++;
    std::string labels = "repo=\"" + JsonEscape(key.repo) + "\",branch=\"" + JsonEscape(key.branch) + "\"";
    out += "mergeyard_queue_entries{" + labels + ",status=\"waiting\"} " + std::to_string(waiting) + "\n";
    out += "mergeyard_queue_entries{" + labels + ",status=\"in_batch\"} " + std::to_string(testing) + "\n";
  }
  return out;
}

int Serve(const std::string& config_path) {
  std::optional<std::string> path;
  if (!config_path.empty()) path = config_path;
  auto config = LoadServiceConfig(path, MergeyardEnvironment());
  if (!config.ok()) {
    std::fprintf(stderr, "mergeyard serve: %s\n", config.error().message.c_str());
    return 2;
  }
  SetLogFormat(config->log_format);
  SetLogLevel(config->log_level);
  std::error_code ec;
  std::filesystem::create_directories(config->data_dir, ec);
  auto db = store::Database::Open(config->DatabasePath());
  if (!db.ok()) {
    LOG_ERROR("cannot open the database", {{"error", db.error().ToString()}});
    return 1;
  }
  std::string host;
  int port = 0;
  if (!SplitListen(config->listen, &host, &port)) {
    LOG_ERROR("listen must be host:port", {{"listen", config->listen}});
    return 2;
  }

  // Signals go to the thread that waits for them, not to the workers.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SystemClock clock;
  store::SqliteStateStore store(**db, clock);
  TimerThread timers(clock);
  UnconfiguredPorts unconfigured;

  exec::ExecStackOptions exec_options;
  exec_options.data_dir = config->data_dir + "/exec";
  std::string mirrors = config->data_dir + "/mirrors/";
  exec_options.mirror_of = [mirrors](const std::string& repo) -> std::optional<std::string> {
    std::string path = mirrors + repo + ".git";
    if (!std::filesystem::exists(path)) return std::nullopt;
    return path;
  };
  exec_options.configs = [](const std::string&) -> std::optional<engine::RepoConfig> {
    return std::nullopt;  // repository configurations arrive with the forge wiring
  };
  exec_options.public_url = config->public_url;
  auto exec_stack = exec::ExecStack::Start(exec_options, clock);
  if (!exec_stack.ok()) {
    LOG_ERROR("cannot start the execution backend", {{"error", exec_stack.error().ToString()}});
    return 1;
  }
  engine::Engine engine(engine::Ports{&unconfigured, &(*exec_stack)->run_port(), &unconfigured,
                                      &timers, &store, &clock});
  if (config->github.token.empty() && config->github.app_id.empty() && config->gitlab.token.empty() &&
      config->gitea.token.empty()) {
    LOG_WARN("no forge is configured: serving the execution API and metrics only");
  } else {
    LOG_WARN("forge settings are not wired into serve yet: pull requests are not acted on");
  }
  if (Status s = engine.Recover(); !s.ok()) {
    LOG_ERROR("recovery failed", {{"error", s.error().ToString()}});
    return 1;
  }

  httplib::Server http;
  http.set_tcp_nodelay(true);
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  http.Get("/metrics", [&engine](const httplib::Request&, httplib::Response& res) {
    res.set_content(Metrics(engine), "text/plain; version=0.0.4");
  });
  (*exec_stack)->Mount(http, exec::ApiTokens{config->admin_token, config->executor_token});
  if (port == 0) port = http.bind_to_any_port(host);
  else if (!http.bind_to_port(host, port)) port = -1;
  if (port < 0) {
    LOG_ERROR("cannot listen", {{"listen", config->listen}});
    return 1;
  }
  LOG_INFO("listening", {{"address", host + ":" + std::to_string(port)},
                         {"data_dir", config->data_dir}});

  std::atomic<bool> stopping{false};
  std::atomic<int> exit_code{0};
  std::thread http_thread([&] { http.listen_after_bind(); });
  std::thread engine_thread([&] {
    while (!stopping) {
      engine.WaitForEvent(500);
      auto ran = engine.Drain();
      if (!ran.ok()) {  // the store refused a transition: stop rather than diverge from it
        exit_code = 1;
        stopping = true;
        kill(getpid(), SIGTERM);
      }
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  LOG_INFO("shutting down", {{"signal", std::to_string(sig)}});
  stopping = true;
  http.stop();
  engine.Interrupt();
  http_thread.join();
  engine_thread.join();
  (*exec_stack)->Stop();
  return exit_code;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "Run the merge queue service: webhooks, engine, API");
  static std::string config_path;
  cmd->add_option("--config", config_path, "service configuration (YAML); env vars override it");
  cmd->callback([exit_code] { *exit_code = Serve(config_path); });
}

}  // namespace mergeyard::app
