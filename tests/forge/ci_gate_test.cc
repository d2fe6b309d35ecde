// forge::CiGate: a batch of a repository with `checks` passes only when its
// pipeline and every required check passed on its exact commit; webhooks and
// polls both decide, a silent check times out, abandoned CI is cancelled, and
// a tree that passed before is not sent to CI again.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "forge/ci_gate.h"

using namespace mergeyard;
using namespace mergeyard::forge;

namespace {

// The CI side of a forge, scripted: ListChecks answers what the test put in,
// and every call is counted.
class ScriptedCi final : public ForgeApi {
 public:
  ForgeKind kind() const override { return ForgeKind::kGithub; }
  Result<PullRequestInfo> GetPullRequest(const std::string&, std::int64_t) override { return NotFound("-"); }
  Result<Permission> GetPermission(const std::string&, const std::string&, std::int64_t) override {
    return Permission::kNone;
  }
  Result<FileContent> GetFile(const std::string&, const std::string&, const std::string&) override {
    return NotFound("-");
  }
  Result<std::vector<Comment>> ListComments(const std::string&, std::int64_t) override {
    return std::vector<Comment>{};
  }
  Result<std::int64_t> CreateComment(const std::string&, std::int64_t, const std::string&) override { return 1; }
  Status EditComment(const std::string&, std::int64_t, std::int64_t, const std::string&) override { return Ok(); }
  Status SetStatus(const std::string&, const CommitStatus&) override { return Ok(); }
  Status ClosePullRequest(const std::string&, std::int64_t) override { return Ok(); }
  Status AddLabel(const std::string&, std::int64_t, const std::string&) override { return Ok(); }

  Result<std::vector<CiCheck>> ListChecks(const std::string&, const std::string& sha) override {
    std::lock_guard<std::mutex> lock(mu);
    ++polls;
    if (fail_polls) return Transient("forge down");
    std::vector<CiCheck> out;
    for (const auto& c : checks)
      if (c.sha == sha) out.push_back(c);
    return out;
  }
  Status CancelChecks(const std::string&, const std::string& sha) override {
    std::lock_guard<std::mutex> lock(mu);
    cancelled.push_back(sha);
    return Ok();
  }
  Result<std::vector<std::string>> RequiredChecks(const std::string&, const std::string&) override {
    std::lock_guard<std::mutex> lock(mu);
    return protection;
  }

  void Report(CiCheck c) {
    std::lock_guard<std::mutex> lock(mu);
    checks.push_back(std::move(c));
  }
  std::vector<std::string> Cancelled() {
    std::lock_guard<std::mutex> lock(mu);
    return cancelled;
  }
  int Polls() {
    std::lock_guard<std::mutex> lock(mu);
    return polls;
  }

  std::mutex mu;
  std::vector<CiCheck> checks;
  std::vector<std::string> cancelled;
  std::vector<std::string> protection;
  int polls = 0;
  bool fail_polls = false;
};

// The inner pipeline port: answers what the test says, when it says.
class ScriptedPipeline final : public engine::RunPort {
 public:
  void Start(const engine::QueueKey& key, const queue::StartRun& run, engine::EventSink& sink) override {
    std::lock_guard<std::mutex> lock(mu);
    started.push_back(run.batch);
    sinks[run.batch] = {key, &sink};
  }
  void Cancel(const engine::QueueKey&, const queue::CancelRun& c) override {
    std::lock_guard<std::mutex> lock(mu);
    cancelled.push_back(c.batch);
  }
  // Waits up to 5 s until `n` runs started; the batches started.
  std::vector<queue::BatchId> AwaitStarted(std::size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (started.size() >= n) return started;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard<std::mutex> lock(mu);
    return started;
  }
  std::vector<queue::BatchId> Cancelled() {
    std::lock_guard<std::mutex> lock(mu);
    return cancelled;
  }
  void Answer(queue::RunFinished f) {
    std::pair<engine::QueueKey, engine::EventSink*> to;
    {
      std::lock_guard<std::mutex> lock(mu);
      to = sinks.at(f.batch);
    }
    to.second->Post(to.first, f);
  }
  std::mutex mu;
  std::vector<queue::BatchId> started, cancelled;
  std::map<queue::BatchId, std::pair<engine::QueueKey, engine::EventSink*>> sinks;
};

class Results final : public engine::EventSink {
 public:
  void Post(const engine::QueueKey&, queue::Event e) override {
    std::lock_guard<std::mutex> lock(mu);
    if (auto* f = std::get_if<queue::RunFinished>(&e)) finished.push_back(*f);
  }
  // Waits up to 5 s for `n` answers.
  std::vector<queue::RunFinished> Await(std::size_t n = 1) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (finished.size() >= n) return finished;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard<std::mutex> lock(mu);
    return finished;
  }
  std::size_t Count() {
    std::lock_guard<std::mutex> lock(mu);
    return finished.size();
  }
  std::mutex mu;
  std::vector<queue::RunFinished> finished;
};

