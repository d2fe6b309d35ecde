#include "exec/remote_executor.h"

#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "base/log.h"
#include "exec/file_name.h"
#include "exec/action_json.h"
#include "exec/git_cli_workspace.h"
#include "exec/local_executor.h"
#include "exec/reapi/remote_blob_access.h"
#include "exec/step_runner.h"

namespace mergeyard::exec {
namespace {

using nlohmann::json;

class Connection {
 public:
  Connection(const std::string& server, const std::string& token) : client_(server) {
    client_.set_bearer_token_auth(token.c_str());
    client_.set_connection_timeout(5, 0);
    client_.set_read_timeout(60, 0);
    client_.set_tcp_nodelay(true);
  }
  // status 0: no answer (connection failed)
  std::pair<int, json> Post(const std::string& path, const std::string& body,
                            const char* type = "application/json") {
    auto res = client_.Post(path.c_str(), body, type);
    if (!res) return {0, json()};
    json j;
    try {
      j = json::parse(res->body);
    } catch (...) {
    }
    return {res->status, j};
  }

 private:
  httplib::Client client_;
};

class Executor {
 public:
  Executor(const RemoteExecutorOptions& o, const std::atomic<bool>& stop)
      : o_(o), stop_(stop), clock_(),
        blob_cache_(o.work_dir + "/cas", o.cas_max_bytes),
        blobs_(blob_cache_, o.server, o.token),
        reapi_runner_(blobs_, o.id, o.sandbox, clock_, o.work_dir + "/scratch"),
        workspace_([this](const std::string& repo) -> std::optional<std::string> {
                     return o_.work_dir + "/mirrors/" + FileNameFor(repo) + ".git";
                   },
                   o.work_dir + "/worktrees",
                   [this](const std::string& repo) -> std::optional<std::string> {
                     std::lock_guard<std::mutex> lock(mu_);
                     auto it = urls_.find(repo);
                     if (it == urls_.end() || it->second.empty()) return std::nullopt;
                     return it->second;
                   }) {}

  int Run() {
    std::filesystem::create_directories(o_.work_dir + "/logs");
    std::filesystem::create_directories(o_.work_dir + "/scratch");
    if (Status s = blob_cache_.Open(); !s) {
      LOG_ERROR("cannot open the blob cache", {{"error", s.error().message}});
      return 1;
    }
    Connection conn(o_.server, o_.token);
    Duration backoff = 200;
    bool registered = false;
    int polls = 0;
    while (!stop_) {
      if (!registered || ++polls % 30 == 0) {
        int status = Register(conn);
        if (status == 401) {
          LOG_ERROR("the server refused the executor token", {{"server", o_.server}});
          Join();
          return 3;
        }
        if (status != 200) {
          Sleep(backoff);
          backoff = std::min<Duration>(backoff * 2, 5 * kSecond);
          continue;
        }
        registered = true;
        backoff = 200;
      }
      auto [status, body] = conn.Post("/api/v1/executors/" + o_.id + "/poll?wait=" +
                                          std::to_string(o_.poll_wait / 1000.0), "{}");
      if (status == 404 || status == 0 || status == 401) {
        registered = false;
        if (status == 0) Sleep(backoff);
        continue;
      }
      if (status != 200 || !body.contains("assignments")) continue;
      for (const auto& j : body["assignments"]) Spawn(j);
      Reap(false);
    }
    Join();
    return 0;
  }

 private:
  int Register(Connection& conn) {
    json res = {{"cpu", o_.capacity.cpu}, {"memory", o_.capacity.memory_bytes}};
    for (const auto& [k, v] : o_.capacity.custom) res[k] = v;
    json body = {{"id", o_.id}, {"resources", res}, {"labels", o_.labels},
                 {"warm_repos", workspace_.WarmRepos()}};
    lease_every_ = 3 * kSecond;
    auto [status, answer] = conn.Post("/api/v1/executors/register", body.dump());
    if (status == 200 && answer.contains("lease_duration_ms"))
      lease_every_ = std::max<Duration>(100, answer["lease_duration_ms"].get<Duration>() / 3);
    return status;
  }

