// The queue's derived indexes (StateIndexes): kept current by every Step,
// rebuilt when missing, and never changing what a Step decides.

#include <doctest/doctest.h>

#include <random>

#include "harness.h"

using namespace mergeyard;
using namespace mergeyard::queue;
using mergeyard::queue::testing::Harness;

namespace {

std::string Describe(const std::vector<Effect>& effects) {
  std::string out;
  for (const auto& e : effects) {
    out += ToString(e);
    if (const auto* r = std::get_if<Report>(&e)) out += std::string(" ") + ReportReasonName(r->reason);
    out += "\n";
  }
  return out;
}

// A random event that the state can answer: commands, answers to what is in
// flight, pushes by others, timers.
Event RandomEvent(const State& s, std::mt19937_64& rng, PrNumber& next_pr) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  std::vector<const Batch*> building, testing;
  for (const auto& [id, b] : s.batches) {
    if (b.state == BatchState::kBuilding) building.push_back(&b);
    if (b.state == BatchState::kTesting) testing.push_back(&b);
  }
  std::vector<PrNumber> live;
  for (const auto& [pr, e] : s.entries) live.push_back(pr);
  int roll = pick(100);
  if (roll < 25 || live.empty()) {
    int priority = pick(4) == 0 ? pick(256) : kPriorityNormal;
    return Enqueue{next_pr++, "h" + std::to_string(pick(1000)), priority};
  }
  if (roll < 30) return Cancel{live[pick(static_cast<int>(live.size()))]};
  if (roll < 33) return HeadChanged{live[pick(static_cast<int>(live.size()))], "new"};
  if (roll < 38) return Reprioritize{live[pick(static_cast<int>(live.size()))], pick(256)};
  if (roll < 40) return Enqueue{live[pick(static_cast<int>(live.size()))],
                                s.entries.at(live[0]).head_sha, pick(256)};
  if (roll < 60 && !building.empty()) {
    const Batch& b = *building[pick(static_cast<int>(building.size()))];
    BatchBuilt built{b.id, "c" + std::to_string(b.id), {}};
    if (pick(10) == 0) built.conflicts.push_back({b.prs[pick(static_cast<int>(b.prs.size()))], {"f"}, pick(2) == 0});
    if (pick(30) == 0) return BuildFailed{b.id, "unreachable"};
    return built;
  }
  if (roll < 85 && !testing.empty()) {
    const Batch& b = *testing[pick(static_cast<int>(testing.size()))];
    return RunFinished{b.id, pick(4) != 0, "test", "log"};
  }
  if (roll < 92 && s.landing != 0) {
    const Batch& b = s.batches.at(s.landing);
    return LandResult{b.id, pick(10) != 0, pick(10) != 0 ? b.commit : "someone-else"};
  }
  if (roll < 94) return TargetMoved{"push" + std::to_string(pick(1000))};
  return TimerFired{};
}

}  // namespace

TEST_SUITE("queue") {

TEST_CASE("the indexes agree with the state after every step, and a rebuilt index decides the same") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    QueueConfig c;
    c.target_batch_size = 1 + static_cast<int>(rng() % 6);
    c.max_wait = static_cast<Duration>(rng() % 3) * 5 * kMinute;
    c.concurrency = 1 + static_cast<int>(rng() % 5);
    c.pending_failure_depth = static_cast<int>(rng() % 3);
    c.optimistic_merging = rng() % 2 == 0;
    c.bisection_concurrency = 1 + static_cast<int>(rng() % 3);
    c.singleton_retries = static_cast<int>(rng() % 2);
    c.pretest = rng() % 3 == 0;
    c.pretest_bypass = static_cast<int>(rng() % 3);
    Harness h(c);
    PrNumber next_pr = 1;
    for (int step = 0; step < 400; ++step) {
      h.now += static_cast<Time>(rng() % 4) * kMinute;
      Event event = RandomEvent(h.state, rng, next_pr);
      // The twin starts from the same state without its indexes.
      State twin = h.state;
      twin.index = StateIndexes{};
      std::vector<Effect> twin_effects;
      StepInPlace(twin, event, h.now, twin_effects);
      h.Apply(event);
      INFO("seed ", seed, " step ", step, " ", ToString(event));
      REQUIRE(CheckIndexes(h.state) == "");
      REQUIRE(Describe(h.effects) == Describe(twin_effects));
      REQUIRE(ToString(h.state) == ToString(twin));
      for (const auto& [pr, e] : h.state.entries) {
        State unindexed = h.state;
        unindexed.index = StateIndexes{};
        REQUIRE(WaitingPosition(h.state, pr) == WaitingPosition(unindexed, pr));
      }
    }
  }
}

TEST_CASE("a state without its indexes (decoded, or put together by hand) gets them at its next step") {
  State s;
  s.tip = "tip0";
  s.config.target_batch_size = 3;
  s.next_seq = 7;
  for (PrNumber pr : {5, 6}) {
    Entry e;
    e.pr = pr;
    e.head_sha = "h";
    e.seq = pr;
    s.entries[pr] = e;
  }
  CHECK(CheckIndexes(s) != "");
  CHECK(WaitingInOrder(s) == std::vector<PrNumber>{5, 6});  // computed without them
  std::vector<Effect> effects;
  StepInPlace(s, Enqueue{7, "h", kPriorityNormal}, 0, effects);
  CHECK(CheckIndexes(s) == "");
  REQUIRE(s.main.size() == 1);
  CHECK(s.batches.at(s.main[0]).prs == std::vector<PrNumber>{5, 6, 7});
}

TEST_CASE("the queued reply of a new entry behind a long queue names its position") {
  Harness h;
  h.state.config.target_batch_size = 1000;
  for (PrNumber pr = 1; pr <= 500; ++pr) h.Enqueue(pr, pr == 300 ? kPriorityHigh : kPriorityNormal);
  h.Enqueue(501, kPriorityLow);
  h.Enqueue(502);
  CHECK(WaitingPosition(h.state, 300) == 1);
  CHECK(WaitingPosition(h.state, 1) == 2);
  CHECK(WaitingPosition(h.state, 502) == 501);
  CHECK(WaitingPosition(h.state, 501) == 502);
  auto reports = h.Of<Report>();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].position == 501);
}

}
