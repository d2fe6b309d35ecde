#include <doctest/doctest.h>
#include <httplib.h>

#include <condition_variable>
#include <nlohmann/json.hpp>

#include "exec/exec_stack.h"
#include "exec_test_util.h"
#include "run_sink.h"

using namespace mergeyard;
using namespace mergeyard::exec;
using namespace mergeyard::exec::testing;

TEST_SUITE("exec") {

TEST_CASE("the exec stack serves the API and runs pipelines through the sandboxed local executor") {
  TempDir dir;
  GitFixture git(dir.path + "/repo");
  SystemClock clock;
  engine::RepoConfig cfg;
  cfg.pipeline = {engine::PipelineStep{.name = "unit", .run = "test \"$(cat src/file.txt)\" = hello"},
                  engine::PipelineStep{.name = "web", .run = "true", .inputs = {"src/"}}};
  ExecStackOptions o;
  o.data_dir = dir.path + "/exec";
  o.mirror_of = [&](const std::string& repo) -> std::optional<std::string> {
    if (repo == "o/r") return git.mirror;
    return std::nullopt;
  };
  o.configs = [&](const engine::QueueKey&) -> std::optional<engine::RepoConfig> { return cfg; };
  o.public_url = "http://mq";
  o.local.capacity = core::Resources{2, 0, {}};
  o.local.poll_wait = 100;
  auto stack = ExecStack::Start(o, clock);
  REQUIRE(stack);
  httplib::Server http;
  (*stack)->Mount(http, ApiTokens{"adm", "exe"});
  int port = http.bind_to_any_port("127.0.0.1");
  std::thread t([&] { http.listen_after_bind(); });

  RunSink sink;
  (*stack)->run_port().Start(engine::QueueKey{"o/r", "main"}, queue::StartRun{1, git.commit1}, sink);
  (*stack)->run_port().Start(engine::QueueKey{"o/r", "main"}, queue::StartRun{2, git.commit2}, sink);
  REQUIRE(sink.WaitCount(2));
  for (auto& f : sink.finished) CHECK(f.passed);
  // "web" declares inputs src/, which commit2 did not touch: one execution, then a cache hit
  // or a merge. "unit" covers the whole tree: two executions.
  CHECK((*stack)->service().Stats().started == 3);

  httplib::Client c("127.0.0.1", port);
  c.set_bearer_token_auth("adm");
  nlohmann::json action = {{"command", {"sh", "-c", "ls"}}, {"input", {{"repo", "o/r"}, {"commit", git.commit1}}}};
  auto r = c.Post("/api/v1/actions/execute", action.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto unknown = nlohmann::json{{"command", {"true"}}, {"input", {{"repo", "x/y"}, {"commit", git.commit1}}}};
  CHECK(c.Post("/api/v1/actions/execute", unknown.dump(), "application/json")->status == 422);
  http.stop();
  t.join();
  (*stack)->Stop();
}

}  // TEST_SUITE
