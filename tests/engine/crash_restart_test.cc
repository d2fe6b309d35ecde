// The Engine persists every transition before its effects run, so a crash at
// any instant loses nothing and lands nothing twice. These tests run a
// scenario with bisection, a pending failure and a cancel; then run it again,
// killing the engine after each single transition (before its effects, or
// after them but before the outbox row is cleared), restarting it from the
// SQLite file, and checking it reaches the same outcome.

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <unistd.h>

#include "base/log.h"
#include "engine/engine.h"
#include "sim/scenario.h"
#include "sim/world.h"
#include "store/database.h"
#include "store/sqlite_state_store.h"

using namespace mergeyard;

namespace {

const engine::QueueKey kKey{"sim/repo", "main"};

sim::Scenario CrashScenario() {
  auto sc = sim::ParseScenario(nlohmann::json::parse(R"({
    "config": {"target_batch_size": 4, "max_wait_s": 60, "concurrency": 2,
               "pending_failure_depth": 1, "optimistic_merging": true,
               "bisection_concurrency": 2, "singleton_retries": 1},
    "ci": {"duration_s": 600},
    "prs": [
      {"id": "A", "arrive_s": 0, "fail_runs": [1]}, {"id": "B", "arrive_s": 0},
      {"id": "C", "arrive_s": 0}, {"id": "D", "arrive_s": 0},
      {"id": "E", "arrive_s": 10}, {"id": "F", "arrive_s": 10, "bad": true},
      {"id": "G", "arrive_s": 10}, {"id": "H", "arrive_s": 10},
      {"id": "I", "arrive_s": 20}, {"id": "J", "arrive_s": 700}, {"id": "K", "arrive_s": 700}
    ]})"));
  REQUIRE(sc.ok());
  return *sc;
}

enum class CrashMode { kBeforeEffects, kBeforeCompleted };

// A StateStore that "kills the process" at a chosen transition: it sets
// `dead`, after which the ports drop every call, as a dead process would.
class CrashingStore final : public engine::StateStore {
 public:
  CrashingStore(engine::StateStore& inner, bool& dead) : inner_(inner), dead_(dead) {}
  void Arm(std::optional<std::int64_t> at, CrashMode mode) { crash_at_ = at; mode_ = mode; }
  std::int64_t commits() const { return commits_; }

  Result<std::int64_t> Commit(const engine::QueueKey& key, const queue::State& state,
                              const std::vector<queue::Effect>& effects) override {
    auto r = inner_.Commit(key, state, effects);
    if (r.ok() && ++commits_ == crash_at_ && mode_ == CrashMode::kBeforeEffects) dead_ = true;
    return r;
  }
  Status Completed(std::int64_t transition) override {
    if (dead_) return Ok();
    if (commits_ == crash_at_ && mode_ == CrashMode::kBeforeCompleted) {
      dead_ = true;
      return Ok();
    }
    return inner_.Completed(transition);
  }
  Result<std::vector<engine::StoredQueue>> LoadAll() override { return inner_.LoadAll(); }

