#include <doctest/doctest.h>

#include "harness.h"

using namespace mergeyard;
using namespace mergeyard::queue;
using mergeyard::queue::testing::Config;
using mergeyard::queue::testing::Harness;

namespace {


}  // namespace

TEST_SUITE("queue") {

TEST_CASE("waiting entries are ordered by priority, then enqueue time, then arrival") {
  Harness h(Config(10));
  h.Enqueue(1);
  h.now = 5;
  h.Enqueue(2, kPriorityHigh);
  h.Enqueue(3);
  h.Enqueue(4, kPriorityLow);
  CHECK(WaitingInOrder(h.state) == std::vector<PrNumber>{2, 1, 3, 4});
}

TEST_CASE("a batch forms as soon as target_batch_size entries wait") {
  Harness h(Config(2));
  h.Enqueue(1);
  CHECK(h.Of<BuildBatch>().empty());
  h.Enqueue(2);
  auto builds = h.Of<BuildBatch>();
  REQUIRE(builds.size() == 1);
  CHECK(builds[0].base_sha == "tip0");
  CHECK(builds[0].entries.size() == 2);
  CHECK(builds[0].entries[0].head_sha == "head1");
}

TEST_CASE("fewer entries form a batch once the oldest has waited max_wait") {
  Harness h(Config(4));
  h.Enqueue(1);
  auto timers = h.Of<ArmTimer>();
  REQUIRE(timers.size() == 1);
  CHECK(timers[0].at == 10 * kMinute);
  h.now = 10 * kMinute - 1;
  h.Apply(TimerFired{});
  CHECK(h.Of<BuildBatch>().empty());
  h.now = 10 * kMinute;
  h.Apply(TimerFired{});
  REQUIRE(h.Of<BuildBatch>().size() == 1);
}

TEST_CASE("the queued reply names the position and the expected batch") {
  Harness h(Config(2));
  h.state.paused = true;
  h.Enqueue(1);
  h.Enqueue(2);
  h.Enqueue(3);
  auto reports = h.Of<Report>();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].kind == ReportKind::kQueued);
  CHECK(reports[0].reason == ReportReason::kAccepted);
  CHECK(reports[0].position == 3);
  CHECK(reports[0].batches_ahead == 2);
}

TEST_CASE("the queued report carries who asked, the approved head and the priority") {
  Harness h(Config(2));
  h.state.paused = true;
  h.Apply(Enqueue{4, "head4", kPriorityHigh, true, "wendy"});
  auto reports = h.Of<Report>();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].actor == "wendy");
  CHECK(reports[0].head_sha == "head4");
  CHECK(reports[0].priority == kPriorityHigh);
}

TEST_CASE("the merged report says when the entry was queued") {
  Harness h(Config(1));
  h.now = 5 * kMinute;
  h.Enqueue(1);
  h.now = 9 * kMinute;
  h.BuildAll();
  h.Apply(RunFinished{1, true, "", ""});
  h.Apply(LandResult{1, true, "c1"});
  std::vector<Report> merged;
  for (const Report& r : h.Of<Report>())
    if (r.kind == ReportKind::kMerged) merged.push_back(r);
  REQUIRE(merged.size() == 1);
  CHECK(merged[0].queued_at == 5 * kMinute);
}

TEST_CASE("speculative batches stack on the commit of the batch ahead") {
  Harness h(Config(1, 2));
  h.Enqueue(1);
  h.Enqueue(2);
  REQUIRE(h.state.main.size() == 2);
  CHECK(h.B(2).state == BatchState::kWaitingBase);  // waits for #1's commit
  h.Apply(BatchBuilt{1, "c1", {}});
  auto builds = h.Of<BuildBatch>();
  REQUIRE(builds.size() == 1);
  CHECK(builds[0].batch == 2);
  CHECK(builds[0].base_sha == "c1");
  CHECK(h.Of<StartRun>().size() == 1);
}

TEST_CASE("no more than concurrency batches test at once") {
  Harness h(Config(1, 2));
  for (PrNumber pr = 1; pr <= 5; ++pr) h.Enqueue(pr);
  CHECK(h.state.main.size() == 2);
}

