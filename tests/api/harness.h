#pragma once
// The admin API on loopback: a real Engine (fake git/run/forge/timer ports
// that the test drives), a real SQLite store in a temp dir, optionally a real
// ExecService (or an ExecStack with a REAPI server), and the routes mounted
// on an httplib server bound to port 0.
// Engine events posted by the API are processed when the test calls Drain()
// (standing in for the engine thread), so every step is deterministic.

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/admin_api.h"
#include "forge/admission.h"
#include "base/clock.h"
#include "base/log.h"
#include "engine/engine.h"
#include "exec/exec_service.h"
#include "exec/exec_stack.h"
#include "exec/http_routes.h"
#include "store/database.h"
#include "store/sqlite_state_store.h"
#include "temp_dir.h"

namespace mergeyard::testing {

// A 40-hex-digit id, different for each (tag, n), starting with `tag` (a hex digit).
inline std::string Sha(char tag, std::int64_t n) {
  std::uint64_t x = static_cast<std::uint64_t>(n) * 0x9e3779b97f4a7c15ULL + static_cast<unsigned char>(tag);
  std::string out(1, tag);
  while (out.size() < 40) {  // splitmix64
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(z));
    out += buf;
  }
  return out.substr(0, 40);
}

// Builds succeed at once (commit Sha('c', batch)), landings succeed, runs
// wait for the test to answer them; everything is recorded.
class FakePorts final : public engine::GitPort, public engine::RunPort, public engine::ForgePort,
                        public engine::TimerPort {
 public:
  void Build(const engine::QueueKey& key, const queue::BuildBatch& b, engine::EventSink& sink) override {
    sink.Post(key, queue::BatchBuilt{b.batch, Sha('c', b.batch), {}});
  }
  void Land(const engine::QueueKey& key, const queue::Land& l, engine::EventSink& sink) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      landed_.push_back(l.batch);
    }
    sink.Post(key, queue::LandResult{l.batch, true, l.commit});
  }
  void Drop(const engine::QueueKey&, const queue::BatchDone&) override {}
  void Start(const engine::QueueKey&, const queue::StartRun& r, engine::EventSink&) override {
    std::lock_guard<std::mutex> lock(mu_);
    started_.push_back(r.batch);
  }
  void Cancel(const engine::QueueKey&, const queue::CancelRun&) override {}
  void Report(const engine::QueueKey&, const queue::Report& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    reports_.push_back(r);
  }
  void Arm(const engine::QueueKey&, Time, engine::EventSink&) override {}

  std::vector<queue::Report> reports() {
    std::lock_guard<std::mutex> lock(mu_);
    return reports_;
  }
  std::vector<queue::BatchId> landed() {
    std::lock_guard<std::mutex> lock(mu_);
    return landed_;
  }

 private:
  std::mutex mu_;
  std::vector<queue::BatchId> started_, landed_;
  std::vector<queue::Report> reports_;
};

struct HarnessOptions {
  std::string admin_token = "admin-secret";
  bool history = true;                  // hand the SQLite store to the API
  bool exec = false;                    // run an ExecService and mount its routes too
  // Instead of a bare ExecService: an exec::ExecStack with its local executor
  // (4 cpu) and a REAPI server on 127.0.0.1:0 (reapi_target()); the API shows
  // its counters. Implies exec.
  bool reapi = false;
  // With exec (and not reapi): the REAPI counters the API shows; null: none.
  const exec::reapi::Counters* reapi_counters = nullptr;
  forge::ForgeDirectory* forges = nullptr;
  // With forges, configs and merges all set, admin enqueue runs the
  // admission path (forge::Admitter) over them; otherwise it answers 503.
  forge::ConfigSource* configs = nullptr;
  engine::MergeChecker* merges = nullptr;
  forge::CiGate* ci = nullptr;          // batches gated on external CI show their checks
  std::string public_url;
};

// An HTTP answer: status, body text, body parsed (null when not JSON), headers.
struct Reply {
  int status = -1;
  std::string text;
  nlohmann::json body;
  httplib::Headers headers;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  std::string code() const {
    return body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
  }
};

