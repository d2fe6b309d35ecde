// The Engine logs each event it applies and each effect it runs, one line
// each, with the repository, branch, pull request and batch they concern
// (engine/transition_log.h). The log is captured through base/log's test sink
// in JSON format and read back field by field.

#include <doctest/doctest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/log.h"
#include "engine/engine.h"
#include "engine/transition_log.h"
#include "store/database.h"
#include "store/sqlite_state_store.h"

using namespace mergeyard;

namespace {

const engine::QueueKey kKey{"acme/widgets", "main"};
const std::string kTip(40, 'a');
const std::string kSignedLog = "http://127.0.0.1:1/logs/9?sig=s3cr3t-signature";

// Captures every log line as a JSON object while alive; restores stderr, the
// format and the level after.
class CapturedLog {
 public:
  CapturedLog() : level_(GetLogLevel()) {
    SetLogLevel(LogLevel::kInfo);
    SetLogFormat(LogFormat::kJson);
    SetLogSinkForTesting([this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
    });
  }
  ~CapturedLog() {
    SetLogSinkForTesting({});
    SetLogFormat(LogFormat::kText);
    SetLogLevel(level_);
  }
  std::vector<nlohmann::json> Records() {
    std::vector<nlohmann::json> out;
    for (const auto& l : Lines()) out.push_back(nlohmann::json::parse(l));
    return out;
  }
  std::string Text() {
    std::string all;
    for (const auto& l : Lines()) all += l;
    return all;
  }

 private:
  std::vector<std::string> Lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  LogLevel level_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

// Records the effects the engine runs; the test answers them by hand.
class RecordingPorts final : public engine::GitPort, public engine::RunPort,
                             public engine::ForgePort, public engine::TimerPort {
 public:
  void Build(const engine::QueueKey&, const queue::BuildBatch& b, engine::EventSink&) override { builds.push_back(b); }
  void Land(const engine::QueueKey&, const queue::Land& l, engine::EventSink&) override { lands.push_back(l); }
  void Drop(const engine::QueueKey&, const queue::BatchDone&) override {}
  void Start(const engine::QueueKey&, const queue::StartRun& r, engine::EventSink&) override { runs.push_back(r); }
  void Cancel(const engine::QueueKey&, const queue::CancelRun&) override {}
  void Report(const engine::QueueKey&, const queue::Report&) override {}
  void Arm(const engine::QueueKey&, Time, engine::EventSink&) override {}
  std::vector<queue::BuildBatch> builds;
  std::vector<queue::Land> lands;
  std::vector<queue::StartRun> runs;
};

// The records whose message is `msg`.
std::vector<nlohmann::json> With(const std::vector<nlohmann::json>& records, const std::string& msg) {
  std::vector<nlohmann::json> out;
  for (const auto& r : records) {
    if (r.value("msg", "") == msg) out.push_back(r);
  }
  return out;
}

queue::QueueConfig OneAtATime() {
  queue::QueueConfig c;
  c.target_batch_size = 1;
  c.max_wait = 0;
  return c;
}

struct Service {
  ManualClock clock{1700000000000};
  RecordingPorts ports;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::SqliteStateStore> store;
  std::unique_ptr<engine::Engine> engine;

  explicit Service(bool persist = true, bool log = true) {
    if (persist) {
      auto opened = store::Database::Open(":memory:");
      REQUIRE(opened.ok());
      db = std::move(*opened);
      store = std::make_unique<store::SqliteStateStore>(*db, clock);
    }
    engine = std::make_unique<engine::Engine>(
        engine::Ports{&ports, &ports, &ports, &ports, store.get(), &clock, /*log_transitions=*/log});
    engine->SetNewQueueConfig([](const engine::QueueKey&) { return OneAtATime(); });
  }
  void Post(queue::Event e) {
    engine->Post(kKey, std::move(e));
    REQUIRE(engine->Drain().ok());
  }
};

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("every event applied and effect run is one line with repo, branch, pull request and batch") {
  Service s;  // opening the database logs its migrations: before the capture
  CapturedLog log;
  s.Post(queue::TargetMoved{kTip});
  s.Post(queue::Enqueue{7, std::string(40, '7')});
  REQUIRE(s.ports.builds.size() == 1);
  const queue::BatchId batch = s.ports.builds[0].batch;
  const std::string b = std::to_string(batch);
  const std::string commit(40, 'c');
  s.Post(queue::BatchBuilt{batch, commit, {}});
  REQUIRE(s.ports.runs.size() == 1);
  s.Post(queue::RunFinished{batch, true, "", ""});
  REQUIRE(s.ports.lands.size() == 1);
  s.Post(queue::LandResult{batch, true, commit});

  const auto records = log.Records();
  INFO(log.Text());
  REQUIRE(records.size() >= 10);
  for (const auto& r : records) {
    INFO(r.dump());
    CHECK(r.value("level", "") == "info");
    CHECK(r.value("repo", "") == "acme/widgets");
    CHECK(r.value("branch", "") == "main");
  }
  auto one = [&](const std::string& msg) {
    auto found = With(records, msg);
    REQUIRE_MESSAGE(found.size() == 1, msg);
    return found[0];
  };
  CHECK(one("event: target moved")["tip"] == kTip);
  auto enqueue = one("event: enqueue");
  CHECK(enqueue["pr"] == "7");
  CHECK(enqueue["head"] == std::string(40, '7'));
  CHECK(one("report: queued")["pr"] == "7");
  auto build = one("batch build requested");
  CHECK(build["batch"] == b);
  CHECK(build["prs"] == "7");
  CHECK(build["base"] == kTip);
  auto built = one("event: batch built");
  CHECK(built["batch"] == b);
  CHECK(built["commit"] == commit);
  auto started = one("run started");
  CHECK(started["batch"] == b);
  CHECK(started["commit"] == commit);
  CHECK(one("report: testing")["pr"] == "7");
  auto finished = one("event: run finished");
  CHECK(finished["batch"] == b);
  CHECK(finished["result"] == "pass");
  auto landing = one("landing");
  CHECK(landing["batch"] == b);
  CHECK(landing["prs"] == "7");
  CHECK(landing["expected_tip"] == kTip);
  auto landed = one("event: land result");
  CHECK(landed["batch"] == b);
  CHECK(landed["landed"] == "yes");
  auto merged = one("report: merged");
  CHECK(merged["pr"] == "7");
  CHECK(merged["batch"] == b);
  CHECK(merged["commit"] == commit);
  auto done = one("batch done");
  CHECK(done["batch"] == b);
  CHECK(done["result"] == "pass");
  // The event comes before the effects it caused.
  auto index = [&](const std::string& msg) {
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i]["msg"] == msg) return i;
    }
    return records.size();
  };
  CHECK(index("event: run finished") < index("landing"));
  CHECK(index("event: land result") < index("report: merged"));
}