TEST_CASE("a passed batch lands by compare-and-swap on the tip it was built on") {
  Harness h(Config(2));
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAll();
  h.Apply(RunFinished{1, true, "", ""});
  auto lands = h.Of<Land>();
  REQUIRE(lands.size() == 1);
  CHECK(lands[0].commit == "c1");
  CHECK(lands[0].expected_tip == "tip0");
  CHECK(lands[0].prs == std::vector<PrNumber>{1, 2});
  h.Apply(LandResult{1, true, "c1"});
  CHECK(h.state.tip == "c1");
  CHECK(h.Outcome(ReportKind::kMerged) == std::vector<PrNumber>{1, 2});
  CHECK(h.state.entries.empty());
  CHECK(h.state.batches.empty());
}

TEST_CASE("a batch behind passes first and waits; then both land in one move") {
  Harness h(Config(1, 2));
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAllPending();
  h.Apply(RunFinished{2, true, "", ""});
  CHECK(h.Of<Land>().empty());
  h.Apply(RunFinished{1, true, "", ""});
  auto lands = h.Of<Land>();
  REQUIRE(lands.size() == 1);
  CHECK(lands[0].batch == 2);
  CHECK(lands[0].commit == "c2");
  CHECK(lands[0].prs == std::vector<PrNumber>{1, 2});
  h.Enqueue(3);
  h.BuildAllPending();  // #3 stacks on #2's commit
  h.Apply(LandResult{2, true, "c2"});
  CHECK(h.state.tip == "c2");
  CHECK(h.Of<CancelRun>().empty());  // #3 was built on c2: it stays
  CHECK(h.state.main == std::vector<BatchId>{3});
}

TEST_CASE("without pending depth a failed batch is bisected and the batches behind rebuilt") {
  Harness h(Config(2, 2));
  for (PrNumber pr = 1; pr <= 4; ++pr) h.Enqueue(pr);
  h.BuildAllPending();
  h.Apply(RunFinished{1, false, "unit", "log://1"});
  auto cancels = h.Of<CancelRun>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].batch == 2);
  // Entries 3 and 4 form a new main batch on the tip; 1 and 2 are split.
  REQUIRE(h.state.main.size() == 1);
  const Batch& rebuilt = h.B(h.state.main[0]);
  CHECK(rebuilt.prs == std::vector<PrNumber>{3, 4});
  CHECK(rebuilt.base_sha == "tip0");
  int nodes = 0;
  for (const auto& [id, b] : h.state.batches) {
    if (b.kind != BatchKind::kBisect) continue;
    ++nodes;
    CHECK(b.bisect_root == 1);
    CHECK(b.prs.size() == 1);
  }
  CHECK(nodes == 2);
}

TEST_CASE("a failing singleton is retried singleton_retries times, then kicked with its log") {
  QueueConfig c = Config(1);
  c.singleton_retries = 1;
  Harness h(c);
  h.Enqueue(7);
  h.BuildAll();
  h.Apply(RunFinished{1, false, "unit", "log://1"});
  h.BuildAllPending();
  BatchId retry = h.Of<StartRun>().at(0).batch;
  CHECK(h.Outcome(ReportKind::kKicked).empty());
  h.Apply(RunFinished{retry, false, "unit", "log://2"});
  REQUIRE(h.Outcome(ReportKind::kKicked) == std::vector<PrNumber>{7});
  auto kicked = h.Of<Report>();
  REQUIRE(!kicked.empty());
  CHECK(kicked.back().failed_step == "unit");
  CHECK(kicked.back().log_url == "log://2");
}

TEST_CASE("with pending depth a failed batch waits; a passing batch behind lands both optimistically") {
  Harness h(Config(2, 1, 1, true));
  for (PrNumber pr = 1; pr <= 4; ++pr) h.Enqueue(pr);
  h.BuildAllPending();
  h.Apply(RunFinished{1, false, "unit", ""});
  CHECK(h.B(1).state == BatchState::kFailed);
  h.BuildAllPending();  // the second batch builds on the failed one
  CHECK(h.B(2).base_sha == "c1");
  h.Apply(RunFinished{2, true, "", ""});
  auto lands = h.Of<Land>();
  REQUIRE(lands.size() == 1);
  CHECK(lands[0].commit == "c2");
  CHECK(lands[0].prs == std::vector<PrNumber>{1, 2, 3, 4});
  h.Apply(LandResult{2, true, "c2"});
  CHECK(h.Outcome(ReportKind::kMerged) == std::vector<PrNumber>{1, 2, 3, 4});
}

