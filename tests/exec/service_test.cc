#include <doctest/doctest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "exec/file_name.h"
#include "exec/git_cli_workspace.h"
#include "exec/http_routes.h"
#include "exec/local_executor.h"
#include "exec/pipeline_run_port.h"
#include "exec_test_util.h"
#include "run_sink.h"

using namespace mergeyard;
using namespace mergeyard::exec;
using namespace mergeyard::exec::testing;

namespace {

// A backend with a local executor on a real clock, in a temp directory.
struct LocalBackend {
  explicit LocalBackend(const std::string& root, bool sandbox = false, double cpu = 4,
                        std::function<void(core::BackendConfig&)> tune = nullptr)
      : git(GitFixture(root + "/repo")),
        workspace([this](const std::string&) -> std::optional<std::string> { return git.mirror; },
                  root + "/worktrees") {
    ServiceOptions o;
    o.data_dir = root + "/data";
    o.tick = 20;
    o.backend.no_waiter_grace = 200;
    if (tune) tune(o.backend);
    service = std::make_unique<ExecService>(o, clock);
    REQUIRE(service->Start());
    LocalExecutorOptions lo;
    lo.capacity = core::Resources{cpu, 0, {}};
    lo.scratch_dir = root + "/scratch";
    lo.sandbox = sandbox;
    lo.poll_wait = 100;
    local = std::make_unique<LocalExecutor>(*service, &workspace, lo);
    local->Start();
  }
  ~LocalBackend() {
    local->Stop();
    service->Stop();
  }
  core::Action Step(const std::string& cmd, const std::string& commit,
                    std::vector<std::string> paths = {}) {
    core::Action a;
    a.name = cmd;
    a.command = {"sh", "-c", cmd};
    a.timeout = 20 * kSecond;
    a.has_input = true;
    a.input.repo = "o/r";
    a.input.commit = commit;
    a.input.paths = std::move(paths);
    a.group = "o/r";
    REQUIRE(ResolveInputTree(workspace, a));
    return a;
  }

  SystemClock clock;
  GitFixture git;
  GitCliWorkspace workspace;
  std::unique_ptr<ExecService> service;
  std::unique_ptr<LocalExecutor> local;
};

struct Collected {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<core::Outcome> outcomes;
  ExecService::OutcomeFn Fn() {
    return [this](const core::Outcome& o) {
      std::lock_guard<std::mutex> lock(mu);
      outcomes.push_back(o);
      cv.notify_all();
    };
  }
  bool WaitCount(std::size_t n, int ms = 15000) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return outcomes.size() >= n; });
  }
};

}  // namespace

TEST_SUITE("exec") {

TEST_CASE("input trees come from git: whole-tree and declared-paths digests") {
  TempDir dir;
  GitFixture git(dir.path);
  GitCliWorkspace ws([&](const std::string&) -> std::optional<std::string> { return git.mirror; },
                     dir.path + "/wt");
  auto t1 = ws.TreeId("o/r", git.commit1);
  auto t2 = ws.TreeId("o/r", git.commit2);
  REQUIRE(t1);
  REQUIRE(t2);
  CHECK(*t1 != *t2);
  CHECK(*t1 == ShOut("git --git-dir=" + git.mirror + " rev-parse " + git.commit1 + "^{tree}"));
  CHECK_FALSE(ws.TreeId("o/r", "0000000000000000000000000000000000000000"));
  auto p1 = ws.PathId("o/r", git.commit1, "src/");
  auto p2 = ws.PathId("o/r", git.commit2, "src");
  REQUIRE(p1);
  CHECK(*p1 == *p2);  // the second commit touched only docs/
  CHECK_FALSE(ws.PathId("o/r", git.commit1, "nope"));
}

TEST_CASE("checkouts left by an earlier process are removed, not leaked, and never collide with new ones") {
  TempDir dir;
  GitFixture git(dir.path);
  auto mirror_of = [&](const std::string&) -> std::optional<std::string> { return git.mirror; };
  const std::string parent = dir.path + "/wt/" + FileNameFor("o/r");
  auto checkouts = [&] {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(parent)) out.insert(e.path().string());
    return out;
  };
  std::set<std::string> before;
  {
    GitCliWorkspace first(mirror_of, dir.path + "/wt");
    auto a = first.Acquire("o/r", git.commit1);
    auto b = first.Acquire("o/r", git.commit1);
    REQUIRE(a);
    REQUIRE(b);
    before = {*a, *b};
    // the process dies here: nothing is released
  }
  REQUIRE(checkouts() == before);
  // The restart runs in the same process, so with the same pid: the old
  // names are taken, as in a container whose service is always pid 1.
  GitCliWorkspace after(mirror_of, dir.path + "/wt");
  auto c = after.Acquire("o/r", git.commit2);
  REQUIRE(c);
  CHECK(ShOut("git -C " + *c + " rev-parse HEAD") == git.commit2);
  CHECK(checkouts() == std::set<std::string>{*c});
  CHECK(ShOut("git --git-dir=" + git.mirror + " worktree list --porcelain | grep -c '^worktree '") == "2");
  after.Release("o/r", *c);
  auto d = after.Acquire("o/r", git.commit1);  // warm: the released one
  REQUIRE(d);
  CHECK(*d == *c);
  CHECK(ShOut("git -C " + *d + " rev-parse HEAD") == git.commit1);
}