// The system's time, moved forward by what a test skips.
class ShiftedClock final : public Clock {
 public:
  Time Now() const override { return system_.Now() + shift_.load(); }
  void Skip(Duration d) { shift_ += d; }

 private:
  SystemClock system_;
  std::atomic<Duration> shift_{0};
};

const engine::QueueKey kKey{"acme/widgets", "main"};
const std::string kSha(40, 'a');

struct Rig {
  explicit Rig(engine::RepoConfig config, CiGateOptions options = Fast(), bool with_cache = false)
      : ci(std::make_shared<ScriptedCi>()), config_(std::move(config)) {
    forges.Add(ci);
    gate = std::make_unique<CiGate>(
        pipeline, forges,
        [this](const engine::QueueKey&) {
          config_thread = std::this_thread::get_id();
          return std::optional(config_);
        },
        clock,
        with_cache ? &cache : nullptr,
        [](const std::string&, const std::string& commit) -> Result<std::string> { return "tree-of-" + commit.substr(0, 1); },
        options, &registry);
  }
  static CiGateOptions Fast() {
    CiGateOptions o;
    o.poll_interval = 50;  // ms
    o.safety_poll_interval = 60 * kSecond;
    o.max_poll_backoff = 200;
    return o;
  }
  void Start(queue::BatchId batch, const std::string& sha, Time started_at = 0) {
    gate->Start(kKey, queue::StartRun{batch, sha, started_at}, results);
  }

  ShiftedClock clock;
  metrics::Registry registry;
  ForgeDirectory forges;
  std::shared_ptr<ScriptedCi> ci;
  ScriptedPipeline pipeline;
  engine::MemoryVerdictCache cache;
  Results results;
  engine::RepoConfig config_;
  std::atomic<std::thread::id> config_thread{};
  std::unique_ptr<CiGate> gate;
};

engine::RepoConfig ChecksOnly(std::vector<std::string> required, Duration timeout = 2 * kHour) {
  engine::RepoConfig c;
  c.checks.required = std::move(required);
  c.checks.timeout = timeout;
  return c;
}

