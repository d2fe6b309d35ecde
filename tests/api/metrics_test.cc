// QueueMetrics and RenderMetrics, driven by a real Engine on scripted fake
// ports: a batch fails and is bisected (two levels), the culprit is kicked,
// a pull request conflicting with the target is kicked, one is cancelled,
// and a batch is rebuilt because someone else pushed to the target.

#include <doctest/doctest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "api/metrics.h"
#include "base/metrics.h"
#include "engine/engine.h"
#include "exec/exec_service.h"
#include "exec/reapi/counters.h"
#include "temp_dir.h"

using namespace mergeyard;

namespace {

const engine::QueueKey kKey{"acme/widgets", "main"};
const std::string kQ = "repo=\"acme/widgets\",branch=\"main\"";

// Git, CI, forge and timers in memory. A commit holds the pull requests of its
// base plus those merged into it; a run fails when its commit holds a bad one.
// Builds and landings answer at once; runs wait for FinishRuns().
class ScriptedWorld final : public engine::GitPort, public engine::RunPort,
                            public engine::ForgePort, public engine::TimerPort {
 public:
  std::set<queue::PrNumber> bad, conflicts_with_tip;
  std::string tip = "tip0";

  ScriptedWorld() { holds_[tip] = {}; }

  void Build(const engine::QueueKey& key, const queue::BuildBatch& b, engine::EventSink& sink) override {
    queue::BatchBuilt built{b.batch, "", {}};
    std::set<queue::PrNumber> holds = holds_[b.base_sha];
    bool any = false;
    for (const auto& e : b.entries) {
      if (conflicts_with_tip.count(e.pr)) {
        built.conflicts.push_back({e.pr, {"README.md"}, true});
        continue;
      }
      holds.insert(e.pr);
      any = true;
    }
    if (any) {
      built.commit = "c" + std::to_string(b.batch);
      holds_[built.commit] = holds;
    }
    sink.Post(key, built);
  }
  void Land(const engine::QueueKey& key, const queue::Land& l, engine::EventSink& sink) override {
    const bool ok = l.expected_tip == tip;
    if (ok) tip = l.commit;
    sink.Post(key, queue::LandResult{l.batch, ok, tip});
  }
  void Drop(const engine::QueueKey&, const queue::BatchDone&) override {}
  void Start(const engine::QueueKey&, const queue::StartRun& r, engine::EventSink&) override {
    runs_[r.batch] = r.commit;
  }
  void Cancel(const engine::QueueKey&, const queue::CancelRun& c) override { runs_.erase(c.batch); }
  void Report(const engine::QueueKey&, const queue::Report&) override {}
  void Arm(const engine::QueueKey&, Time, engine::EventSink&) override {}

  // Someone else pushes to the target.
  void Push(const std::string& commit) {
    holds_[commit] = holds_[tip];
    tip = commit;
  }
  // Answers every run started so far.
  void FinishRuns(engine::EventSink& sink) {
    for (const auto& [batch, commit] : runs_) {
      bool passed = true;
      for (queue::PrNumber pr : holds_[commit]) passed = passed && !bad.count(pr);
      sink.Post(kKey, queue::RunFinished{batch, passed, passed ? "" : "test", passed ? "" : "http://log"});
    }
    runs_.clear();
  }
  size_t running() const { return runs_.size(); }

 private:
  std::map<std::string, std::set<queue::PrNumber>> holds_;
  std::map<queue::BatchId, std::string> runs_;
};

// The value of the sample `series` (name and labels exactly as rendered), or -1.
double Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// Checks `text` against the text exposition format 0.0.4: HELP then TYPE
// once per family, before its samples, which are contiguous and well
// formed; histogram buckets cumulative, ending with le="+Inf" == _count.
// Returns the problems found.
std::vector<std::string> ExpositionProblems(const std::string& text) {
  static const std::regex kSample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$)re");
  std::vector<std::string> problems;
  std::map<std::string, std::string> types;
  std::set<std::string> helped, finished;
  std::string current;
  std::map<std::string, double> last_bucket, inf_bucket;  // histogram series -> value
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      if (!helped.insert(name).second) problems.push_back("second HELP: " + line);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream l(line.substr(7));
      std::string name, type;
      l >> name >> type;
      if (!helped.count(name)) problems.push_back("TYPE before HELP: " + line);
      if (types.count(name)) problems.push_back("second TYPE: " + line);
      if (type != "counter" && type != "gauge" && type != "histogram") problems.push_back("type: " + line);
      types[name] = type;
      if (!current.empty()) finished.insert(current);
      current = name;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, kSample)) {
      problems.push_back("malformed: " + line);
      continue;
    }
    std::string name = m[1], family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          types.count(name.substr(0, name.size() - s.size())) &&
          types[name.substr(0, name.size() - s.size())] == "histogram")
        family = name.substr(0, name.size() - s.size());
    }
    if (family != current || finished.count(family)) problems.push_back("not under its TYPE: " + line);
    const std::string value = m[m.size() - 1];
    double v = 0;
    if (value == "+Inf" || value == "-Inf" || value == "NaN") v = 0;
    else {
      size_t used = 0;
      try { v = std::stod(value, &used); } catch (...) { used = 0; }
      if (used != value.size()) problems.push_back("value: " + line);
    }
    if (types[family] != "histogram") continue;
    std::string labels = m[2];
    if (name == family + "_bucket") {
      const size_t le = labels.find("le=\"");
      if (le == std::string::npos) {
        problems.push_back("bucket without le: " + line);
        continue;
      }
      const std::string series = labels.substr(0, le);
      if (v < last_bucket[series]) problems.push_back("buckets not cumulative: " + line);
      last_bucket[series] = v;
      if (labels.find("le=\"+Inf\"") != std::string::npos) inf_bucket[series] = v;
    } else if (name == family + "_count") {
      std::string series = labels.empty() ? "{" : labels.substr(0, labels.size() - 1) + ",";
      if (!inf_bucket.count(series) || inf_bucket[series] != v) problems.push_back("_count != +Inf: " + line);
      last_bucket.erase(series);
    }
  }
  return problems;
}

