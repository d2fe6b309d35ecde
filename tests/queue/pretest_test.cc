// The pretest option (QueueConfig::pretest, pretest_bypass): pull requests
// tested alone on the tip before they enter the speculative main queue.

#include <doctest/doctest.h>

#include "harness.h"

using namespace mergeyard;
using namespace mergeyard::queue;
using mergeyard::queue::testing::Harness;

namespace {

QueueConfig Pretest(int size, int concurrency, int bypass = 0) {
  QueueConfig c;
  c.target_batch_size = size;
  c.max_wait = 10 * kMinute;
  c.concurrency = concurrency;
  c.bisection_concurrency = 2;
  c.pretest = true;
  c.pretest_bypass = bypass;
  return c;
}

std::vector<BatchId> Nodes(const Harness& h, BatchKind kind) {
  std::vector<BatchId> out;
  for (const auto& [id, b] : h.state.batches)
    if (b.kind == kind) out.push_back(id);
  return out;
}

}  // namespace

TEST_SUITE("queue") {

TEST_CASE("with pretest a batch is first tested alone on the tip and lands at once when nothing else tests") {
  Harness h(Pretest(2, 2));
  h.Enqueue(1);
  h.Enqueue(2);
  CHECK(h.state.main.empty());
  auto builds = h.Of<BuildBatch>();
  REQUIRE(builds.size() == 1);
  CHECK(builds[0].base_sha == "tip0");
  const Batch& node = h.B(builds[0].batch);
  CHECK(node.kind == BatchKind::kBisect);
  CHECK(node.bisect_root == node.id);  // a root of its own
  h.BuildAll();
  h.Apply(RunFinished{node.id, true, "", ""});
  auto lands = h.Of<Land>();
  REQUIRE(lands.size() == 1);
  CHECK(lands[0].prs == std::vector<PrNumber>{1, 2});
  CHECK(lands[0].expected_tip == "tip0");
  h.Apply(LandResult{lands[0].batch, true, lands[0].commit});
  CHECK(h.Outcome(ReportKind::kMerged) == std::vector<PrNumber>{1, 2});
  CHECK(h.AllOf<StartRun>().size() == 1);  // one run for both
}

TEST_CASE("a pretest pass while a main batch tests joins the main queue, stacked on it, and is tested there") {
  Harness h(Pretest(1, 2, /*bypass=*/1));
  h.Enqueue(1);  // the bypass: straight into the main queue
  REQUIRE(h.state.main.size() == 1);
  h.BuildAll();
  h.Enqueue(2);  // the bypass is used: pretested
  REQUIRE(h.state.main.size() == 1);
  auto pre = Nodes(h, BatchKind::kBisect);
  REQUIRE(pre.size() == 1);
  h.BuildAll();
  h.Apply(RunFinished{pre[0], true, "", ""});
  CHECK(h.Of<Land>().empty());  // batch #1 is testing: no landing around it
  REQUIRE(h.state.main.size() == 2);
  const Batch& joined = h.B(h.state.main[1]);
  CHECK(joined.prs == std::vector<PrNumber>{2});
  CHECK(h.state.entries.at(2).pretested);
  h.BuildAllPending();
  CHECK(h.B(h.state.main[1]).base_sha == h.B(h.state.main[0]).commit);
  h.Apply(RunFinished{h.state.main[1], true, "", ""});
  h.Apply(RunFinished{h.state.main[0], true, "", ""});
  auto lands = h.Of<Land>();
  REQUIRE(lands.size() == 1);
  CHECK(lands[0].prs == std::vector<PrNumber>{1, 2});
}

TEST_CASE("a failing pretest batch is bisected alone; its culprit is kicked, the rest land") {
  Harness h(Pretest(2, 2));
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAll();
  BatchId root = Nodes(h, BatchKind::kBisect).at(0);
  h.Apply(RunFinished{root, false, "unit", "log://root"});
  h.BuildAllPending();
  auto halves = Nodes(h, BatchKind::kBisect);
  REQUIRE(halves.size() == 2);
  CHECK(h.B(halves[0]).bisect_root == root);
  CHECK(h.B(halves[0]).prs == std::vector<PrNumber>{1});
  h.Apply(RunFinished{halves[0], false, "unit", "log://1"});
  CHECK(h.Outcome(ReportKind::kKicked) == std::vector<PrNumber>{1});
  h.Apply(RunFinished{halves[1], true, "", ""});
  auto lands = h.Of<Land>();
  REQUIRE(lands.size() == 1);
  CHECK(lands[0].prs == std::vector<PrNumber>{2});
  CHECK(h.state.main.empty());
}

TEST_CASE("pretest_bypass bounds the main batches in flight that hold untested pull requests") {
  QueueConfig c = Pretest(1, 4, /*bypass=*/1);
  c.bisection_concurrency = 4;
  Harness h(c);
  for (PrNumber pr = 1; pr <= 3; ++pr) h.Enqueue(pr);
  REQUIRE(h.state.main.size() == 1);
  CHECK(h.B(h.state.main[0]).prs == std::vector<PrNumber>{1});
  auto pre = Nodes(h, BatchKind::kBisect);
  CHECK(pre.size() == 2);  // 2 and 3, each alone on the tip
  for (BatchId id : pre) CHECK(h.B(id).base_sha == "tip0");
}

TEST_CASE("pretest batches wait for a free bisection slot, so later arrivals can join them") {
  QueueConfig c = Pretest(3, 2);
  c.bisection_concurrency = 1;
  Harness h(c);
  h.Enqueue(1);
  h.Enqueue(2);
  h.Enqueue(3);
  REQUIRE(Nodes(h, BatchKind::kBisect).size() == 1);
  h.Enqueue(4);
  h.Enqueue(5);
  CHECK(Nodes(h, BatchKind::kBisect).size() == 1);  // no slot: 4 and 5 keep waiting
  CHECK(WaitingInOrder(h.state) == std::vector<PrNumber>{4, 5});
}

}