// Waits until batches 1..n show their required checks (their configuration was read).
bool WaitForPrepared(Rig& rig, int n) {
  for (int i = 0; i < 500; ++i) {
    int prepared = 0;
    for (int b = 1; b <= n; ++b) {
      auto v = rig.gate->View(kKey, b);
      prepared += v && !v->checks.empty();
    }
    if (prepared == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Whether /metrics counts one verdict from `source` with `result`.
bool Counted(Rig& rig, const std::string& source, const std::string& result) {
  const std::string text = rig.registry.Render();
  return text.find("mergeyard_ci_verdicts_total{source=\"" + source + "\",result=\"" + result + "\"} 1\n") !=
         std::string::npos;
}

CiCheck Check(const std::string& sha, const std::string& name, CiState state, const std::string& url = "") {
  return CiCheck{sha, name, state, state == CiState::kFailure ? "failure" : "", url};
}

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("a repository without checks runs its pipeline only, through the inner port") {
  engine::RepoConfig c;
  c.pipeline.push_back({"unit", "true"});
  Rig rig(c);
  rig.Start(1, kSha);
  REQUIRE(rig.pipeline.AwaitStarted(1) == std::vector<queue::BatchId>{1});
  // The configuration (a forge read after a restart) is not read on the caller's thread.
  CHECK(rig.config_thread.load() != std::this_thread::get_id());
  CHECK(rig.gate->waiting() == 0);
  rig.pipeline.Answer({1, true});
  CHECK(rig.results.Await().at(0).passed);
}

TEST_CASE("webhook verdicts pass a batch once every required check passed on its exact commit") {
  Rig rig(ChecksOnly({"build", "test"}, 2 * kHour), [] { auto o = Rig::Fast(); o.poll_interval = 60 * kSecond; return o; }());
  rig.Start(7, kSha);
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kSuccess)});
  rig.gate->Observe("acme/widgets", {Check(std::string(40, 'b'), "test", CiState::kSuccess)});  // another commit
  rig.gate->Observe("other/repo", {Check(kSha, "test", CiState::kSuccess)});                   // another repo
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(rig.results.Count() == 0);
  rig.gate->Observe("acme/widgets", {Check(kSha, "test", CiState::kSuccess)});
  auto done = rig.results.Await();
  REQUIRE(done.size() == 1);
  CHECK(done[0].batch == 7);
  CHECK(done[0].passed);
  CHECK(rig.ci->Polls() == 0);  // webhooks decided: no poll was due yet
  CHECK(Counted(rig, "webhook", "pass"));
  auto view = rig.gate->View(kKey, 7);
  REQUIRE(view);
  CHECK(view->decided);
  REQUIRE(view->checks.size() == 2);
  CHECK(view->checks[1].source == "webhook");
}

TEST_CASE("verdicts a fast CI sent before the batch began to wait count for it") {
  Rig rig(ChecksOnly({"build", "test"}, 2 * kHour), [] { auto o = Rig::Fast(); o.poll_interval = 60 * kSecond; return o; }());
  // The push of the batch commit started the CI, which answered before the
  // engine's StartRun reached the gate.
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kSuccess), Check(kSha, "test", CiState::kSuccess)});
  rig.Start(8, kSha);
  auto done = rig.results.Await();
  REQUIRE(done.size() == 1);
  CHECK(done[0].passed);
  CHECK(rig.ci->Polls() == 0);
  CHECK(Counted(rig, "webhook", "pass"));
}

TEST_CASE("while CI webhooks arrive, a waiting batch is first polled at the safety interval") {
  Rig rig(ChecksOnly({"build"}, 2 * kHour), [] {
    auto o = Rig::Fast();
    o.poll_interval = 20;
    o.safety_poll_interval = kHour;
    return o;
  }());
  rig.gate->Observe("acme/widgets", {Check(std::string(40, 'c'), "build", CiState::kSuccess)});  // webhooks flow
  rig.Start(9, kSha);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(rig.ci->Polls() == 0);
  CHECK(rig.results.Count() == 0);
}

TEST_CASE("while CI webhooks arrive, a batch is not polled before the repository's CI usually answers") {
  Rig rig(ChecksOnly({"build"}, 2 * kHour), [] {
    auto o = Rig::Fast();
    o.safety_poll_interval = 50;  // ms: without what it learned, the gate would poll at once
    return o;
  }());
  // Five runs whose webhooks came ten minutes after they started.
  for (int i = 1; i <= 5; ++i) rig.Start(i, std::string(40, static_cast<char>('0' + i)));
  REQUIRE(WaitForPrepared(rig, 5));
  rig.clock.Skip(10 * kMinute);
  for (int i = 1; i <= 5; ++i)
    rig.gate->Observe("acme/widgets", {Check(std::string(40, static_cast<char>('0' + i)), "build", CiState::kSuccess)});
  REQUIRE(rig.results.Await(5).size() == 5);
  const int polls = rig.ci->Polls();
  rig.Start(6, kSha);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(rig.ci->Polls() == polls);  // the next poll is due ten minutes after it started
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kSuccess)});
  CHECK(rig.results.Await(6).size() == 6);
}