TEST_CASE("a step whose declared inputs a commit did not touch has the same digest there") {
  TempDir dir;
  LocalBackend b(dir.path);
  CHECK(core::ActionDigest(b.Step("t", b.git.commit1, {"src/"})) ==
        core::ActionDigest(b.Step("t", b.git.commit2, {"src/"})));
  CHECK(core::ActionDigest(b.Step("t", b.git.commit1, {"docs/"})) !=
        core::ActionDigest(b.Step("t", b.git.commit2, {"docs/"})));
  CHECK(core::ActionDigest(b.Step("t", b.git.commit1)) != core::ActionDigest(b.Step("t", b.git.commit2)));
}

TEST_CASE("the local executor runs a step in a checkout of the commit and caches the pass") {
  TempDir dir;
  LocalBackend b(dir.path, /*sandbox=*/true);
  Collected c;
  auto s = b.service->Submit(b.Step("cat src/file.txt && test ! -e ../escape", b.git.commit1), {}, c.Fn());
  CHECK(s.status == core::SubmitStatus::kQueued);
  REQUIRE(c.WaitCount(1));
  CHECK(c.outcomes[0].result.exit_code == 0);
  CHECK(c.outcomes[0].result.isolation == "bwrap");
  CHECK(c.outcomes[0].result.executor == "local");
  auto log = b.service->ReadLog(s.execution);
  REQUIRE(log);
  CHECK(log->find("hello") != std::string::npos);
  CHECK(log->find("isolation: bwrap") != std::string::npos);
  auto again = b.service->Submit(b.Step("cat src/file.txt && test ! -e ../escape", b.git.commit1), {}, nullptr);
  CHECK(again.status == core::SubmitStatus::kCached);
  // The worktree is reused (warm) for the next commit.
  Collected c2;
  b.service->Submit(b.Step("cat docs/readme", b.git.commit2), {}, c2.Fn());
  REQUIRE(c2.WaitCount(1));
  CHECK(c2.outcomes[0].result.exit_code == 0);
  CHECK(b.service->ReadLog(c2.outcomes[0].winner)->find("v2") != std::string::npos);
}

TEST_CASE("two identical actions submitted at once run once") {
  TempDir dir;
  LocalBackend b(dir.path);
  Collected c;
  core::Action a = b.Step("sleep 0.3; echo ran", b.git.commit1);
  std::vector<core::Submitted> subs(2);
  std::thread t1([&] { subs[0] = b.service->Submit(a, {}, c.Fn()); });
  std::thread t2([&] { subs[1] = b.service->Submit(a, {}, c.Fn()); });
  t1.join();
  t2.join();
  CHECK(subs[0].execution == subs[1].execution);
  CHECK(((subs[0].status == core::SubmitStatus::kMerged) != (subs[1].status == core::SubmitStatus::kMerged)));
  REQUIRE(c.WaitCount(2));
  CHECK(b.service->Stats().started == 1);
  for (auto& o : c.outcomes) {
    CHECK(o.result.exit_code == 0);
    CHECK(o.shared_by == 2);
  }
  auto v = b.service->View(subs[0].execution);
  CHECK(v->waiters == 2);
  CHECK(v->merged_submissions == 1);
}

TEST_CASE("a running local step nobody waits for is killed after the grace period") {
  TempDir dir;
  LocalBackend b(dir.path);
  auto s = b.service->Submit(b.Step("sleep 30", b.git.commit1), {}, nullptr);
  REQUIRE(WaitFor([&] { return b.service->View(s.execution)->state == core::ExecState::kRunning; }));
  CHECK(b.service->Leave(s.waiter));
  REQUIRE(WaitFor([&] { return b.service->View(s.execution)->state == core::ExecState::kCancelled; }, 5000));
  REQUIRE(WaitFor([&] { return b.service->ReadLog(s.execution)->find("cancelled") != std::string::npos; }, 5000));
}

