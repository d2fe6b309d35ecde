// CI verdicts through the webhook path: a signed `status` delivery (a real
// GitHub body) reaches the CI gate through the processor and decides the
// batch waiting on that exact commit; verdicts on other commits decide nothing.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "../forge/fixture.h"
#include "forge/ci_gate.h"
#include "harness.h"

using namespace mergeyard;
using namespace mergeyard::testing;

namespace {

// The status.json fixture's commit, repository and context.
constexpr const char* kSha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const engine::QueueKey kKey{"Codertocat/Hello-World", "main"};

class NoPipeline final : public engine::RunPort {
 public:
  void Start(const engine::QueueKey&, const queue::StartRun&, engine::EventSink&) override {}
  void Cancel(const engine::QueueKey&, const queue::CancelRun&) override {}
};

}  // namespace

TEST_SUITE("webhook") {

TEST_CASE("a signed status webhook decides the batch waiting on its commit, through the processor") {
  CommandHarness h(FakeFlavor::kGithub);
  NoPipeline pipeline;
  metrics::Registry registry;
  engine::RepoConfig config;
  config.checks.required = {"default"};
  forge::CiGateOptions slow;  // only the webhook can decide within the test
  slow.poll_interval = 10 * kMinute;
  forge::CiGate gate(pipeline, h.forges, [&](const engine::QueueKey&) { return std::optional(config); },
                     h.clock, nullptr, {}, slow, &registry);
  h.processor->SetCiGate(&gate);
  gate.Start(kKey, queue::StartRun{3, kSha, h.clock.Now()}, h.sink);
  gate.Start(kKey, queue::StartRun{4, std::string(40, 'e'), h.clock.Now()}, h.sink);
  for (int i = 0; i < 200 && gate.View(kKey, 3)->checks.empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  REQUIRE(h.Deliver("status", ReadFixture("github/status.json")) == 202);
  h.Settle();
  std::vector<queue::RunFinished> done;
  for (int i = 0; i < 200 && done.empty(); ++i) {
    done = h.sink.Of<queue::RunFinished>();
    if (done.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(done.size() == 1);
  CHECK(done[0].batch == 3);
  CHECK(done[0].passed);
  CHECK(gate.View(kKey, 3)->checks.at(0).source == "webhook");
  CHECK_FALSE(gate.View(kKey, 4)->decided);
}

}  // TEST_SUITE