TEST_CASE("the first required check that fails fails the run, naming it and linking its page") {
  Rig rig(ChecksOnly({"build", "test"}));
  rig.Start(3, kSha);
  rig.gate->Observe("acme/widgets", {Check(kSha, "test", CiState::kFailure, "https://ci/test/1")});
  auto done = rig.results.Await();
  REQUIRE(done.size() == 1);
  CHECK_FALSE(done[0].passed);
  CHECK(done[0].failure == queue::FailureKind::kCheck);
  CHECK(done[0].failed_step == "test");
  CHECK(done[0].log_url == "https://ci/test/1");
  CHECK(done[0].failure_detail == "failure");
  // The failed batch's other CI is not needed any more.
  for (int i = 0; i < 100 && rig.ci->Cancelled().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(rig.ci->Cancelled() == std::vector<std::string>{kSha});
}

TEST_CASE("without webhooks, polling decides") {
  Rig rig(ChecksOnly({"pipeline"}));
  rig.ci->Report(Check(kSha, "pipeline", CiState::kSuccess, "https://gitlab/p/1"));
  rig.Start(2, kSha);
  auto done = rig.results.Await();
  REQUIRE(done.size() == 1);
  CHECK(done[0].passed);
  CHECK(rig.ci->Polls() >= 1);
  CHECK(rig.gate->View(kKey, 2)->checks.at(0).source == "poll");
  CHECK(Counted(rig, "poll", "pass"));
}

TEST_CASE("a run re-issued after a restart is polled at once") {
  auto slow = Rig::Fast();
  slow.poll_interval = 60 * kSecond;
  Rig rig(ChecksOnly({"build"}), slow);
  rig.ci->Report(Check(kSha, "build", CiState::kSuccess));
  rig.Start(4, kSha, SystemClock().Now() - 10 * kMinute);
  auto done = rig.results.Await();
  REQUIRE(done.size() == 1);
  CHECK(done[0].passed);
}

TEST_CASE("a required check that never reports fails the run when the timeout passes") {
  Rig rig(ChecksOnly({"build", "slow"}, 300));  // 300 ms
  rig.Start(5, kSha);
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kSuccess), Check(kSha, "slow", CiState::kPending, "https://ci/slow")});
  auto done = rig.results.Await();
  REQUIRE(done.size() == 1);
  CHECK_FALSE(done[0].passed);
  CHECK(done[0].failure == queue::FailureKind::kCheckTimeout);
  CHECK(Counted(rig, "timeout", "fail"));
  CHECK(done[0].failed_step == "slow");
  CHECK(done[0].log_url == "https://ci/slow");
}

TEST_CASE("a late pending webhook does not undo a verdict") {
  Rig rig(ChecksOnly({"build", "test"}), [] { auto o = Rig::Fast(); o.poll_interval = 60 * kSecond; return o; }());
  rig.Start(6, kSha);
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kSuccess)});
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kPending)});
  rig.gate->Observe("acme/widgets", {Check(kSha, "test", CiState::kSuccess)});
  auto done = rig.results.Await();
  REQUIRE(done.size() == 1);
  CHECK(done[0].passed);
}

TEST_CASE("with a pipeline too, the batch passes only when both passed; a failing step fails it") {
  engine::RepoConfig c = ChecksOnly({"build"});
  c.pipeline.push_back({"unit", "true"});
  Rig rig(c, [] { auto o = Rig::Fast(); o.poll_interval = 60 * kSecond; return o; }());
  rig.Start(8, kSha);
  rig.Start(9, std::string(40, 'c'));
  REQUIRE(rig.pipeline.AwaitStarted(2).size() == 2);
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kSuccess)});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(rig.results.Count() == 0);  // the pipeline is still running
  rig.pipeline.Answer({8, true});
  auto done = rig.results.Await();
  REQUIRE(done.size() == 1);
  CHECK(done[0].passed);
  rig.pipeline.Answer({9, false, "unit", "log://9"});
  done = rig.results.Await(2);
  REQUIRE(done.size() == 2);
  CHECK_FALSE(done[1].passed);
  CHECK(done[1].failed_step == "unit");
  CHECK(done[1].failure == queue::FailureKind::kStep);
  // A failing step is the pipeline's verdict, not the CI's.
  CHECK(Counted(rig, "webhook", "pass"));
  CHECK(rig.registry.Render().find("result=\"fail\"") == std::string::npos);
}