TEST_CASE("a hedge unblocks a step that hangs only on its first attempt") {
  TempDir dir;
  LocalBackend b(dir.path, false, 4, [](core::BackendConfig& c) {
    c.max_hedges = 1;
    c.hedge_default_after = 400;
    c.hedge_min_after = 0;
  });
  std::string marker = dir.path + "/first-attempt";
  Collected c;
  auto s = b.service->Submit(
      b.Step("if [ -e " + marker + " ]; then echo fast; exit 0; fi; touch " + marker + "; sleep 30",
             b.git.commit1),
      {}, c.Fn());
  REQUIRE(c.WaitCount(1, 10000));
  CHECK(c.outcomes[0].result.exit_code == 0);
  CHECK(c.outcomes[0].winner != s.execution);  // the hedge won
  auto v = b.service->View(s.execution);
  CHECK(v->state == core::ExecState::kCompleted);
  CHECK(v->hedges.size() == 1);
  CHECK(v->winner == v->hedges[0]);
  // The primary's log URL shows the winning log; its own hung process is killed.
  CHECK(b.service->ReadLog(s.execution)->find("fast") != std::string::npos);
  REQUIRE(WaitFor([&] { return ReadFile(b.service->LiveLogPath(s.execution)).find("cancelled") != std::string::npos; }, 5000));
  CHECK(b.service->Stats().running == 0);
}

TEST_CASE("the run port runs the pipeline in order and reports the first failing step") {
  TempDir dir;
  LocalBackend b(dir.path);
  engine::RepoConfig cfg;
  engine::PipelineStep lint{.name = "lint", .run = "test -f src/file.txt"};
  engine::PipelineStep unit{.name = "unit", .run = "grep -q v2 docs/readme"};
  cfg.pipeline = {lint, unit};
  PipelineRunPort port(*b.service, b.workspace,
                       [&](const engine::QueueKey&) -> std::optional<engine::RepoConfig> { return cfg; },
                       "http://mq.example");
  RunSink sink;
  engine::QueueKey key{"o/r", "main"};
  port.Start(key, queue::StartRun{1, b.git.commit1}, sink);
  port.Start(key, queue::StartRun{2, b.git.commit2}, sink);
  port.Start(key, queue::StartRun{2, b.git.commit2}, sink);  // re-attach: still one answer
  REQUIRE(sink.WaitCount(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(sink.finished.size() == 2);
  std::map<queue::BatchId, queue::RunFinished> by;
  for (auto& f : sink.finished) by[f.batch] = f;
  CHECK_FALSE(by[1].passed);
  CHECK(by[1].failed_step == "unit");
  CHECK(by[1].log_url.rfind("http://mq.example/api/v1/executions/", 0) == 0);
  CHECK(by[2].passed);
  CHECK(by[2].failed_step.empty());
}

TEST_CASE("batches sharing a step share one execution and a merged failure is re-run unmerged") {
  TempDir dir;
  LocalBackend b(dir.path);
  engine::RepoConfig cfg;
  // Fails on its first execution only: the first run leaves a marker.
  std::string marker = dir.path + "/ran-once";
  engine::PipelineStep flaky{.name = "flaky",
                             .run = "sleep 0.3; if [ -e " + marker + " ]; then exit 0; fi; touch " +
                                    marker + "; exit 1"};
  cfg.pipeline = {flaky};
  PipelineRunPort port(*b.service, b.workspace,
                       [&](const engine::QueueKey&) -> std::optional<engine::RepoConfig> { return cfg; });
  RunSink sink;
  engine::QueueKey key{"o/r", "main"};
  port.Start(key, queue::StartRun{1, b.git.commit1}, sink);
  port.Start(key, queue::StartRun{2, b.git.commit1}, sink);  // same tree: merges
  REQUIRE(sink.WaitCount(2));
  for (auto& f : sink.finished) CHECK(f.passed);  // the flaky shared failure was not evidence
  CHECK(b.service->Stats().merged >= 1);
}

TEST_CASE("a cancelled run never answers and its execution is cancelled") {
  TempDir dir;
  LocalBackend b(dir.path);
  engine::RepoConfig cfg;
  cfg.pipeline = {engine::PipelineStep{.name = "slow", .run = "sleep 30"}};
  PipelineRunPort port(*b.service, b.workspace,
                       [&](const engine::QueueKey&) -> std::optional<engine::RepoConfig> { return cfg; });
  RunSink sink;
  engine::QueueKey key{"o/r", "main"};
  port.Start(key, queue::StartRun{7, b.git.commit1}, sink);
  REQUIRE(WaitFor([&] { return b.service->Stats().running == 1; }));
  port.Cancel(key, queue::CancelRun{7});
  REQUIRE(WaitFor([&] { return b.service->Stats().cancelled == 1; }, 5000));
  CHECK(sink.finished.empty());
  CHECK(port.active() == 0);
}

}  // TEST_SUITE
