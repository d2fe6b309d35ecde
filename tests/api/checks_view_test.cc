// The queue detail shows, for a batch gated on the forge's CI, each required
// check with its state, its page and where its verdict came from.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "forge/ci_gate.h"
#include "harness.h"

using namespace mergeyard;
using nlohmann::json;
using testing::ApiHarness;
using testing::HarnessOptions;

namespace {

// The pipeline part of a run: none here, the checks decide.
class NoPipeline final : public engine::RunPort {
 public:
  void Start(const engine::QueueKey&, const queue::StartRun&, engine::EventSink&) override {}
  void Cancel(const engine::QueueKey&, const queue::CancelRun&) override {}
};

class Ignore final : public engine::EventSink {
 public:
  void Post(const engine::QueueKey&, queue::Event) override {}
};

}  // namespace

TEST_SUITE("api") {

TEST_CASE("a batch gated on external CI lists its required checks in the queue detail") {
  SystemClock clock;
  metrics::Registry registry;
  forge::ForgeDirectory forges;  // none: polls fail and back off; the webhook decides
  NoPipeline pipeline;
  Ignore sink;
  engine::RepoConfig config;
  config.checks.required = {"build", "test"};
  forge::CiGate gate(pipeline, forges, [&](const engine::QueueKey&) { return std::optional(config); }, clock,
                     nullptr, {}, {}, &registry);
  HarnessOptions o;
  o.ci = &gate;
  ApiHarness h(o);
  h.Post(queue::TargetMoved{testing::Sha('f', 1)});
  h.Enqueue(1);
  h.Enqueue(2);
  const queue::BatchId batch = h.BatchOf(1);
  REQUIRE(h.State().batches.count(batch) == 1);
  const std::string commit = h.State().batches.at(batch).commit;
  REQUIRE_FALSE(commit.empty());
  gate.Start({ApiHarness::kRepo, "main"}, queue::StartRun{batch, commit, clock.Now()}, sink);
  for (int i = 0; i < 200 && (!gate.View({ApiHarness::kRepo, "main"}, batch) ||
                              gate.View({ApiHarness::kRepo, "main"}, batch)->checks.size() < 2); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  gate.Observe(ApiHarness::kRepo, {{commit, "build", forge::CiState::kSuccess, "success", "https://ci/build/7"}});

  auto r = h.Get("/api/v1/repos/acme/widgets/queue");
  REQUIRE(r.status == 200);
  const json* b = nullptr;
  for (const json& x : r.body["queues"][0]["batches"])
    if (x["id"] == batch) b = &x;
  REQUIRE(b != nullptr);
  REQUIRE((*b)["checks"].size() == 2);
  CHECK((*b)["checks"][0] == json{{"name", "build"}, {"state", "success"}, {"conclusion", "success"},
                                  {"url", "https://ci/build/7"}, {"source", "webhook"}});
  CHECK((*b)["checks"][1]["name"] == "test");
  CHECK((*b)["checks"][1]["state"] == "pending");
  CHECK((*b)["checks"][1]["source"] == "");
  CHECK((*b)["checks_cached"] == false);
  // Batches the gate does not hold have no checks field.
  for (const json& x : r.body["queues"][0]["batches"])
    if (x["id"] != batch) CHECK_FALSE(x.contains("checks"));
}

}  // TEST_SUITE