TEST_CASE("a cancelled run cancels its CI and its pipeline, and answers nothing") {
  engine::RepoConfig c = ChecksOnly({"build"});
  c.pipeline.push_back({"unit", "true"});
  Rig rig(c);
  rig.Start(10, kSha);
  rig.gate->Cancel(kKey, queue::CancelRun{10});
  for (int i = 0; i < 100 && rig.ci->Cancelled().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(rig.ci->Cancelled() == std::vector<std::string>{kSha});
  CHECK(rig.pipeline.Cancelled() == std::vector<queue::BatchId>{10});
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kSuccess)});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(rig.results.Count() == 0);
  CHECK(rig.gate->waiting() == 0);
}

TEST_CASE("a tree whose checks passed before is not sent to CI again") {
  Rig rig(ChecksOnly({"build"}), [] { auto o = Rig::Fast(); o.poll_interval = 60 * kSecond; return o; }(),
          /*with_cache=*/true);
  rig.Start(11, kSha);
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kSuccess, "https://ci/build/11")});
  REQUIRE(rig.results.Await().size() == 1);
  // Another commit with the same tree (the scripted tree lookup maps "a…" commits to one tree).
  const std::string same_tree = "a" + std::string(39, 'f');
  for (int i = 0; i < 100; ++i) {  // the pass is remembered on the gate's thread
    if (rig.cache.Find("acme/widgets", "tree-of-a", {"build"}).ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  rig.Start(12, same_tree);
  auto done = rig.results.Await(2);
  REQUIRE(done.size() == 2);
  CHECK(done[1].passed);
  auto view = rig.gate->View(kKey, 12);
  REQUIRE(view);
  CHECK(view->cached);
  CHECK(view->checks.at(0).url == "https://ci/build/11");
  for (int i = 0; i < 100 && rig.ci->Cancelled().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(rig.ci->Cancelled() == std::vector<std::string>{same_tree});  // the CI its push started
  CHECK(rig.ci->Polls() == 0);
  CHECK(Counted(rig, "cache", "pass"));
}

TEST_CASE("branch protection adds its required checks to the configured ones") {
  engine::RepoConfig c = ChecksOnly({"build"});
  c.checks.from_branch_protection = true;
  Rig rig(c, [] { auto o = Rig::Fast(); o.poll_interval = 60 * kSecond; return o; }());
  rig.ci->protection = {"lint", "build"};
  rig.Start(13, kSha);
  rig.gate->Observe("acme/widgets", {Check(kSha, "build", CiState::kSuccess)});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(rig.results.Count() == 0);
  auto view = rig.gate->View(kKey, 13);
  REQUIRE(view);
  REQUIRE(view->checks.size() == 2);
  CHECK(view->checks[1].name == "lint");
  rig.gate->Observe("acme/widgets", {Check(kSha, "lint", CiState::kSuccess)});
  CHECK(rig.results.Await().at(0).passed);
}

TEST_CASE("failed polls back off and the run is still decided when the forge answers again") {
  Rig rig(ChecksOnly({"build"}));
  rig.ci->fail_polls = true;
  rig.ci->Report(Check(kSha, "build", CiState::kSuccess));
  rig.Start(14, kSha, SystemClock().Now() - kMinute);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int failed = rig.ci->Polls();
  CHECK(failed >= 1);
  CHECK(failed <= 4);  // 50, 100, 200, 200 ms apart at most
  {
    std::lock_guard<std::mutex> lock(rig.ci->mu);
    rig.ci->fail_polls = false;
  }
  CHECK(rig.results.Await().at(0).passed);
}

}  // TEST_SUITE