class ApiHarness {
 public:
  static constexpr const char* kRepo = "acme/widgets";
  static constexpr const char* kExecutorToken = "executor-secret";

  explicit ApiHarness(HarnessOptions options = {})
      : options_(std::move(options)), clock_(SystemClock().Now() - 30 * kMinute) {
    SetLogLevel(LogLevel::kWarn);
    auto db = store::Database::Open(dir_.File("state.sqlite"));
    REQUIRE(db.ok());
    db_ = std::move(*db);
    store_ = std::make_unique<store::SqliteStateStore>(*db_, clock_);
    engine_ = std::make_unique<engine::Engine>(
        engine::Ports{&ports_, &ports_, &ports_, &ports_, store_.get(), &clock_});
    engine_->SetNewQueueConfig([](const engine::QueueKey&) {
      queue::QueueConfig c;
      c.target_batch_size = 2;
      c.max_wait = 60 * kMinute;
      c.concurrency = 2;
      c.bisection_concurrency = 2;
      return c;
    });
    const exec::reapi::Counters* reapi_counters = options_.reapi_counters;
    if (options_.reapi) {
      StartReapiStack();
      reapi_counters = &stack_->reapi_server()->counters();
    } else if (options_.exec) {
      exec::ServiceOptions so;
      so.data_dir = dir_.File("exec");
      exec_ = std::make_unique<exec::ExecService>(so, system_clock_);
      REQUIRE(exec_->Start().ok());
      exec::RegisterRoutes(server_, *exec_, nullptr, {options_.admin_token, kExecutorToken});
    }
    api::AdminDeps deps;
    deps.engine = engine_.get();
    deps.history = options_.history ? store_.get() : nullptr;
    deps.forges = options_.forges;
    deps.exec = stack_ ? &stack_->service() : exec_.get();
    deps.reapi = reapi_counters;
    if (options_.forges && options_.configs && options_.merges) {
      admission_ = std::make_unique<forge::Admitter>(*options_.configs, *options_.merges, post_only_);
      deps.admission = admission_.get();
    }
    deps.ci = options_.ci;
    api::MountAdminApi(server_, deps, {options_.admin_token, options_.public_url});
    api::MountDashboard(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ~ApiHarness() {
    server_.stop();
    thread_.join();
    if (exec_) exec_->Stop();
    if (stack_) stack_->Stop();
  }

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& token() const { return options_.admin_token; }
  engine::Engine& engine() { return *engine_; }
  exec::ExecService& exec() { return stack_ ? stack_->service() : *exec_; }
  // With HarnessOptions::reapi: host:port of the REAPI server, and its counters.
  std::string reapi_target() const { return "127.0.0.1:" + std::to_string(stack_->reapi_server()->port()); }
  const exec::reapi::Counters& reapi_counters() const { return stack_->reapi_server()->counters(); }
  FakePorts& ports() { return ports_; }
  store::SqliteStateStore& store() { return *store_; }
  ManualClock& clock() { return clock_; }
  const TempDir& dir() const { return dir_; }

  // Processes every posted event, as the engine thread would.
  void Drain() {
    auto ran = engine_->Drain();
    REQUIRE(ran.ok());
  }
  void Post(queue::Event e, const std::string& branch = "main") {
    engine_->Post({kRepo, branch}, std::move(e));
    Drain();
  }
  void Enqueue(queue::PrNumber pr, int priority = queue::kPriorityNormal, const std::string& branch = "main") {
    Post(queue::Enqueue{pr, Sha('a', pr), priority}, branch);
  }
  void Finish(queue::BatchId batch, bool passed, const std::string& step = "",
              const std::string& log = "", const std::string& branch = "main") {
    Post(queue::RunFinished{batch, passed, step, log}, branch);
  }
  void Tick(Duration d = kMinute) { clock_.Set(clock_.Now() + d); }

  queue::State State(const std::string& branch = "main") {
    auto s = engine_->Snapshot({kRepo, branch});
    REQUIRE(s.has_value());
    return *s;
  }
  // The live batch holding `pr`.
  queue::BatchId BatchOf(queue::PrNumber pr, const std::string& branch = "main") {
    auto s = State(branch);
    REQUIRE(s.entries.count(pr) == 1);
    return s.entries.at(pr).batch;
  }

  // --- HTTP -------------------------------------------------------------------
  // `token`: nullopt sends no Authorization header; otherwise "Bearer <token>".
  Reply Send(const std::string& method, const std::string& path, const std::string& body = "",
             std::optional<std::string> token = std::nullopt) {
    httplib::Headers h;
    if (token) h.emplace("Authorization", "Bearer " + *token);
    return SendRaw(method, path, body, h);
  }
  Reply SendRaw(const std::string& method, const std::string& path, const std::string& body,
                const httplib::Headers& h) {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(10, 0);
    auto call = [&]() -> httplib::Result {
      if (method == "POST") return cli.Post(path, h, body, "application/json");
      if (method == "PATCH") return cli.Patch(path, h, body, "application/json");
      if (method == "DELETE") return cli.Delete(path, h, body, "application/json");
      return cli.Get(path, h);
    };
    httplib::Result r = call();
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.text = r->body;
    out.headers = r->headers;
    out.body = nlohmann::json::parse(r->body, nullptr, false);
    if (out.body.is_discarded()) out.body = nullptr;
    return out;
  }
  Reply Get(const std::string& path) { return Send("GET", path); }
  // With the admin token.
  Reply Admin(const std::string& method, const std::string& path, const std::string& body = "") {
    return Send(method, path, body, options_.admin_token);
  }

 private:
  void StartReapiStack() {
    exec::ExecStackOptions o;
    o.data_dir = dir_.File("exec");
    o.mirror_of = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    o.configs = [](const engine::QueueKey&) -> std::optional<engine::RepoConfig> { return std::nullopt; };
    o.local.capacity = exec::core::Resources{4, 0, {}};
    o.local.poll_wait = 50;
    o.reapi.listen = "127.0.0.1:0";
    auto stack = exec::ExecStack::Start(o, system_clock_);
    REQUIRE_MESSAGE(stack.ok(), (stack.ok() ? "" : stack.error().ToString()));
    stack_ = std::move(*stack);
    stack_->Mount(server_, {options_.admin_token, kExecutorToken});
  }

  HarnessOptions options_;
  TempDir dir_;
  ManualClock clock_;
  SystemClock system_clock_;
  FakePorts ports_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::SqliteStateStore> store_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<exec::ExecService> exec_;
  std::unique_ptr<exec::ExecStack> stack_;
  // The tests drain the engine themselves (Drain()), so admission posts
  // without waiting for the transition to commit.
  struct PostOnly final : engine::EventSink {
    explicit PostOnly(std::unique_ptr<engine::Engine>& e) : engine(e) {}
    void Post(const engine::QueueKey& key, queue::Event event) override { engine->Post(key, std::move(event)); }
    std::unique_ptr<engine::Engine>& engine;
  } post_only_{engine_};
  std::unique_ptr<forge::Admitter> admission_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// What the dashboard test and the detail tests look at, in acme/widgets:main
// (batch size 2, concurrency 2):
//   #101 #102 landed (batch pass, two merged rows);
//   batch [201 202] failed step "unit" and was bisected: [201] failed again and
//   was kicked (log URL), [202] is still testing;
//   [203 204] and [205 206] test as a speculative stack (the second built on the first);
//   #207 (high), #208, #209 wait.
struct Scenario {
  queue::BatchId landed = 0, failed_root = 0, culprit_node = 0, open_node = 0, stack_head = 0,
                 stack_next = 0;
  std::string kick_log;
};

inline Scenario BuildScenario(ApiHarness& h) {
  Scenario sc;
  sc.kick_log = h.base_url() + "/api/v1/executions/e-kick/log";
  h.Post(queue::TargetMoved{Sha('f', 1)});
  h.Tick();
  h.Enqueue(101);
  h.Enqueue(102);
  sc.landed = h.BatchOf(101);
  h.Tick(4 * kMinute);
  h.Finish(sc.landed, true);
  REQUIRE(h.State().entries.count(101) == 0);

  h.Tick();
  h.Enqueue(201);
  h.Enqueue(202);
  sc.failed_root = h.BatchOf(201);
  h.Enqueue(203);
  h.Enqueue(204);
  h.Tick(5 * kMinute);
  h.Finish(sc.failed_root, false, "unit", h.base_url() + "/api/v1/executions/e-root/log");
  sc.culprit_node = h.BatchOf(201);
  sc.open_node = h.BatchOf(202);
  REQUIRE(sc.culprit_node != sc.open_node);
  h.Tick(3 * kMinute);
  h.Finish(sc.culprit_node, false, "unit", sc.kick_log);
  REQUIRE(h.State().entries.count(201) == 0);

  h.Tick();
  h.Enqueue(205);
  h.Enqueue(206);
  sc.stack_head = h.BatchOf(203);
  sc.stack_next = h.BatchOf(205);
  h.Tick();
  h.Enqueue(207, queue::kPriorityHigh);
  h.Enqueue(208);
  h.Enqueue(209);
  return sc;
}

// The execution backend of the dashboard test (needs HarnessOptions::exec):
// runners "runner-1" (4 cpu, 8 GiB, license 1) and "runner-2" (2 cpu); "unit"
// ran once for two submissions (one merged), finished, then answered a third
// from the cache; "lint" is running.
struct ExecScenario {
  std::string unit, lint;  // execution ids
  std::string unit_executor, lint_executor;
};

inline exec::core::Action TestAction(const std::string& name, const std::string& command) {
  exec::core::Action a;
  a.name = name;
  a.command = {"sh", "-c", command};
  a.group = ApiHarness::kRepo;
  a.resources.cpu = 1;
  return a;
}

inline ExecScenario BuildExecScenario(ApiHarness& h) {
  namespace core = exec::core;
  auto& ex = h.exec();
  core::ExecutorInfo one;
  one.id = "runner-1";
  one.capacity = core::Resources{4, std::int64_t{8} << 30, {{"license", 1}}};
  one.labels = {{"os", "linux"}};
  ex.RegisterExecutor(one, nullptr);
  core::ExecutorInfo two;
  two.id = "runner-2";
  two.capacity = core::Resources{2, 0, {}};
  ex.RegisterExecutor(two, nullptr);

  ExecScenario sc;
  const core::Action unit = TestAction("unit", "make test");
  auto first = ex.Submit(unit, {}, nullptr);
  REQUIRE(first.status == core::SubmitStatus::kQueued);
  auto second = ex.Submit(unit, {}, nullptr);
  REQUIRE(second.status == core::SubmitStatus::kMerged);
  sc.unit = first.execution;
  auto view = ex.View(sc.unit);
  REQUIRE(view);
  REQUIRE(view->state == core::ExecState::kRunning);
  sc.unit_executor = view->executor;
  auto work = ex.PollWork(sc.unit_executor, 0);
  REQUIRE(work.ok());
  REQUIRE(work->size() == 1);
  const auto lease = (*work)[0].lease;
  REQUIRE(ex.AppendLog(lease, "$ make test\nall 42 tests passed\n").ok());
  core::ActionResult result;
  result.exit_code = 0;
  result.duration = 83 * kSecond;
  result.executor = sc.unit_executor;
  result.execution_id = sc.unit;
  REQUIRE(ex.Complete(lease, result).ok());
  auto third = ex.Submit(unit, {}, nullptr);
  REQUIRE(third.status == core::SubmitStatus::kCached);

  auto lint = ex.Submit(TestAction("lint", "make lint"), {}, nullptr);
  REQUIRE(lint.status == core::SubmitStatus::kQueued);
  sc.lint = lint.execution;
  view = ex.View(sc.lint);
  REQUIRE(view);
  REQUIRE(view->state == core::ExecState::kRunning);
  sc.lint_executor = view->executor;
  return sc;
}

}  // namespace mergeyard::testing
