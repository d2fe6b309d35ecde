// The client of an external REAPI engine, against mergeyard's own server in
// another process (`mergeyard serve` with its REAPI listener), driven the
// way the queue drives it: pipeline runs through this process's ExecStack.
#include "exec/reapi/engine_client.h"

#include <doctest/doctest.h>

#include <condition_variable>

#include "app/serve_child.h"
#include "../run_sink.h"
#include "reapi_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec;
using namespace mergeyard::exec::reapi;
using namespace mergeyard::exec::testing;

namespace {

std::string Binary() {
  const char* b = std::getenv("MERGEYARD_BINARY");
  return b && std::filesystem::exists(b) ? b : "";
}

// A second mergeyard acting as the REAPI engine, with a token.
struct Engine {
  explicit Engine(const std::string& root) {
    auto port = app::FreeLoopbackPort();
    auto grpc = app::FreeLoopbackPort();
    REQUIRE((port && grpc));
    target = "grpc://127.0.0.1:" + std::to_string(*grpc);
    child = std::make_unique<app::ServeChild>(
        Binary(),
        std::map<std::string, std::string>{{"MERGEYARD_DATA_DIR", root + "/engine"},
                                           {"MERGEYARD_LISTEN", "127.0.0.1:" + std::to_string(*port)},
                                           {"MERGEYARD_ADMIN_TOKEN", "adm"},
                                           {"MERGEYARD_REAPI_LISTEN", "127.0.0.1:" + std::to_string(*grpc)},
                                           {"MERGEYARD_REAPI_TOKEN", "engine-token"}},
        root + "/engine.log", *port);
    REQUIRE(child->Start());
  }
  std::string target;
  std::unique_ptr<app::ServeChild> child;
};

// A repository, a second mergeyard as its engine, and the options of this
// process's stack that send every step of `cfg` there.
struct OnEngine {
  TempDir dir;
  GitFixture git{dir.path + "/repo"};
  Engine engine{dir.path};
  SystemClock clock;
  engine::RepoConfig cfg;

  ExecStackOptions Options(const std::string& token) {
    ExecStackOptions o;
    o.data_dir = dir.path + "/exec";
    o.mirror_of = [this](const std::string&) -> std::optional<std::string> { return git.mirror; };
    o.configs = [this](const engine::QueueKey&) -> std::optional<engine::RepoConfig> { return cfg; };
    o.public_url = "http://mq";
    o.reapi_remote.remote = engine.target;
    o.reapi_remote.token = token;
    return o;
  }
};

}  // namespace