  void Spawn(const json& j) {
    auto a = AssignmentFromJson(j);
    if (!a) {
      LOG_WARN("bad assignment", {{"error", a.error().message}});
      return;
    }
    if (a->action.has_input) {
      std::lock_guard<std::mutex> lock(mu_);
      urls_[a->action.input.repo] = j.value("fetch_url", "");
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    threads_.push_back({std::thread([this, a = *a, done] {
                          RunOne(a);
                          done->store(true);
                        }),
                        done});
  }

  void RunOne(const core::Assignment& a) {
    Connection conn(o_.server, o_.token);
    std::string log_path = o_.work_dir + "/logs/" + FileNameFor(a.lease) + ".log";
    std::atomic<bool> cancel{false};
    std::size_t sent = 0;
    Time last_renew = clock_.Now();
    auto flush_log = [&] {
      std::ifstream in(log_path, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(sent));
      std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (chunk.empty()) return;
      auto [status, body] = conn.Post("/api/v1/leases/" + a.lease + "/log", chunk, "text/plain");
      if (status == 200) sent += chunk.size();
    };
    auto heartbeat = [&] {
      if (stop_) cancel.store(true);
      flush_log();
      if (clock_.Now() - last_renew < lease_every_) return;
      auto [status, body] = conn.Post("/api/v1/leases/" + a.lease + "/renew", "{}");
      if (status == 200) last_renew = clock_.Now();
      else if (status == 404) cancel.store(true);  // lease lost: stop the step
      // status 0: server unreachable; keep running, the lease grace covers us
    };
    StepEnv env;
    env.checkouts = &workspace_;
    env.remote = &reapi_runner_;
    env.scratch_dir = o_.work_dir + "/scratch";
    env.executor_id = o_.id;
    env.sandbox = o_.sandbox;
    env.clock = &clock_;
    core::ActionResult result = RunAssignment(a, env, log_path, &cancel, heartbeat);
    flush_log();
    std::error_code ec;
    std::filesystem::remove(log_path, ec);
    if (cancel) return;
    json body = {{"result", ResultToJson(result)}};
    for (int attempt = 0; attempt < 50 && !stop_; ++attempt) {
      auto [status, answer] = conn.Post("/api/v1/leases/" + a.lease + "/complete", body.dump());
      if (status == 200) return;
      if (status != 0) {
        LOG_INFO("result refused", {{"lease", a.lease}, {"status", std::to_string(status)}});
        return;
      }
      Sleep(200);
    }
  }

  void Reap(bool all) {
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (all || it->done->load()) {
        it->thread.join();
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
  }
  void Join() { Reap(true); }
  void Sleep(Duration d) {
    for (Duration t = 0; t < d && !stop_; t += 50) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  RemoteExecutorOptions o_;
  const std::atomic<bool>& stop_;
  SystemClock clock_;
  ContentStore blob_cache_;           // REAPI inputs, hard-linked into action roots
  reapi::RemoteBlobAccess blobs_;
  reapi::ActionRunner reapi_runner_;
  std::mutex mu_;
  std::map<std::string, std::string> urls_;
  GitCliWorkspace workspace_;
  std::vector<Worker> threads_;
  std::atomic<Duration> lease_every_{3 * kSecond};
};

}  // namespace

int RunRemoteExecutor(const RemoteExecutorOptions& options, const std::atomic<bool>& stop) {
  RemoteExecutorOptions o = options;
  if (o.capacity.cpu <= 0) o.capacity = MachineCapacity();
  if (o.id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    o.id = FileNameFor(std::string(host) + "-" + std::to_string(getpid()));
  }
  if (o.work_dir.empty()) o.work_dir = "/tmp/mergeyard-executor-" + o.id;
  LOG_INFO("executor starting", {{"id", o.id}, {"server", o.server}, {"work_dir", o.work_dir}});
  Executor e(o, stop);
  return e.Run();
}

}  // namespace mergeyard::exec