TEST_CASE("a failed run is logged with its step; the signed log link and free text never are") {
  Service s;
  CapturedLog log;
  s.Post(queue::TargetMoved{kTip});
  s.Post(queue::Enqueue{3, std::string(40, '3')});
  REQUIRE(s.ports.builds.size() == 1);
  const queue::BatchId batch = s.ports.builds[0].batch;
  s.Post(queue::BatchBuilt{batch, std::string(40, 'c'), {}});
  s.Post(queue::RunFinished{batch, false, "unit", kSignedLog});
  s.Post(queue::Cancel{3, queue::ReportReason::kCancelledBy, "wendy"});

  const auto records = log.Records();
  INFO(log.Text());
  auto finished = With(records, "event: run finished");
  REQUIRE(finished.size() == 1);
  CHECK(finished[0]["batch"] == std::to_string(batch));
  CHECK(finished[0]["result"] == "fail");
  CHECK(finished[0]["failed_step"] == "unit");
  auto kicked = With(records, "report: kicked");
  REQUIRE(kicked.size() == 1);
  CHECK(kicked[0]["pr"] == "3");
  CHECK(kicked[0]["failed_step"] == "unit");
  CHECK(With(records, "event: cancel").size() == 1);
  CHECK(log.Text().find("s3cr3t") == std::string::npos);
  CHECK(log.Text().find("private reason") == std::string::npos);
}

TEST_CASE("lines of a batch of several pull requests name them all; conflicts name theirs") {
  const engine::QueueKey key{"platform/backend/widgets", "release-1"};
  queue::BuildBatch build{12, kTip, kTip, {{4, "h4"}, {9, "h9"}}, queue::MergeMethod::kSquash};
  auto line = engine::DescribeEffect(key, build);
  CHECK(line.message == "batch build requested");
  REQUIRE(line.fields.size() >= 4);
  CHECK(line.fields[0] == std::pair<std::string, std::string>{"repo", "platform/backend/widgets"});
  CHECK(line.fields[1] == std::pair<std::string, std::string>{"branch", "release-1"});
  CHECK(line.fields[2] == std::pair<std::string, std::string>{"prs", "4,9"});
  CHECK(line.fields[3] == std::pair<std::string, std::string>{"batch", "12"});
  auto built = engine::DescribeEvent(key, queue::BatchBuilt{12, "", {{9, {"a.txt"}, true}}});
  CHECK(built.message == "event: batch built");
  bool named = false;
  for (const auto& [k, v] : built.fields) named = named || (k == "conflicting_prs" && v == "9");
  CHECK(named);
  queue::Report kicked{9, queue::ReportKind::kKicked, queue::ReportReason::kConflict, 12};
  kicked.log_url = kSignedLog;
  kicked.paths = {"a.txt"};
  for (const auto& [k, v] : engine::DescribeEffect(key, kicked).fields) {
    CHECK(v.find("s3cr3t") == std::string::npos);
    CHECK(v.find("a.txt") == std::string::npos);
  }
}

TEST_CASE("an engine with log_transitions off (the simulator's) does not log its transitions") {
  Service s(/*persist=*/true, /*log=*/false);
  CapturedLog log;
  s.Post(queue::TargetMoved{kTip});
  s.Post(queue::Enqueue{7, std::string(40, '7')});
  REQUIRE(s.ports.builds.size() == 1);
  CHECK(log.Records().empty());
}

}  // TEST_SUITE
