#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "exec/git_cli_workspace.h"
#include "exec/http_routes.h"
#include "exec/local_executor.h"
#include "exec_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec;
using namespace mergeyard::exec::testing;
using nlohmann::json;

namespace {

constexpr const char* kAdmin = "admin-secret";
constexpr const char* kExecutorToken = "executor-secret";

// The exec routes on 127.0.0.1:0, optionally with a local executor.
struct Server {
  Server(const std::string& root, bool local_executor, Duration lease = 10 * kSecond)
      : git(root + "/repo"),
        workspace([this](const std::string&) -> std::optional<std::string> { return git.mirror; },
                  root + "/worktrees") {
    ServiceOptions o;
    o.data_dir = root + "/data";
    o.tick = 20;
    o.backend.lease_duration = lease;
    o.backend.lease_grace = lease;
    o.fetch_url = [this](const std::string&) -> std::optional<std::string> { return git.mirror; };
    service = std::make_unique<ExecService>(o, clock);
    REQUIRE(service->Start());
    if (local_executor) {
      LocalExecutorOptions lo;
      lo.capacity = core::Resources{2, 0, {}};
      lo.scratch_dir = root + "/scratch";
      lo.sandbox = false;
      lo.poll_wait = 100;
      local = std::make_unique<LocalExecutor>(*service, &workspace, lo);
      local->Start();
    }
    RegisterRoutes(http, *service, &workspace, ApiTokens{kAdmin, kExecutorToken});
    port = http.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { http.listen_after_bind(); });
  }
  ~Server() {
    http.stop();
    thread.join();
    if (local) local->Stop();
    service->Stop();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port); }
  httplib::Client Client(const std::string& token = kAdmin) const {
    httplib::Client c("127.0.0.1", port);
    if (!token.empty()) c.set_bearer_token_auth(token.c_str());
    c.set_read_timeout(30, 0);
    return c;
  }

  SystemClock clock;
  GitFixture git;
  GitCliWorkspace workspace;
  std::unique_ptr<ExecService> service;
  std::unique_ptr<LocalExecutor> local;
  httplib::Server http;
  int port = 0;
  std::thread thread;
};

json Action(const std::string& cmd, const std::string& commit) {
  return {{"command", {"sh", "-c", cmd}}, {"env", {{"CI", "1"}}}, {"platform", {{"os", "linux"}}},
          {"timeout_s", 30}, {"input", {{"repo", "o/r"}, {"commit", commit}}},
          {"resources", {{"cpu", 1}, {"memory", "64MiB"}}}, {"group", "o/r"}, {"priority", 0}};
}

std::string Binary() {
  const char* b = std::getenv("MERGEYARD_BINARY");
  return b && std::filesystem::exists(b) ? b : "";
}

// Starts `mergeyard executor` in its own process group; returns its pid.
pid_t SpawnExecutor(const std::string& url, const std::string& token_file, const std::string& id,
                    const std::string& work) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    execl(Binary().c_str(), Binary().c_str(), "executor", "--server", url.c_str(), "--token-file",
          token_file.c_str(), "--id", id.c_str(), "--work-dir", work.c_str(), "--cpu", "1",
          "--poll-wait", "1", "--no-sandbox", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

void WriteFile(const std::string& p, const std::string& s) { std::ofstream(p) << s; }

}  // namespace