 private:
  engine::StateStore& inner_;
  bool& dead_;
  std::optional<std::int64_t> crash_at_;
  CrashMode mode_ = CrashMode::kBeforeEffects;
  std::int64_t commits_ = 0;
};

// Forwards to the world unless the process is dead.
class DeadSwitch final : public engine::GitPort, public engine::RunPort,
                         public engine::ForgePort, public engine::TimerPort {
 public:
  DeadSwitch(sim::World& w, const bool& dead) : w_(w), dead_(dead) {}
  void Build(const engine::QueueKey& k, const queue::BuildBatch& b, engine::EventSink& s) override { if (!dead_) w_.Build(k, b, s); }
  void Land(const engine::QueueKey& k, const queue::Land& l, engine::EventSink& s) override { if (!dead_) w_.Land(k, l, s); }
  void Drop(const engine::QueueKey& k, const queue::BatchDone& d) override { if (!dead_) w_.Drop(k, d); }
  void Start(const engine::QueueKey& k, const queue::StartRun& r, engine::EventSink& s) override { if (!dead_) w_.Start(k, r, s); }
  void Cancel(const engine::QueueKey& k, const queue::CancelRun& c) override { if (!dead_) w_.Cancel(k, c); }
  void Report(const engine::QueueKey& k, const queue::Report& r) override { if (!dead_) w_.Report(k, r); }
  void Arm(const engine::QueueKey& k, Time at, engine::EventSink& s) override { if (!dead_) w_.Arm(k, at, s); }

 private:
  sim::World& w_;
  const bool& dead_;
};

// Events that arrive from outside (webhooks, the admin API) are stored
// durably before the engine sees them, so they survive a crash; answers of
// adapters die with the process.
bool External(const queue::Event& e) {
  return std::holds_alternative<queue::Enqueue>(e) || std::holds_alternative<queue::Cancel>(e) ||
         std::holds_alternative<queue::HeadChanged>(e) || std::holds_alternative<queue::TargetMoved>(e) ||
         std::holds_alternative<queue::ConfigChanged>(e);
}

struct Outcome {
  std::map<std::string, std::string> prs;
  std::vector<std::string> landings;
  int restarts = 0;
};

Outcome RunWithCrash(const sim::Scenario& sc, std::optional<std::int64_t> crash_at, CrashMode mode,
                     const std::string& db_path) {
  std::filesystem::remove(db_path);
  std::filesystem::remove(db_path + "-wal");
  std::filesystem::remove(db_path + "-shm");
  ManualClock clock(0);
  sim::Calendar calendar;
  sim::World world(sc, clock, calendar);
  bool dead = false;
  DeadSwitch ports(world, dead);

  auto db = store::Database::Open(db_path);
  REQUIRE(db.ok());
  std::unique_ptr<store::Database> database = std::move(*db);
  auto sqlite = std::make_unique<store::SqliteStateStore>(*database, clock);
  auto crashing = std::make_unique<CrashingStore>(*sqlite, dead);
  crashing->Arm(crash_at, mode);
  auto make_engine = [&] {
    auto e = std::make_unique<engine::Engine>(
        engine::Ports{&ports, &ports, &ports, &ports, crashing.get(), &clock});
    e->SetNewQueueConfig([&](const engine::QueueKey&) { return sc.config; });
    world.SetSink(e.get());
    return e;
  };
  auto engine = make_engine();
  Outcome out;

  engine->Post(kKey, queue::TargetMoved{sim::World::kInitialTip});
  for (size_t i = 0; i < sc.prs.size(); ++i) {
    calendar.At(static_cast<Time>(sc.prs[i].arrive_s * 1000), [&, i] {
      auto pr = static_cast<std::int64_t>(i + 1);
      world.MarkEnqueued(pr, clock.Now());
      engine->Post(kKey, queue::Enqueue{pr, "head-" + sc.prs[i].id, 128});
    });
  }
  // I is cancelled while its batch is testing.
  calendar.At(300 * 1000, [&] { engine->Post(kKey, queue::Cancel{world.Number("I")}); });

  auto drain = [&] {
    while (true) {
      auto ran = engine->DrainSome(1);
      REQUIRE(ran.ok());
      if (dead) {
        // Crash: the process and its memory are gone; the SQLite file stays.
        std::vector<std::pair<engine::QueueKey, queue::Event>> durable;
        for (auto& [k, e] : engine->TakeInbox())
          if (External(e)) durable.emplace_back(k, e);
        world.SetSink(nullptr);
        engine.reset();
        crashing.reset();
        sqlite.reset();
        database.reset();
        auto reopened = store::Database::Open(db_path);
        REQUIRE(reopened.ok());
        database = std::move(*reopened);
        sqlite = std::make_unique<store::SqliteStateStore>(*database, clock);
        crashing = std::make_unique<CrashingStore>(*sqlite, dead);
        dead = false;
        engine = make_engine();
        REQUIRE(engine->Recover().ok());
        for (auto& [k, e] : durable) engine->Post(k, e);
        ++out.restarts;
        continue;
      }
      if (*ran == 0) return;
    }
  };
  drain();
  while (!calendar.Empty()) {
    calendar.RunNext(clock);
    drain();
  }
  REQUIRE_MESSAGE(world.violations().empty(), world.violations().front());
  for (size_t i = 0; i < sc.prs.size(); ++i) out.prs[sc.prs[i].id] = world.prs()[i].outcome;
  out.landings = world.landings();
  return out;
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("a crash after any single transition loses nothing and lands nothing twice") {
  sim::Scenario sc = CrashScenario();
  SetLogLevel(LogLevel::kWarn);
  // A RAM-backed directory where there is one: the test fsyncs thousands of times.
  std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                 : std::filesystem::temp_directory_path();
  std::string db = (dir / ("mergeyard-crash-test-" + std::to_string(::getpid()) + ".db")).string();
  Outcome baseline = RunWithCrash(sc, std::nullopt, CrashMode::kBeforeEffects, db);
  CHECK(baseline.prs.at("F") == "kicked");
  CHECK(baseline.prs.at("I") == "cancelled");
  CHECK(baseline.prs.at("A") == "merged");
  for (const auto& [id, outcome] : baseline.prs) {
    if (id != "F" && id != "I") CHECK_MESSAGE(outcome == "merged", id);
  }
  // Crash after transition 1, 2, ... until a run ends before the crash point.
  int transitions = 0;
  for (CrashMode mode : {CrashMode::kBeforeEffects, CrashMode::kBeforeCompleted}) {
    int crashed = 0;
    for (std::int64_t at = 1;; ++at) {
      Outcome o = RunWithCrash(sc, at, mode, db);
      if (o.restarts == 0) break;  // past the last transition
      ++crashed;
      INFO("crash after transition ", at, (mode == CrashMode::kBeforeEffects ? " before effects" : " before completion"));
      CHECK(o.prs == baseline.prs);
      // Each landing moved the target to a new commit: none repeated.
      std::set<std::string> distinct(o.landings.begin(), o.landings.end());
      CHECK(distinct.size() == o.landings.size());
    }
    CHECK(crashed > 50);
    transitions = std::max(transitions, crashed);
  }
  MESSAGE("crashed after each of ", transitions, " transitions");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
}
}