TEST_SUITE("reapi") {

TEST_CASE("pipeline steps run on another mergeyard as REAPI engine; an unchanged tree uploads nothing") {
  REQUIRE_MESSAGE(!Binary().empty(), "MERGEYARD_BINARY must name the built mergeyard");
  OnEngine on;
  GitFixture& git = on.git;
  Sh("cd " + git.work + " && printf '#!/bin/sh\\necho tool ran\\n' > tool.sh && chmod +x tool.sh && "
     "ln -s src/file.txt link && git -c user.name=t -c user.email=t@e add -A && "
     "git -c user.name=t -c user.email=t@e commit -qm three && git push -q " + git.mirror + " HEAD:main");
  std::string commit3 = ShOut("git -C " + git.work + " rev-parse HEAD");
  on.cfg.pipeline = {
      engine::PipelineStep{.name = "unit", .run = "test \"$(cat link)\" = hello && ./tool.sh && echo \"$WHO\"",
                           .env = {{"WHO", "remote-env"}}},
      engine::PipelineStep{.name = "lint", .run = "echo lint says no >&2; exit 4"}};
  auto stack = ExecStack::Start(on.Options("engine-token"), on.clock);
  REQUIRE(stack);

  RunSink sink;
  (*stack)->run_port().Start(engine::QueueKey{"o/r", "main"}, queue::StartRun{1, commit3}, sink);
  REQUIRE(sink.WaitCount(1, 60000));
  CHECK(!sink.finished[0].passed);  // lint exits 4
  auto uploaded = (*stack)->engine_client()->stats();
  CHECK(uploaded.uploaded_blobs > 0);
  CHECK(uploaded.executes == 2);

  auto views = (*stack)->service().ListExecutions(10);
  bool saw_unit = false, saw_lint = false;
  for (const auto& v : views) {
    if (!v.result) continue;
    auto log = (*stack)->service().ReadLog(v.id);
    REQUIRE(log);
    if (v.name == "unit") {
      saw_unit = true;
      CHECK(v.result->exit_code == 0);
      CHECK(log->find("tool ran") != std::string::npos);
      CHECK(log->find("remote-env") != std::string::npos);
      CHECK(v.result->executor.rfind("reapi", 0) == 0);
    }
    if (v.name == "lint") {
      saw_lint = true;
      CHECK(v.result->exit_code == 4);
      CHECK(log->find("lint says no") != std::string::npos);
    }
  }
  CHECK(saw_unit);
  CHECK(saw_lint);

  // The same tree again (the failing step is not cached here, so it runs on
  // the engine again): its inputs are all there, only the step's own
  // Command and Action messages are sent.
  auto before = (*stack)->engine_client()->stats();
  (*stack)->run_port().Start(engine::QueueKey{"o/r", "main"}, queue::StartRun{2, commit3}, sink);
  REQUIRE(sink.WaitCount(2, 60000));
  auto after = (*stack)->engine_client()->stats();
  CHECK(after.executes == before.executes + 1);
  CHECK(after.uploaded_blobs - before.uploaded_blobs == 2);
  (*stack)->Stop();
}

TEST_CASE("a step on the engine shows its output in its log while it runs, and once") {
  REQUIRE_MESSAGE(!Binary().empty(), "MERGEYARD_BINARY must name the built mergeyard");
  OnEngine on;
  on.cfg.pipeline = {engine::PipelineStep{.name = "slow", .run = "echo first-line; sleep 3; echo second-line"}};
  auto stack = ExecStack::Start(on.Options("engine-token"), on.clock);
  REQUIRE(stack);
  const std::string commit = ShOut("git -C " + on.git.work + " rev-parse HEAD");
  RunSink sink;
  (*stack)->run_port().Start(engine::QueueKey{"o/r", "main"}, queue::StartRun{1, commit}, sink);
  bool live = false;
  REQUIRE(WaitFor([&] {
    for (const auto& v : (*stack)->service().ListExecutions(10)) {
      if (v.name != "slow" || v.result) continue;
      auto log = (*stack)->service().ReadLog(v.id);
      if (log && log->find("first-line") != std::string::npos && log->find("second-line") == std::string::npos)
        live = true;
    }
    std::lock_guard<std::mutex> lock(sink.mu);
    return live || !sink.finished.empty();
  }, 30000));
  CHECK(live);
  REQUIRE(sink.WaitCount(1, 60000));
  CHECK(sink.finished[0].passed);
  for (const auto& v : (*stack)->service().ListExecutions(10)) {
    if (v.name != "slow") continue;
    auto log = (*stack)->service().ReadLog(v.id);
    REQUIRE(log);
    CHECK(log->find("second-line") != std::string::npos);
    CHECK(log->find("first-line") == log->rfind("first-line"));  // streamed, not written again at the end
  }
  (*stack)->Stop();
}

TEST_CASE("a wrong engine token fails the step with the engine's answer, not a verdict") {
  REQUIRE_MESSAGE(!Binary().empty(), "MERGEYARD_BINARY must name the built mergeyard");
  OnEngine on;
  on.cfg.pipeline = {engine::PipelineStep{.name = "unit", .run = "true"}};
  ExecStackOptions o = on.Options("wrong");
  o.backend.max_attempts = 1;
  auto stack = ExecStack::Start(o, on.clock);
  REQUIRE(stack);
  RunSink sink;
  (*stack)->run_port().Start(engine::QueueKey{"o/r", "main"}, queue::StartRun{1, on.git.commit1}, sink);
  REQUIRE(sink.WaitCount(1, 60000));
  CHECK(!sink.finished[0].passed);
  bool saw_error = false;
  for (const auto& v : (*stack)->service().ListExecutions(10))
    if (v.result && v.result->error.find("UNAUTHENTICATED") != std::string::npos) saw_error = true;
  CHECK(saw_error);
  (*stack)->Stop();
}

}  // TEST_SUITE