TEST_SUITE("exec") {

TEST_CASE("the execute API answers queued, then merged, then cached, and long-polls to completion") {
  TempDir dir;
  Server s(dir.path, /*local_executor=*/true);
  auto c = s.Client();
  json action = Action("sleep 0.3; cat src/file.txt", s.git.commit1);
  auto r1 = c.Post("/api/v1/actions/execute", action.dump(), "application/json");
  auto r2 = c.Post("/api/v1/actions/execute", action.dump(), "application/json");
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(r1->status == 200);
  json j1 = json::parse(r1->body), j2 = json::parse(r2->body);
  CHECK(j1["status"] == "queued");
  CHECK(j2["status"] == "merged");
  CHECK(j1["execution_id"] == j2["execution_id"]);
  CHECK(j1["action_digest"].get<std::string>().size() == 64);
  std::string id = j1["execution_id"];
  auto g = c.Get(("/api/v1/executions/" + id + "?wait=20").c_str());
  REQUIRE(g);
  CHECK(g->status == 200);
  json v = json::parse(g->body);
  CHECK(v["state"] == "completed");
  CHECK(v["waiters"] == 2);
  CHECK(v["result"]["exit_code"] == 0);
  CHECK(v["result"]["cached"] == false);
  CHECK(v["result"]["duration_ms"].get<long>() >= 300);
  CHECK(v["executor"] == "local");
  CHECK(v.contains("hedges"));
  auto log = c.Get(v["log_url"].get<std::string>().c_str());
  REQUIRE(log);
  CHECK(log->body.find("hello") != std::string::npos);
  auto r3 = c.Post("/api/v1/actions/execute", action.dump(), "application/json");
  CHECK(json::parse(r3->body)["status"] == "cached");
  CHECK(json::parse(r3->body)["result"]["cached"] == true);
}

TEST_CASE("the execute API refuses bad tokens, invalid actions and unknown ids with JSON errors") {
  TempDir dir;
  Server s(dir.path, /*local_executor=*/false);
  json action = Action("true", s.git.commit1);
  auto none = s.Client("").Post("/api/v1/actions/execute", action.dump(), "application/json");
  CHECK(none->status == 401);
  CHECK(json::parse(none->body)["error"]["code"] == "unauthorized");
  auto bad = s.Client("admin-secreT").Post("/api/v1/actions/execute", action.dump(), "application/json");
  CHECK(bad->status == 401);
  auto exec_token = s.Client(kExecutorToken).Post("/api/v1/actions/execute", action.dump(), "application/json");
  CHECK(exec_token->status == 401);
  auto c = s.Client();
  CHECK(c.Post("/api/v1/actions/execute", "{not json", "application/json")->status == 422);
  json no_cmd = action;
  no_cmd.erase("command");
  auto r = c.Post("/api/v1/actions/execute", no_cmd.dump(), "application/json");
  CHECK(r->status == 422);
  CHECK(json::parse(r->body)["error"]["code"] == "invalid_action");
  json bad_mem = action;
  bad_mem["resources"]["memory"] = "lots";
  CHECK(c.Post("/api/v1/actions/execute", bad_mem.dump(), "application/json")->status == 422);
  json bad_commit = Action("true", "1234567890123456789012345678901234567890");
  CHECK(c.Post("/api/v1/actions/execute", bad_commit.dump(), "application/json")->status == 422);
  auto g = c.Get("/api/v1/executions/nope");
  CHECK(g->status == 404);
  CHECK(json::parse(g->body)["error"]["code"] == "not_found");
  CHECK(s.Client().Post("/api/v1/executors/register", R"({"id":"x"})", "application/json")->status == 401);
}

TEST_CASE("a remote executor killed mid-step loses its lease and the step finishes elsewhere") {
  if (Binary().empty()) {
    MESSAGE("MERGEYARD_BINARY not built; skipping");
    return;
  }
  TempDir dir;
  Server s(dir.path, /*local_executor=*/false, /*lease=*/700);
  WriteFile(dir.path + "/token", std::string(kExecutorToken) + "\n");
  pid_t a = SpawnExecutor(s.Url(), dir.path + "/token", "exec-a", dir.path + "/ea");
  auto c = s.Client();
  auto r = c.Post("/api/v1/actions/execute", Action("sleep 2; cat src/file.txt", s.git.commit1).dump(),
                  "application/json");
  REQUIRE(r->status == 200);
  std::string id = json::parse(r->body)["execution_id"];
  REQUIRE(WaitFor([&] {
    auto v = s.service->View(id);
    return v && v->state == core::ExecState::kRunning && v->executor == "exec-a";
  }, 15000));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(-a, SIGKILL);  // the executor and its step, mid-step
  waitpid(a, nullptr, 0);
  pid_t b = SpawnExecutor(s.Url(), dir.path + "/token", "exec-b", dir.path + "/eb");
  auto g = c.Get(("/api/v1/executions/" + id + "?wait=30").c_str());
  kill(-b, SIGTERM);
  waitpid(b, nullptr, 0);
  REQUIRE(g);
  json v = json::parse(g->body);
  CHECK(v["state"] == "completed");
  CHECK(v["result"]["exit_code"] == 0);
  CHECK(v["result"]["executor"] == "exec-b");
  CHECK(v["attempts"] == 2);
  CHECK(s.service->Stats().lease_expired >= 1);
  auto log = c.Get(("/api/v1/executions/" + id + "/log").c_str());
  CHECK(log->body.find("hello") != std::string::npos);  // streamed from the remote executor
}

TEST_CASE("of two remote executors, one killed mid-step: the step finishes on the other in two attempts") {
  REQUIRE_MESSAGE(!Binary().empty(), "MERGEYARD_BINARY must name the built mergeyard");
  TempDir dir;
  Server s(dir.path, /*local_executor=*/false, /*lease=*/700);
  WriteFile(dir.path + "/token", std::string(kExecutorToken) + "\n");
  pid_t a = SpawnExecutor(s.Url(), dir.path + "/token", "exec-a", dir.path + "/ea");
  pid_t b = SpawnExecutor(s.Url(), dir.path + "/token", "exec-b", dir.path + "/eb");
  REQUIRE(WaitFor([&] { return s.service->ListExecutors().size() == 2; }, 15000));
  auto c = s.Client();
  auto r = c.Post("/api/v1/actions/execute", Action("sleep 1; cat src/file.txt", s.git.commit1).dump(),
                  "application/json");
  REQUIRE(r->status == 200);
  std::string id = json::parse(r->body)["execution_id"];
  std::string first;
  REQUIRE(WaitFor([&] {
    auto v = s.service->View(id);
    if (!v || v->state != core::ExecState::kRunning) return false;
    first = v->executor;
    return true;
  }, 15000));
  pid_t victim = first == "exec-a" ? a : b, survivor = first == "exec-a" ? b : a;
  auto killed_at = std::chrono::steady_clock::now();
  kill(-victim, SIGKILL);
  waitpid(victim, nullptr, 0);
  auto g = c.Get(("/api/v1/executions/" + id + "?wait=30").c_str());
  auto took = std::chrono::steady_clock::now() - killed_at;
  kill(-survivor, SIGTERM);
  waitpid(survivor, nullptr, 0);
  REQUIRE(g);
  json v = json::parse(g->body);
  CHECK(v["state"] == "completed");
  CHECK(v["result"]["exit_code"] == 0);
  CHECK(v["result"]["executor"] != first);
  CHECK(v["attempts"] == 2);
  // Lease 0.7 s + grace 0.7 s + the step's 1 s, with room for a loaded machine.
  CHECK(took < std::chrono::seconds(8));
}

TEST_CASE("an executor with a bad token is refused and exits") {
  if (Binary().empty()) {
    MESSAGE("MERGEYARD_BINARY not built; skipping");
    return;
  }
  TempDir dir;
  Server s(dir.path, /*local_executor=*/false);
  WriteFile(dir.path + "/token", "wrong-token\n");
  pid_t pid = SpawnExecutor(s.Url(), dir.path + "/token", "intruder", dir.path + "/e");
  int status = 0;
  bool exited = WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 10000);
  if (!exited) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  CHECK(exited);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  auto r = s.Client().Post("/api/v1/actions/execute", Action("true", s.git.commit1).dump(), "application/json");
  REQUIRE(r->status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(s.service->Stats().started == 0);  // nobody took the work
}

TEST_CASE("a late result from a lost lease is refused over HTTP") {
  TempDir dir;
  Server s(dir.path, /*local_executor=*/false, /*lease=*/200);
  httplib::Client e("127.0.0.1", s.port);
  e.set_bearer_token_auth(kExecutorToken);
  auto reg = e.Post("/api/v1/executors/register", R"({"id":"manual","resources":{"cpu":1},"labels":{"os":"linux"}})", "application/json");
  REQUIRE(reg->status == 200);
  CHECK(json::parse(reg->body)["lease_duration_ms"] == 200);
  auto r = s.Client().Post("/api/v1/actions/execute", Action("true", s.git.commit1).dump(), "application/json");
  REQUIRE(r->status == 200);
  auto poll = e.Post("/api/v1/executors/manual/poll?wait=5", "{}", "application/json");
  REQUIRE(poll->status == 200);
  json work = json::parse(poll->body)["assignments"];
  REQUIRE(work.size() == 1);
  CHECK(work[0]["fetch_url"] == s.git.mirror);
  std::string lease = work[0]["lease_id"];
  CHECK(e.Post(("/api/v1/leases/" + lease + "/renew").c_str(), "{}", "application/json")->status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // lease + grace pass
  CHECK(e.Post(("/api/v1/leases/" + lease + "/renew").c_str(), "{}", "application/json")->status == 404);
  json result = {{"result", {{"exit_code", 0}, {"duration_ms", 5}}}};
  auto late = e.Post(("/api/v1/leases/" + lease + "/complete").c_str(), result.dump(), "application/json");
  CHECK(late->status == 409);
  CHECK(json::parse(late->body)["error"]["code"] == "refused");
  // The same executor polls again and gets the re-queued attempt.
  auto again = e.Post("/api/v1/executors/manual/poll?wait=5", "{}", "application/json");
  json work2 = json::parse(again->body)["assignments"];
  REQUIRE(work2.size() == 1);
  CHECK(work2[0]["attempt"] == 2);
  std::string lease2 = work2[0]["lease_id"];
  CHECK(e.Post(("/api/v1/leases/" + lease2 + "/complete").c_str(), result.dump(), "application/json")->status == 200);
}

}  // TEST_SUITE