TEST_CASE("without optimistic merging a pass behind a pending failure does not land it") {
  Harness h(Config(2, 1, 1, false));
  for (PrNumber pr = 1; pr <= 4; ++pr) h.Enqueue(pr);
  h.BuildAllPending();
  h.Apply(RunFinished{1, false, "unit", ""});
  h.BuildAllPending();
  h.Apply(RunFinished{2, true, "", ""});
  CHECK(h.Of<Land>().empty());
  CHECK(h.state.batches.count(1) == 0);  // bisected
  CHECK(h.state.entries.at(3).status == EntryStatus::kBatched);  // rebuilt without it
  CHECK(h.B(h.state.entries.at(3).batch).base_sha == "tip0");
}

TEST_CASE("a pending failure with no passing batch behind is bisected and those behind rebuilt") {
  Harness h(Config(2, 1, 1, true));
  for (PrNumber pr = 1; pr <= 4; ++pr) h.Enqueue(pr);
  h.BuildAllPending();
  h.Apply(RunFinished{1, false, "unit", ""});
  h.BuildAllPending();
  h.Apply(RunFinished{2, false, "unit", ""});
  CHECK(h.state.batches.count(1) == 0);
  CHECK(h.state.batches.count(2) == 0);
  BatchId rebuilt = h.state.entries.at(3).batch;
  CHECK(h.B(rebuilt).kind == BatchKind::kMain);
  CHECK(h.B(rebuilt).prs == std::vector<PrNumber>{3, 4});
  CHECK(h.state.entries.at(1).status == EntryStatus::kBisecting);
}

TEST_CASE("a pending failure with nothing behind it and nothing waiting is resolved at once") {
  Harness h(Config(2, 1, 2, true));
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAll();
  h.Apply(RunFinished{1, false, "unit", ""});
  CHECK(h.state.main.empty());
  CHECK(h.state.entries.at(1).status == EntryStatus::kBisecting);
}

TEST_CASE("bisection tests at most bisection_concurrency halves at once") {
  QueueConfig c = Config(4);
  c.bisection_concurrency = 1;
  Harness h(c);
  for (PrNumber pr = 1; pr <= 4; ++pr) h.Enqueue(pr);
  h.BuildAll();
  h.Apply(RunFinished{1, false, "unit", ""});
  auto builds = h.Of<BuildBatch>();
  REQUIRE(builds.size() == 1);
  CHECK(builds[0].entries.size() == 2);
  CHECK(builds[0].entries[0].pr == 1);
}

TEST_CASE("a passing bisection half lands at once when the tip is still its base") {
  Harness h(Config(2));
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAll();
  h.Apply(RunFinished{1, false, "unit", ""});
  h.BuildAllPending();
  auto runs = h.AllOf<StartRun>();
  BatchId left = runs[runs.size() - 2].batch;
  h.Apply(RunFinished{left, true, "", ""});
  auto lands = h.Of<Land>();
  REQUIRE(lands.size() == 1);
  CHECK(lands[0].prs == std::vector<PrNumber>{1});
}

TEST_CASE("a passing bisection half waits while main batches test, then returns when the tip moves") {
  Harness h(Config(2));
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAll();
  h.Apply(RunFinished{1, false, "unit", ""});
  h.BuildAllPending();
  BatchId left = h.state.entries.at(1).batch;
  h.state.config.max_wait = 0;
  h.Enqueue(3);  // forms a main batch on the tip at once
  h.BuildAllPending();
  BatchId main = h.state.entries.at(3).batch;
  h.Apply(RunFinished{left, true, "", ""});
  CHECK(h.Of<Land>().empty());  // landing would throw away #main's run
  CHECK(h.B(left).state == BatchState::kPassed);
  h.Apply(RunFinished{main, true, "", ""});
  REQUIRE(h.Of<Land>().size() == 1);
  h.Apply(LandResult{main, true, "c" + std::to_string(main)});
  CHECK(h.state.batches.count(left) == 0);
  CHECK(h.state.entries.at(1).status != EntryStatus::kBisecting);
}

