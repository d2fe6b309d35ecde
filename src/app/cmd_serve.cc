// `mergeyard serve`: the configuration, the Service, and graceful shutdown on
// SIGINT/SIGTERM.

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <thread>

#include "app/commands.h"
#include "app/service.h"
#include "app/service_config.h"
#include "base/log.h"

namespace mergeyard::app {
namespace {

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

  // Signals go to the thread that waits for them, not to the workers.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto service = Service::Start(*config);
  if (!service.ok()) {
    LOG_ERROR("cannot start", {{"error", service.error().ToString()}});
    return service.error().code == ErrorCode::kInvalid ? 2 : 1;
  }
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGINT || sig == SIGTERM) LOG_INFO("shutting down", {{"signal", std::to_string(sig)}});
    (*service)->RequestStop();
  });
  const bool failed = (*service)->WaitUntilStoppedOrFailed();
  (*service)->Stop();
  // Release the signal thread if the engine stopped us rather than a signal.
  if (failed) pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return failed ? 1 : 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "Run the merge queue service: webhooks, engine, API, dashboard");
  static std::string config_path;
  cmd->add_option("--config", config_path, "service configuration (YAML); env vars override it");
  cmd->callback([exit_code] { *exit_code = Serve(config_path); });
}

}  // namespace mergeyard::app
