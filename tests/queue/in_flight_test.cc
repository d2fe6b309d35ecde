// queue::InFlightEffects: what a restart must ask for again, derived from the
// state alone (the engine replays it and knows no queue rule).
#include <doctest/doctest.h>

#include "harness.h"

using namespace mergeyard;
using namespace mergeyard::queue;
using mergeyard::queue::testing::Config;
using mergeyard::queue::testing::Harness;

namespace {

template <class T>
std::vector<T> OfKind(const std::vector<Effect>& effects) {
  std::vector<T> out;
  for (const auto& e : effects)
    if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
  return out;
}

}  // namespace

TEST_SUITE("queue") {

TEST_CASE("a state at rest has nothing in flight") {
  Harness h(Config(2));
  CHECK(InFlightEffects(h.state).empty());
}

TEST_CASE("a building batch is built again with the same entries, base and method") {
  Harness h(Config(2));
  h.Enqueue(1);
  h.Enqueue(2);
  const auto asked = h.Of<BuildBatch>();
  REQUIRE(asked.size() == 1);
  const auto again = OfKind<BuildBatch>(InFlightEffects(h.state));
  REQUIRE(again.size() == 1);
  CHECK(again[0].batch == asked[0].batch);
  CHECK(again[0].base_sha == "tip0");
  CHECK(again[0].tip == "tip0");
  REQUIRE(again[0].entries.size() == 2);
  CHECK(again[0].entries[1].head_sha == "head2");
}

TEST_CASE("a testing batch is run again with its commit and its first start time") {
  Harness h(Config(1, 2));
  h.now = 5 * kMinute;
  h.Enqueue(1);
  h.BuildAll();
  const auto started = h.Of<StartRun>();
  REQUIRE(started.size() == 1);
  CHECK(started[0].started_at == 5 * kMinute);
  h.now = 40 * kMinute;
  h.Enqueue(2);  // a second, stacked batch: building, not testing
  const auto effects = InFlightEffects(h.state);
  const auto runs = OfKind<StartRun>(effects);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].batch == started[0].batch);
  CHECK(runs[0].commit == "c" + std::to_string(started[0].batch));
  CHECK(runs[0].started_at == 5 * kMinute);
  CHECK(OfKind<BuildBatch>(effects).size() == 1);
}

TEST_CASE("a landing in flight is asked for again, expecting the base of the front batch") {
  Harness h(Config(1, 2));
  h.Enqueue(1);
  h.BuildAll();
  const BatchId first = h.state.main[0];
  h.Apply(RunFinished{first, true});
  const auto land = h.Of<Land>();
  REQUIRE(land.size() == 1);
  const auto again = OfKind<Land>(InFlightEffects(h.state));
  REQUIRE(again.size() == 1);
  CHECK(again[0].batch == land[0].batch);
  CHECK(again[0].expected_tip == "tip0");
  CHECK(again[0].prs == std::vector<PrNumber>{1});
}

TEST_CASE("the formation timer is armed again, and only in-flight kinds count as re-derived") {
  Harness h(Config(4));
  h.Enqueue(1);  // fewer than the target: waits for max_wait
  REQUIRE(h.state.timer_at != 0);
  const auto timers = OfKind<ArmTimer>(InFlightEffects(h.state));
  REQUIRE(timers.size() == 1);
  CHECK(timers[0].at == h.state.timer_at);
  CHECK(IsInFlightKind(Effect{ArmTimer{1}}));
  CHECK(IsInFlightKind(Effect{StartRun{1, "c"}}));
  CHECK_FALSE(IsInFlightKind(Effect{Report{}}));
  CHECK_FALSE(IsInFlightKind(Effect{CancelRun{1}}));
}

}  // TEST_SUITE
