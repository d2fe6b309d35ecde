// `mergeyard executor --server URL --token-file FILE`: a remote executor
// (exec/remote_executor.h). Stops cleanly on SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "app/commands.h"
#include "app/dir_lock.h"
#include "base/log.h"
#include "exec/action_json.h"
#include "exec/remote_executor.h"
#include "git/stale_locks.h"

namespace mergeyard::app {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop.store(true); }

std::optional<DirLock> g_work_dir_lock;  // held until the process exits

// RemoteExecutorOptions::claim_work_dir: one executor per work directory,
// and the lock files a killed predecessor left in its mirrors removed.
Status ClaimWorkDir(const std::string& work_dir) {
  auto lock = DirLock::Acquire(work_dir);
  if (!lock.ok()) return lock.error();
  g_work_dir_lock.emplace(std::move(*lock));
  std::error_code ec;
  for (std::filesystem::directory_iterator it(work_dir + "/mirrors", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".git") continue;
    auto removed = git::RemoveStaleLockFiles(it->path().string());
    if (!removed) return removed.error();
    for (const auto& file : *removed) {
      LOG_WARN("executor: removed a lock file a killed process left", {{"mirror", it->path().string()}, {"file", file}});
    }
  }
  return Ok();
}

struct ExecutorArgs {
  std::string server, token_file, id, work_dir, memory;
  double cpu = 0;
  std::vector<std::string> labels, resources;
  bool no_sandbox = false;
  double poll_wait_s = 10;
};

int RunExecutor(const ExecutorArgs& args) {
  std::ifstream in(args.token_file);
  if (!in) {
    std::fprintf(stderr, "mergeyard executor: cannot read token file %s\n", args.token_file.c_str());
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  exec::RemoteExecutorOptions o;
  o.server = args.server;
  o.token = token;
  o.id = args.id;
  o.work_dir = args.work_dir;
  o.sandbox = !args.no_sandbox;
  o.claim_work_dir = ClaimWorkDir;
  o.poll_wait = static_cast<Duration>(args.poll_wait_s * 1000);
  if (args.cpu > 0) {
    o.capacity.cpu = args.cpu;
    if (!args.memory.empty()) {
      auto m = exec::ParseMemory(nlohmann::json(args.memory));
      if (!m) {
        std::fprintf(stderr, "mergeyard executor: --memory: %s\n", m.error().message.c_str());
        return 2;
      }
      o.capacity.memory_bytes = *m;
    }
  }
  for (const auto& kv : args.labels) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "mergeyard executor: --label wants KEY=VALUE\n");
      return 2;
    }
    o.labels[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& kv : args.resources) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "mergeyard executor: --resource wants NAME=COUNT\n");
      return 2;
    }
    o.capacity.custom[kv.substr(0, eq)] = std::stoll(kv.substr(eq + 1));
  }
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  return exec::RunRemoteExecutor(o, g_stop);
}

}  // namespace

void AddExecutorCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ExecutorArgs>();
  auto* cmd = app.add_subcommand("executor", "run a remote executor that pulls work from a server");
  cmd->add_option("--server", args->server, "server URL, e.g. http://127.0.0.1:8080")->required();
  cmd->add_option("--token-file", args->token_file, "file holding the executor token")->required();
  cmd->add_option("--id", args->id, "executor name (default: host-pid)");
  cmd->add_option("--work-dir", args->work_dir, "mirrors, worktrees and logs");
  cmd->add_option("--cpu", args->cpu, "cores offered (default: all)");
  cmd->add_option("--memory", args->memory, "memory offered, e.g. 8GiB (with --cpu)");
  cmd->add_option("--label", args->labels, "KEY=VALUE label matched against platform properties");
  cmd->add_option("--resource", args->resources, "NAME=COUNT custom resource, e.g. license=1");
  cmd->add_option("--poll-wait", args->poll_wait_s, "long-poll seconds");
  cmd->add_flag("--no-sandbox", args->no_sandbox, "do not use bubblewrap");
  cmd->callback([args, exit_code] {
    try {
      *exit_code = RunExecutor(*args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mergeyard executor: %s\n", e.what());
      *exit_code = 1;
    }
  });
}

}  // namespace mergeyard::app