struct Fixture {
  ManualClock clock{0};
  ScriptedWorld world;
  metrics::Registry registry;
  api::QueueMetrics queue_metrics{clock, registry};
  engine::Engine engine{engine::Ports{&world, &world, &world, &world, nullptr, &clock}};

  Fixture() {
    engine.SetNewQueueConfig([](const engine::QueueKey&) {
      queue::QueueConfig c;
      c.target_batch_size = 4;
      c.max_wait = 10 * kMinute;
      c.bisection_concurrency = 2;
      return c;
    });
    engine.SetObserver(queue_metrics.Observer());
  }
  void Post(queue::Event e) {
    engine.Post(kKey, std::move(e));
    Drain();
  }
  void Drain() { REQUIRE(engine.Drain().ok()); }
  void At(Time seconds) { clock.Set(seconds * kSecond); }
  void FinishRuns() {
    world.FinishRuns(engine);
    Drain();
  }
  std::string Registry() const { return registry.Render(); }
  double Q(const std::string& name, const std::string& extra = "") const {
    return Sample(registry.Render(), name + "{" + kQ + extra + "}");
  }
};

}  // namespace

TEST_SUITE("api") {

TEST_CASE("the exposition checker used below catches broken output") {
  CHECK(ExpositionProblems("# HELP a A.\n# TYPE a counter\na 1\n").empty());
  CHECK(ExpositionProblems("a 1\n").size() == 1);
  CHECK(ExpositionProblems("# HELP a A.\n# TYPE a counter\na{x=\"1} 1\n").size() == 1);
  CHECK(ExpositionProblems("# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                           "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n").size() == 1);
  CHECK(ExpositionProblems("# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n")
            .size() == 1);
}

TEST_CASE("queue metrics follow a bisection, kicks, a cancel and a target-moved rebuild") {
  Fixture f;
  f.world.bad = {3};
  f.world.conflicts_with_tip = {5};
  f.At(0);
  f.Post(queue::TargetMoved{"tip0"});
  for (queue::PrNumber pr = 1; pr <= 6; ++pr) f.Post(queue::Enqueue{pr, "h" + std::to_string(pr), 128});
  f.Post(queue::Cancel{6, queue::ReportReason::kCancelledBy, "author"});
  REQUIRE(f.world.running() == 1);  // batch #1 = {1,2,3,4}

  f.At(300);
  {
    const std::string text = api::RenderMetrics(f.engine, nullptr, f.registry, f.clock);
    CHECK(Sample(text, "mergeyard_queue_depth{" + kQ + "}") == 5);
    CHECK(Sample(text, "mergeyard_queue_entries{" + kQ + ",status=\"waiting\"}") == 1);
    CHECK(Sample(text, "mergeyard_queue_entries{" + kQ + ",status=\"batched\"}") == 4);
    CHECK(Sample(text, "mergeyard_queue_oldest_wait_seconds{" + kQ + "}") == 300);
    CHECK(Sample(text, "mergeyard_queue_batches{" + kQ + ",kind=\"main\",state=\"testing\"}") == 1);
    CHECK(Sample(text, "mergeyard_queue_paused{" + kQ + "}") == 0);
    CHECK(Sample(text, "mergeyard_transitions_total") == f.engine.transitions());
    CHECK(text.find("mergeyard_exec_") == std::string::npos);  // no execution backend given
  }

  // #1 fails: halves {1,2} and {3,4}; PR 5 has waited max_wait and conflicts with the target.
  f.At(600);
  f.FinishRuns();
  CHECK(f.Q("mergeyard_bisections_started_total") == 1);
  CHECK(f.Q("mergeyard_bisection_live_depth") == 1);
  CHECK(f.Q("mergeyard_entries_kicked_total", ",reason=\"conflict\"") == 1);

  f.At(1200);
  {
    const std::string text = api::RenderMetrics(f.engine, nullptr, f.registry, f.clock);
    CHECK(Sample(text, "mergeyard_queue_entries{" + kQ + ",status=\"bisecting\"}") == 4);
    CHECK(Sample(text, "mergeyard_queue_entries{" + kQ + ",status=\"waiting\"}") == 0);
    CHECK(Sample(text, "mergeyard_queue_oldest_wait_seconds{" + kQ + "}") == 0);
    CHECK(Sample(text, "mergeyard_queue_oldest_entry_age_seconds{" + kQ + "}") == 1200);
    CHECK(Sample(text, "mergeyard_queue_batches{" + kQ + ",kind=\"bisect\",state=\"testing\"}") == 2);
  }
  // {1,2} passes and lands; {3,4} fails and splits into {3} and {4} (level 2).
  f.FinishRuns();
  CHECK(f.Q("mergeyard_entries_merged_total") == 2);
  CHECK(f.Q("mergeyard_bisection_live_depth") == 2);

  // {3} fails alone and is kicked; {4} passes and lands. The bisection is over.
  f.At(1800);
  f.FinishRuns();
  CHECK(f.Q("mergeyard_bisection_live_depth") == 0);
  CHECK(f.Q("mergeyard_bisection_depth_count") == 1);
  CHECK(f.Q("mergeyard_bisection_depth_sum") == 2);
  CHECK(f.Q("mergeyard_bisection_depth_bucket", ",le=\"1\"") == 0);
  CHECK(f.Q("mergeyard_bisection_depth_bucket", ",le=\"2\"") == 1);

  // A new batch is testing when someone else pushes: it is rebuilt on the new tip.
  for (queue::PrNumber pr = 7; pr <= 9; ++pr) f.Post(queue::Enqueue{pr, "h" + std::to_string(pr), 128});
  f.At(1900);
  f.Post(queue::Enqueue{10, "h10", 128});
  REQUIRE(f.world.running() == 1);
  f.world.Push("ext1");
  f.Post(queue::TargetMoved{"ext1"});
  CHECK(f.Q("mergeyard_batch_rebuilds_total", ",cause=\"target_moved\"") == 1);
  CHECK(f.Q("mergeyard_runs_cancelled_total") == 1);
  CHECK(f.Q("mergeyard_entries_returned_total") == 4);
  f.At(2500);
  f.FinishRuns();

  CHECK(f.Q("mergeyard_entries_enqueued_total") == 10);
  CHECK(f.Q("mergeyard_entries_merged_total") == 7);
  CHECK(f.Q("mergeyard_entries_kicked_total", ",reason=\"test_failure\"") == 1);
  CHECK(f.Q("mergeyard_entries_kicked_total", ",reason=\"conflict\"") == 1);
  CHECK(f.Q("mergeyard_entries_cancelled_total", ",trigger=\"cancel\"") == 1);
  // 1 and 2 after 1200 s, 4 after 1800 s, 7-9 after 700 s, 10 after 600 s.
  CHECK(f.Q("mergeyard_time_to_merge_seconds_count") == 7);
  CHECK(f.Q("mergeyard_time_to_merge_seconds_sum") == 2 * 1200 + 1800 + 3 * 700 + 600);
  CHECK(f.Q("mergeyard_time_to_merge_seconds_bucket", ",le=\"600\"") == 1);
  CHECK(f.Q("mergeyard_time_to_merge_seconds_bucket", ",le=\"900\"") == 4);
  CHECK(f.Q("mergeyard_time_to_merge_seconds_bucket", ",le=\"+Inf\"") == 7);
  // Waits until the first run: 1-4 none, 7-9 100 s, 10 none; retests do not count again.
  CHECK(f.Q("mergeyard_queue_wait_seconds_count") == 8);
  CHECK(f.Q("mergeyard_queue_wait_seconds_sum") == 300);
  // Main: #1 {1-4}, #4 {5} (emptied by its conflict, never run), #9 and #10 {7-10}.
  CHECK(f.Q("mergeyard_batches_built_total", ",kind=\"main\"") == 4);
  CHECK(f.Q("mergeyard_runs_started_total", ",kind=\"main\"") == 3);
  CHECK(f.Q("mergeyard_batch_size_sum", ",kind=\"main\"") == 12);
  CHECK(f.Q("mergeyard_batch_size_bucket", ",kind=\"main\",le=\"3\"") == 0);
  CHECK(f.Q("mergeyard_batch_size_bucket", ",kind=\"main\",le=\"4\"") == 3);
  // Bisection: {1,2} {3,4}, then {3} {4} built twice (restarted when {1,2} moved the tip).
  CHECK(f.Q("mergeyard_batches_built_total", ",kind=\"bisect\"") == 6);
  CHECK(f.Q("mergeyard_runs_started_total", ",kind=\"bisect\"") == 4);
  CHECK(f.Q("mergeyard_batch_size_sum", ",kind=\"bisect\"") == 6);
  CHECK(f.Q("mergeyard_run_results_total", ",kind=\"main\",result=\"fail\"") == 1);
  CHECK(f.Q("mergeyard_run_results_total", ",kind=\"main\",result=\"pass\"") == 1);
  CHECK(f.Q("mergeyard_run_results_total", ",kind=\"bisect\",result=\"pass\"") == 2);
  CHECK(f.Q("mergeyard_run_results_total", ",kind=\"bisect\",result=\"fail\"") == 2);
  CHECK(f.Q("mergeyard_run_duration_seconds_sum", ",kind=\"main\"") == 600 + 600);
  CHECK(f.Q("mergeyard_landings_total", ",kind=\"bisect\",result=\"landed\"") == 2);
  CHECK(f.Q("mergeyard_landings_total", ",kind=\"main\",result=\"landed\"") == 1);
  CHECK(f.Q("mergeyard_batches_finished_total", ",kind=\"main\",result=\"fail\"") == 1);
  CHECK(f.Q("mergeyard_batches_finished_total", ",kind=\"bisect\",result=\"cancelled\"") == 2);
  CHECK(f.Q("mergeyard_bisections_started_total") == 1);

  const std::string text = api::RenderMetrics(f.engine, nullptr, f.registry, f.clock);
  CHECK(ExpositionProblems(text) == std::vector<std::string>{});
  CHECK(Sample(text, "mergeyard_queue_depth{" + kQ + "}") == 0);
  CHECK(text.find("# TYPE mergeyard_time_to_merge_seconds histogram\n") != std::string::npos);
  CHECK(text.find("# TYPE mergeyard_queue_depth gauge\n") != std::string::npos);
}

TEST_CASE("a culprit that fails its retries too is kicked for exhausted retries") {
  Fixture f;
  f.engine.SetNewQueueConfig([](const engine::QueueKey&) {
    queue::QueueConfig c;
    c.target_batch_size = 1;
    c.singleton_retries = 1;
    return c;
  });
  f.world.bad = {1};
  f.Post(queue::TargetMoved{"tip0"});
  f.Post(queue::Enqueue{1, "h1", 128});
  f.At(60);
  f.FinishRuns();  // the singleton fails: retried once
  CHECK(f.Q("mergeyard_entries_kicked_total", ",reason=\"retries_exhausted\"") == -1);
  f.At(120);
  f.FinishRuns();
  CHECK(f.Q("mergeyard_entries_kicked_total", ",reason=\"retries_exhausted\"") == 1);
  // A retry stays on the level of the node it repeats.
  CHECK(f.Q("mergeyard_bisection_depth_sum") == 0);
  CHECK(f.Q("mergeyard_bisection_depth_count") == 1);
}

TEST_CASE("a head change and a replacing !integrate count as cancellations with their trigger") {
  Fixture f;
  f.Post(queue::TargetMoved{"tip0"});
  f.Post(queue::Enqueue{1, "h1", 128});
  f.Post(queue::Enqueue{2, "h2", 128});
  f.Post(queue::HeadChanged{1, "h1b"});
  f.Post(queue::Enqueue{2, "h2b", 128});
  f.Post(queue::Enqueue{2, "h2b", 200});  // same head: only the priority changes
  CHECK(f.Q("mergeyard_entries_cancelled_total", ",trigger=\"head_changed\"") == 1);
  CHECK(f.Q("mergeyard_entries_cancelled_total", ",trigger=\"replaced\"") == 1);
  CHECK(f.Q("mergeyard_entries_enqueued_total") == 3);
}

TEST_CASE("the execution backend's counters and gauges are scraped from its stats") {
  mergeyard::testing::TempDir dir;
  SystemClock clock;
  exec::ServiceOptions options;
  options.data_dir = dir.path() + "/exec";
  exec::ExecService service(options, clock);
  REQUIRE(service.Start().ok());
  exec::core::Action a;
  a.name = "unit";
  a.command = {"true"};
  a.group = "acme/widgets";
  service.Submit(a, {}, [](const exec::core::Outcome&) {});
  service.Submit(a, {}, [](const exec::core::Outcome&) {});  // the same action: merged
  ManualClock engine_clock(0);
  ScriptedWorld world;
  engine::Engine engine(engine::Ports{&world, &world, &world, &world, nullptr, &engine_clock});
  metrics::Registry registry;
  registry.Counters("mergeyard_webhook_deliveries_total", "Deliveries.", {"forge", "result"})
      .With({"github", "accepted"})
      .Inc();
  const std::string text = api::RenderMetrics(engine, &service, registry, clock);
  service.Stop();
  CHECK(ExpositionProblems(text) == std::vector<std::string>{});
  CHECK(Sample(text, "mergeyard_exec_submissions_total") == 2);
  CHECK(Sample(text, "mergeyard_exec_merged_total") == 1);
  CHECK(Sample(text, "mergeyard_exec_queued_total") == 1);
  CHECK(Sample(text, "mergeyard_exec_cache_hits_total") == 0);
  CHECK(Sample(text, "mergeyard_exec_hedges_total") == 0);
  CHECK(Sample(text, "mergeyard_exec_lease_expiries_total") == 0);
  CHECK(Sample(text, "mergeyard_exec_queue_length") == 1);
  CHECK(Sample(text, "mergeyard_exec_running") == 0);
  CHECK(text.find("# TYPE mergeyard_exec_cache_hits_total counter\n") != std::string::npos);
  // The registry's own series follow the scrape-time ones.
  CHECK(Sample(text, "mergeyard_webhook_deliveries_total{forge=\"github\",result=\"accepted\"}") == 1);
}

TEST_CASE("the content store's gauges and counters and the REAPI counters are scraped with their values") {
  mergeyard::testing::TempDir dir;
  SystemClock clock;
  exec::ServiceOptions options;
  options.data_dir = dir.path() + "/exec";
  options.cas_max_bytes = 100;
  exec::ExecService service(options, clock);
  REQUIRE(service.Start().ok());
  // Two 60-byte blobs pass the 100-byte limit: the first is evicted (down to 90).
  REQUIRE(service.content().Put(std::string(60, 'a')).ok());
  auto kept = service.content().Put(std::string(60, 'b'));
  REQUIRE(kept.ok());
  REQUIRE(service.content().Read(*kept, 10, 0).ok());  // 50 bytes out
  // Each counter its own value, so a swapped pair shows.
  exec::reapi::Counters reapi;
  reapi.executes = 11;
  reapi.cache_hits = 5;
  reapi.merged = 2;
  reapi.executed = 3;
  reapi.hedged = 1;
  reapi.missing_inputs = 4;
  reapi.cancelled = 6;
  reapi.ac_hits = 7;
  reapi.ac_misses = 8;
  reapi.ac_updates = 9;
  reapi.unauthenticated = 10;
  ManualClock engine_clock(0);
  ScriptedWorld world;
  engine::Engine engine(engine::Ports{&world, &world, &world, &world, nullptr, &engine_clock});
  metrics::Registry registry;
  const std::string text = api::RenderMetrics(engine, &service, registry, clock, &reapi);
  service.Stop();
  CHECK(ExpositionProblems(text) == std::vector<std::string>{});

  CHECK(Sample(text, "mergeyard_cas_stored_bytes") == 60);
  CHECK(Sample(text, "mergeyard_cas_stored_blobs") == 1);
  CHECK(Sample(text, "mergeyard_cas_limit_bytes") == 100);
  CHECK(Sample(text, "mergeyard_cas_evicted_blobs_total") == 1);
  CHECK(Sample(text, "mergeyard_cas_evicted_bytes_total") == 60);
  CHECK(Sample(text, "mergeyard_cas_written_bytes_total") == 120);
  CHECK(Sample(text, "mergeyard_cas_read_bytes_total") == 50);
  CHECK(text.find("# TYPE mergeyard_cas_stored_bytes gauge\n") != std::string::npos);
  CHECK(text.find("# TYPE mergeyard_cas_written_bytes_total counter\n") != std::string::npos);

  CHECK(Sample(text, "mergeyard_reapi_executes_total") == 11);
  CHECK(Sample(text, "mergeyard_reapi_cache_hits_total") == 5);
  CHECK(Sample(text, "mergeyard_reapi_merged_total") == 2);
  CHECK(Sample(text, "mergeyard_reapi_executed_total") == 3);
  CHECK(Sample(text, "mergeyard_reapi_hedged_total") == 1);
  CHECK(Sample(text, "mergeyard_reapi_missing_inputs_total") == 4);
  CHECK(Sample(text, "mergeyard_reapi_cancelled_total") == 6);
  CHECK(Sample(text, "mergeyard_reapi_action_cache_hits_total") == 7);
  CHECK(Sample(text, "mergeyard_reapi_action_cache_misses_total") == 8);
  CHECK(Sample(text, "mergeyard_reapi_action_cache_updates_total") == 9);
  CHECK(Sample(text, "mergeyard_reapi_unauthenticated_total") == 10);
  CHECK(text.find("# HELP mergeyard_reapi_cache_hits_total REAPI Execute calls answered from the action cache.\n"
                  "# TYPE mergeyard_reapi_cache_hits_total counter\n") != std::string::npos);
  // The backend's series are still there beside them.
  CHECK(Sample(text, "mergeyard_exec_submissions_total") == 0);
}

TEST_CASE("without a REAPI server no mergeyard_reapi series is rendered; without a backend no content store") {
  mergeyard::testing::TempDir dir;
  SystemClock clock;
  exec::ServiceOptions options;
  options.data_dir = dir.path() + "/exec";
  exec::ExecService service(options, clock);
  REQUIRE(service.Start().ok());
  ManualClock engine_clock(0);
  ScriptedWorld world;
  engine::Engine engine(engine::Ports{&world, &world, &world, &world, nullptr, &engine_clock});
  metrics::Registry registry;
  const std::string with_exec = api::RenderMetrics(engine, &service, registry, clock);
  service.Stop();
  CHECK(with_exec.find("mergeyard_reapi_") == std::string::npos);
  CHECK(Sample(with_exec, "mergeyard_cas_limit_bytes") == 0);  // no limit
  CHECK(Sample(with_exec, "mergeyard_cas_stored_blobs") == 0);
  const std::string bare = api::RenderMetrics(engine, nullptr, registry, clock);
  CHECK(bare.find("mergeyard_cas_") == std::string::npos);
  CHECK(bare.find("mergeyard_reapi_") == std::string::npos);
}

}  // TEST_SUITE