TEST_CASE("a passing bisection half whose base moved returns to the front of the queue") {
  Harness h(Config(2));
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAll();
  h.Apply(RunFinished{1, false, "unit", ""});
  h.BuildAllPending();
  BatchId left = h.state.entries.at(1).batch;
  h.now = 100;  // the half has been testing a while: it is not restarted
  h.Apply(TargetMoved{"tip1"});
  h.Apply(RunFinished{left, true, "", ""});
  CHECK(h.Of<Land>().empty());
  CHECK(h.state.batches.count(left) == 0);
  CHECK(h.Outcome(ReportKind::kReturned) == std::vector<PrNumber>{1});
}

TEST_CASE("cancel removes a waiting entry and rebuilds the batch that held one") {
  Harness h(Config(3, 2));
  for (PrNumber pr = 1; pr <= 6; ++pr) h.Enqueue(pr);
  h.Enqueue(7);
  h.BuildAllPending();
  h.now = 20 * kMinute;  // every entry has waited past max_wait
  h.Apply(Cancel{7, ReportReason::kCancelledBy, "alice"});
  CHECK(h.Outcome(ReportKind::kCancelled) == std::vector<PrNumber>{7});
  h.Apply(Cancel{2, ReportReason::kClosed});
  // Batch #1 held 2: it and #2 behind it are rebuilt; 1,3 and 4,5,6 batch again.
  CHECK(h.Outcome(ReportKind::kCancelled) == std::vector<PrNumber>{2, 7});
  auto cancels = h.Of<CancelRun>();
  CHECK(cancels.size() == 2);
  REQUIRE(h.state.main.size() == 2);
  CHECK(h.B(h.state.main[0]).prs == std::vector<PrNumber>{1, 3, 4});
  CHECK(h.B(h.state.main[1]).prs == std::vector<PrNumber>{5, 6});
}

TEST_CASE("a new head removes the entry; the pinned head does not") {
  Harness h(Config(5));
  h.Enqueue(1);
  h.Apply(HeadChanged{1, "head1"});
  CHECK(h.state.entries.count(1) == 1);
  h.Apply(HeadChanged{1, "newhead"});
  CHECK(h.state.entries.count(1) == 0);
  CHECK(h.Outcome(ReportKind::kCancelled) == std::vector<PrNumber>{1});
}

TEST_CASE("a target moved by someone else rebuilds every main batch on the new tip") {
  Harness h(Config(1, 2));
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAllPending();
  h.now = 20 * kMinute;
  h.Apply(TargetMoved{"elsewhere"});
  CHECK(h.Of<CancelRun>().size() == 2);
  auto builds = h.Of<BuildBatch>();
  REQUIRE(builds.size() == 1);
  CHECK(builds[0].base_sha == "elsewhere");
  CHECK(h.state.tip == "elsewhere");
}

TEST_CASE("a rejected landing means the target moved: rebuild on the real tip") {
  Harness h(Config(1));
  h.Enqueue(1);
  h.BuildAll();
  h.Apply(RunFinished{1, true, "", ""});
  h.Apply(LandResult{1, false, "theirs"});
  CHECK(h.state.tip == "theirs");
  CHECK(h.Outcome(ReportKind::kMerged).empty());
  auto builds = h.Of<BuildBatch>();
  REQUIRE(builds.size() == 1);
  CHECK(builds[0].base_sha == "theirs");
}

TEST_CASE("a push echo of our own landing counts as landed") {
  Harness h(Config(1));
  h.Enqueue(1);
  h.BuildAll();
  h.Apply(RunFinished{1, true, "", ""});
  h.Apply(TargetMoved{"c1"});
  CHECK(h.Outcome(ReportKind::kMerged) == std::vector<PrNumber>{1});
  h.Apply(LandResult{1, true, "c1"});  // stale now
  CHECK(h.Outcome(ReportKind::kMerged) == std::vector<PrNumber>{1});
}

