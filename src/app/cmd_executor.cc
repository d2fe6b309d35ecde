// `mergeyard executor --server URL --token-file FILE`: a remote executor
// (exec/remote_executor.h). Stops cleanly on SIGINT/SIGTERM.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

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

// Where an executor keeps its mirrors and checkouts unless told, in order of
// preference: a stable per-user cache, so a restarted executor finds its
// mirrors warm; then (no usable HOME: /nonexistent, a read-only /) a
// directory in /var/tmp that must be this user's alone (a name anyone can
// guess, in a directory anyone can write).
std::vector<std::string> DefaultWorkDirs() {
  std::vector<std::string> out;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (xdg && *xdg == '/') out.push_back(std::string(xdg) + "/mergeyard/executor");
  else if (home && *home == '/' && std::string(home) != "/") out.push_back(std::string(home) + "/.cache/mergeyard/executor");
  out.push_back("/var/tmp/mergeyard-executor-" + std::to_string(::getuid()));
  return out;
}

// For a work directory under /var/tmp: create it 0700, and refuse one that
// is a link, someone else's, or open to others.
Status CheckPrivate(const std::string& dir) {
  if (dir.rfind("/var/tmp/", 0) != 0) return Ok();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Internal("cannot create " + dir);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid() ||
      (st.st_mode & 077) != 0) {
    return Forbidden("refusing " + dir + ": not a private directory of this user; give --work-dir or set HOME");
  }
  return Ok();
}

// Removes the lock files a killed predecessor left in the mirrors of `dir`.
Status RepairMirrors(const std::string& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir + "/mirrors", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".git") continue;
    auto removed = git::RemoveStaleLockFiles(it->path().string());
    if (!removed) return removed.error();
    for (const auto& file : *removed) {
      LOG_WARN("executor: removed a lock file a killed process left", {{"mirror", it->path().string()}, {"file", file}});
    }
  }
  return Ok();
}

// One executor per work directory. Given --work-dir, that one or an error;
// by default the first of DefaultWorkDirs() that can be made, as it is or
// with -2, -3... when other executors hold it.
Result<std::string> ClaimWorkDir(const std::string& given) {
  const std::vector<std::string> bases = given.empty() ? DefaultWorkDirs() : std::vector<std::string>{given};
  Error last = Internal("no work directory");
  for (const auto& base : bases) {
    for (int n = 1; n <= 64; ++n) {
      std::string dir = n == 1 ? base : base + "-" + std::to_string(n);
      if (given.empty()) {
        if (auto st = CheckPrivate(dir); !st) return st.error();
      }
      auto lock = DirLock::Acquire(dir);
      if (lock.ok()) {
        g_work_dir_lock.emplace(std::move(*lock));
        if (auto st = RepairMirrors(dir); !st) return st.error();
        return dir;
      }
      last = lock.error();
      if (!given.empty()) return last;
      if (last.code != ErrorCode::kConflict) break;  // cannot be made here: the next base
    }
  }
  return last;
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
  auto work_dir = ClaimWorkDir(args.work_dir);
  if (!work_dir.ok()) {
    std::fprintf(stderr, "mergeyard executor: %s\n", work_dir.error().message.c_str());
    return 2;
  }
  o.work_dir = *work_dir;
  o.sandbox = !args.no_sandbox;
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
  cmd->add_option("--work-dir", args->work_dir,
                  "mirrors, worktrees and logs (default: $XDG_CACHE_HOME or ~/.cache, then mergeyard/executor, -2, -3...)");
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
