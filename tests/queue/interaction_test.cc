// Interaction suspects (step.h, "Interactions"): a failed batch whose two
// halves both pass had entries that fail only together; they are never
// batched together again, so the queue makes progress.

#include <doctest/doctest.h>

#include "harness.h"

using namespace mergeyard;
using namespace mergeyard::queue;
using mergeyard::queue::testing::Config;
using mergeyard::queue::testing::Harness;

namespace {


std::vector<BatchId> BisectNodes(const Harness& h) {
  std::vector<BatchId> out;
  for (const auto& [id, b] : h.state.batches)
    if (b.kind == BatchKind::kBisect) out.push_back(id);
  return out;
}

// Batch [1 2] fails on the tip and both halves pass while main batch [3]
// tests, so neither half can land; `also` arrive; then [3] lands and moves
// the tip, and 1 and 2 return to the front.
void FailTogetherWhileBusy(Harness& h, const std::vector<PrNumber>& also = {}) {
  int size = h.state.config.target_batch_size;
  h.state.config.target_batch_size = 2;
  h.Enqueue(1);
  h.Enqueue(2);
  h.state.config.target_batch_size = size;
  h.BuildAll();
  h.Apply(RunFinished{1, false, "unit", "log://1"});
  h.BuildAllPending();
  auto halves = BisectNodes(h);
  REQUIRE(halves.size() == 2);
  h.state.config.max_wait = 0;
  h.Enqueue(3);
  h.BuildAllPending();
  h.state.config.max_wait = 10 * kMinute;
  REQUIRE(h.state.main.size() == 1);
  BatchId busy = h.state.main[0];
  h.now = 20 * kMinute;  // past max_wait for 1 and 2
  h.Apply(RunFinished{halves[0], true, "", ""});
  h.Apply(RunFinished{halves[1], true, "", ""});
  CHECK(h.Of<Land>().empty());
  for (PrNumber pr : also) h.Enqueue(pr);
  h.Apply(RunFinished{busy, true, "", ""});
  REQUIRE(h.Of<Land>().size() == 1);
  h.Apply(LandResult{busy, true, "c" + std::to_string(busy)});
}

}  // namespace