TEST_CASE("an entry conflicting with the tip is kicked with its files; one conflicting with a batch ahead waits") {
  Harness h(Config(2, 2));
  for (PrNumber pr = 1; pr <= 4; ++pr) h.Enqueue(pr);
  h.Apply(BatchBuilt{1, "c1", {{2, {"src/a.c", "README"}, true}}});
  auto kicked = h.Of<Report>();
  REQUIRE(h.Outcome(ReportKind::kKicked) == std::vector<PrNumber>{2});
  bool named = false;
  for (const auto& r : kicked)
    if (r.kind == ReportKind::kKicked) named = r.reason == ReportReason::kConflict && r.paths.size() == 2 && r.paths[0] == "src/a.c";
  CHECK(named);
  h.Apply(BatchBuilt{2, "c2", {{3, {"x"}, false}}});
  CHECK(h.state.entries.at(3).status == EntryStatus::kWaiting);
  CHECK(h.B(2).prs == std::vector<PrNumber>{4});
}

TEST_CASE("a batch whose entries all conflict is dropped and never tested") {
  Harness h(Config(1));
  h.Enqueue(1);
  h.Apply(BatchBuilt{1, "", {{1, {"f"}, true}}});
  CHECK(h.state.batches.empty());
  CHECK(h.Of<StartRun>().empty());
}

TEST_CASE("stale answers for batches that no longer exist are ignored") {
  Harness h(Config(1));
  h.Enqueue(1);
  State before = h.state;
  h.Apply(RunFinished{42, true, "", ""});
  h.Apply(LandResult{42, true, "x"});
  h.Apply(BatchBuilt{42, "x", {}});
  CHECK(h.effects.empty());
  CHECK(h.state.main == before.main);
}

TEST_CASE("a paused queue finishes what is testing and forms no new batches") {
  Harness h(Config(1));
  h.Enqueue(1);
  h.BuildAll();
  h.Apply(SetPaused{true});
  h.Enqueue(2);
  CHECK(h.Of<BuildBatch>().empty());
  h.Apply(RunFinished{1, true, "", ""});
  CHECK(h.Of<Land>().size() == 1);
  h.Apply(LandResult{1, true, "c1"});
  CHECK(h.Of<BuildBatch>().empty());
  h.Apply(SetPaused{false});
  CHECK(h.Of<BuildBatch>().size() == 1);
}

TEST_CASE("a cancel while its batch is landing waits for the landing's answer") {
  Harness h(Config(1));
  h.Enqueue(1);
  h.BuildAll();
  h.Apply(RunFinished{1, true, "", ""});
  h.Apply(Cancel{1});
  CHECK(h.Outcome(ReportKind::kCancelled).empty());
  SUBCASE("landed: it merged") {
    h.Apply(LandResult{1, true, "c1"});
    CHECK(h.Outcome(ReportKind::kMerged) == std::vector<PrNumber>{1});
    CHECK(h.Outcome(ReportKind::kCancelled).empty());
  }
  SUBCASE("rejected: it is cancelled") {
    h.Apply(LandResult{1, false, "other"});
    CHECK(h.Outcome(ReportKind::kCancelled) == std::vector<PrNumber>{1});
    CHECK(h.state.entries.empty());
  }
}

TEST_CASE("enqueueing the same head again only updates the priority") {
  Harness h(Config(5));
  h.Enqueue(1);
  h.Apply(Enqueue{1, "head1", kPriorityHigh});
  CHECK(h.state.entries.size() == 1);
  CHECK(h.state.entries.at(1).priority == kPriorityHigh);
  CHECK(h.Outcome(ReportKind::kCancelled).empty());
}

TEST_CASE("a failed build backs off instead of spinning") {
  Harness h(Config(1));
  h.Enqueue(1);
  h.Apply(BuildFailed{1, "remote unreachable"});
  CHECK(h.Of<BuildBatch>().empty());
  auto timers = h.Of<ArmTimer>();
  REQUIRE(timers.size() == 1);
  h.now = timers[0].at;
  h.Apply(TimerFired{});
  CHECK(h.Of<BuildBatch>().size() == 1);
}

TEST_CASE("Step leaves the given state untouched") {
  Harness h(Config(1));
  State before = h.state;
  StepResult r = Step(h.state, Enqueue{1, "h", kPriorityNormal}, 0);
  CHECK(h.state.entries.empty());
  CHECK(r.state.entries.size() == 1);
  CHECK_FALSE(r.effects.empty());
}
}

TEST_CASE("a late push echo of a tip the queue already left is ignored") {
  Harness h(Config(1));
  h.Enqueue(1);
  h.BuildAll();
  h.Apply(RunFinished{1, true, "", ""});
  REQUIRE(h.Of<Land>().size() == 1);
  h.Apply(LandResult{1, true, "c1"});
  REQUIRE(h.state.tip == "c1");
  h.Enqueue(2);
  h.BuildAll();
  REQUIRE(h.state.batches.at(2).base_sha == "c1");
  // The webhook of the push that set tip0 (or of our own first landing)
  // arrives late: nothing is rebuilt and the tip stays.
  h.Apply(TargetMoved{"tip0"});
  CHECK(h.state.tip == "c1");
  CHECK(h.state.batches.at(2).state == BatchState::kTesting);
  // A genuinely new tip still rebuilds.
  h.Apply(TargetMoved{"elsewhere"});
  CHECK(h.state.tip == "elsewhere");
  CHECK(h.state.past_tips.back() == "c1");
}

TEST_CASE("a stacked singleton failing before the batch ahead finishes is tested alone before any kick") {
  QueueConfig c = Config(1, 2);
  c.max_wait = 0;
  Harness h(c);  // singleton_retries = 0
  h.Enqueue(1);
  h.Enqueue(2);
  h.BuildAllPending();
  REQUIRE(h.B(2).base_sha == "c1");
  // 2 was built on 1, which is bad and still testing: 2's failure is 1's fault.
  h.Apply(RunFinished{2, false, "unit", "log://2"});
  CHECK(h.Outcome(ReportKind::kKicked).empty());
  h.BuildAllPending();
  BatchId alone = 0;
  for (const auto& [id, b] : h.state.batches)
    if (b.kind == BatchKind::kBisect && b.prs == std::vector<PrNumber>{2}) alone = id;
  REQUIRE(alone != 0);
  CHECK(h.B(alone).base_sha == "tip0");
  h.Apply(RunFinished{1, false, "unit", "log://1"});
  CHECK(h.Outcome(ReportKind::kKicked) == std::vector<PrNumber>{1});  // the front failed on the tip
  h.Apply(RunFinished{alone, true, "", ""});
  CHECK(h.Outcome(ReportKind::kKicked) == std::vector<PrNumber>{1});
  CHECK(h.state.entries.count(2) == 1);  // passed alone: it lands or waits again
}

TEST_SUITE("queue") {

TEST_CASE("a plain !integrate on an entry already queued keeps its priority; a given one changes it") {
  Harness h(Config(4));
  h.state.paused = true;
  h.Apply(queue::Enqueue{1, "head1", kPriorityHigh});
  h.Apply(queue::Enqueue{1, "head1", kPriorityNormal, /*priority_given=*/false});
  CHECK(h.state.entries.at(1).priority == kPriorityHigh);
  REQUIRE(h.Of<Report>().size() == 1);
  CHECK(h.Of<Report>()[0].reason == ReportReason::kAlreadyQueued);
  h.Apply(queue::Enqueue{1, "head1", kPriorityLow});
  CHECK(h.state.entries.at(1).priority == kPriorityLow);
}

TEST_CASE("a plain !integrate on a new head replaces the entry at the priority it had") {
  Harness h(Config(4));
  h.state.paused = true;
  h.Apply(queue::Enqueue{1, "head1", kPriorityHigh});
  h.Apply(queue::Enqueue{1, "head1b", kPriorityNormal, /*priority_given=*/false});
  CHECK(h.state.entries.at(1).head_sha == "head1b");
  CHECK(h.state.entries.at(1).priority == kPriorityHigh);
  const auto cancelled = h.Of<Report>().front();
  CHECK(cancelled.reason == ReportReason::kReplaced);
  CHECK(cancelled.head_sha == "head1b");
}

}  // TEST_SUITE