TEST_SUITE("queue") {

TEST_CASE("both halves of a failed batch passing make their entries interaction suspects of each other") {
  Harness h(Config(2));
  FailTogetherWhileBusy(h);
  CHECK(h.Outcome(ReportKind::kMerged) == std::vector<PrNumber>{3});
  CHECK(h.state.entries.at(1).apart_from == std::vector<PrNumber>{2});
  CHECK(h.state.entries.at(2).apart_from == std::vector<PrNumber>{1});
}

TEST_CASE("suspects returned to the front are batched apart, not together again") {
  Harness h(Config(2));
  FailTogetherWhileBusy(h);
  // Both wait at the front, enough to fill a batch of two; only 1 is taken.
  REQUIRE(h.state.main.size() == 1);
  CHECK(h.B(h.state.main[0]).prs == std::vector<PrNumber>{1});
  CHECK(WaitingInOrder(h.state) == std::vector<PrNumber>{2});
}

TEST_CASE("a suspect fails on a tip holding its partner and is kicked, its message naming the partner") {
  Harness h(Config(2));
  FailTogetherWhileBusy(h);
  h.BuildAllPending();
  BatchId first = h.state.main.at(0);
  h.Apply(RunFinished{first, true, "", ""});
  h.Apply(LandResult{first, true, "c" + std::to_string(first)});
  CHECK(h.Outcome(ReportKind::kMerged) == std::vector<PrNumber>{1, 3});
  CHECK(h.state.entries.at(2).apart_landed == std::vector<PrNumber>{1});
  // 2 waited long enough: it forms a batch of its own on the new tip.
  REQUIRE(h.state.main.size() == 1);
  BatchId second = h.state.main[0];
  CHECK(h.B(second).prs == std::vector<PrNumber>{2});
  h.BuildAllPending();
  CHECK(h.B(second).base_sha == "c" + std::to_string(first));
  h.Apply(RunFinished{second, false, "unit", "log://2"});
  REQUIRE(h.Outcome(ReportKind::kKicked) == std::vector<PrNumber>{2});
  const Report kick = h.Of<Report>().back();
  CHECK(kick.kind == ReportKind::kKicked);
  CHECK(kick.reason == ReportReason::kFailed);
  CHECK(kick.fails_with == std::vector<PrNumber>{1});
  CHECK(kick.log_url == "log://2");
}

TEST_CASE("with more waiting, a batch passes over a suspect and takes the next entries instead") {
  Harness h(Config(3));
  FailTogetherWhileBusy(h, {4, 5});
  REQUIRE(h.state.main.size() == 1);
  CHECK(h.B(h.state.main[0]).prs == std::vector<PrNumber>{1, 4, 5});
  CHECK(WaitingInOrder(h.state) == std::vector<PrNumber>{2});
}

TEST_CASE("a suspect is passed over only for the entries it failed with") {
  QueueConfig c = Config(3);
  Harness h(c);
  h.Enqueue(1);
  h.Enqueue(2);
  h.Enqueue(3);
  h.BuildAll();
  // Mark 1 and 2 by hand; a push to the target sends all three back to waiting.
  h.state.entries.at(1).apart_from = {2};
  h.state.entries.at(2).apart_from = {1};
  h.Apply(TargetMoved{"tip1"});
  REQUIRE(h.state.main.size() == 1);
  CHECK(h.B(h.state.main[0]).prs == std::vector<PrNumber>{1, 3});
  CHECK(WaitingInOrder(h.state) == std::vector<PrNumber>{2});
}

TEST_CASE("halves of a failure that did not count (stacked on a batch still testing) mark no one") {
  Harness h(Config(2, 2));
  for (PrNumber pr = 1; pr <= 4; ++pr) h.Enqueue(pr);
  h.BuildAllPending();
  REQUIRE(h.state.main.size() == 2);
  BatchId behind = h.state.main[1];
  h.Apply(RunFinished{behind, false, "unit", ""});  // #1 ahead still testing
  h.BuildAllPending();
  std::vector<BatchId> halves;
  for (BatchId id : BisectNodes(h))
    if (h.B(id).bisect_root == behind) halves.push_back(id);
  REQUIRE(halves.size() == 2);
  CHECK(h.B(halves[0]).sibling.empty());
  for (BatchId id : halves) h.Apply(RunFinished{id, true, "", ""});
  CHECK(h.state.entries.at(3).apart_from.empty());
  CHECK(h.state.entries.at(4).apart_from.empty());
}

TEST_CASE("a failed batch with a culprit in one half marks no one") {
  Harness h(Config(4));
  for (PrNumber pr = 1; pr <= 4; ++pr) h.Enqueue(pr);
  h.BuildAll();
  h.Apply(RunFinished{1, false, "unit", ""});
  h.BuildAllPending();
  auto halves = BisectNodes(h);
  REQUIRE(halves.size() == 2);
  CHECK(h.B(halves[0]).sibling == std::vector<PrNumber>{3, 4});
  CHECK(h.B(halves[1]).sibling == std::vector<PrNumber>{1, 2});
  h.Apply(RunFinished{halves[1], false, "unit", ""});  // 3 or 4 is bad
  h.Apply(RunFinished{halves[0], true, "", ""});
  for (PrNumber pr = 1; pr <= 4; ++pr) CHECK(h.state.entries.at(pr).apart_from.empty());
}

TEST_CASE("a half restarted on a new tip keeps knowing its sibling") {
  Harness h(Config(2));
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAll();
  h.Apply(RunFinished{1, false, "unit", ""});
  // The halves are building when the tip moves: they restart on it.
  h.Apply(TargetMoved{"tip1"});
  h.BuildAllPending();
  auto halves = BisectNodes(h);
  REQUIRE(halves.size() == 2);
  CHECK(h.B(halves[0]).base_sha == "tip1");
  CHECK(h.B(halves[0]).sibling == std::vector<PrNumber>{2});
  CHECK(h.B(halves[1]).sibling == std::vector<PrNumber>{1});
}

}
