#include <doctest/doctest.h>

#include "core_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec::core;
using mergeyard::exec::core::testing::Exit;
using mergeyard::exec::core::testing::Harness;
using mergeyard::exec::core::testing::MakeAction;

namespace {

BackendConfig HedgeConfig() {
  auto c = Harness::DefaultConfig();
  c.max_hedges = 1;
  c.hedge_multiplier = 3;
  c.hedge_default_after = 100 * kSecond;
  c.hedge_min_after = 1 * kSecond;
  c.hedge_backoff = 30 * kSecond;
  c.hedge_waiters = 0;
  c.lease_duration = 1000000 * kSecond;  // leases are not what these tests are about
  return c;
}

// Runs `name` to completion `n` times (different trees) taking `d` each.
void Teach(Harness& h, const std::string& name, int n, Duration d) {
  for (int i = 0; i < n; ++i) {
    Action a = MakeAction(name, "o/r", "history" + std::to_string(i));
    h.Submit(a);
    auto as = h.Schedule();
    REQUIRE(as.size() == 1);
    REQUIRE(h.backend.Complete(as[0].lease, Exit(0, d), h.now));
  }
  h.Delivered();
}

}  // namespace

TEST_SUITE("exec") {

TEST_CASE("a primary running past its learned hedge threshold gets a hedge that can win") {
  Harness h(HedgeConfig());
  h.AddExecutor("x1", 1);
  Teach(h, "t", 3, 10 * kSecond);
  h.AddExecutor("x2", 1);
  auto s1 = h.Submit(MakeAction("t"));
  auto s2 = h.Submit(MakeAction("t"));
  auto primary = h.Schedule();
  REQUIRE(primary.size() == 1);
  h.Advance(30 * kSecond - 1);
  CHECK(h.Schedule().empty());
  h.Advance(1);  // 3 x the usual 10 s
  auto hedge = h.Schedule();
  REQUIRE(hedge.size() == 1);
  CHECK(hedge[0].hedge);
  CHECK(hedge[0].executor != primary[0].executor);
  auto v = h.backend.View(s1.execution);
  REQUIRE(v->hedges.size() == 1);
  CHECK(v->hedges[0] == hedge[0].execution);
  REQUIRE(h.backend.Complete(hedge[0].lease, Exit(0, 2000), h.now));
  auto out = h.Delivered();
  REQUIRE(out.size() == 2);  // every waiter of the primary is answered by the hedge
  for (auto& o : out) {
    CHECK(o.winner == hedge[0].execution);
    CHECK(o.execution == s1.execution);
  }
  CHECK(h.cancelled_leases == std::vector<LeaseId>{primary[0].lease});  // the loser is stopped
  CHECK_FALSE(h.backend.Complete(primary[0].lease, Exit(0), h.now));
  v = h.backend.View(s1.execution);
  CHECK(v->state == ExecState::kCompleted);
  CHECK(v->winner == hedge[0].execution);
  CHECK(h.Submit(MakeAction("t")).status == SubmitStatus::kCached);  // the winner filled the cache
  (void)s2;
}

TEST_CASE("when the primary wins the race the hedge is cancelled") {
  Harness h(HedgeConfig());
  h.AddExecutor("x1", 1);
  h.AddExecutor("x2", 1);
  auto s = h.Submit(MakeAction("t"));
  auto primary = h.Schedule();
  h.Advance(100 * kSecond);  // the configured default before any history
  auto hedge = h.Schedule();
  REQUIRE(hedge.size() == 1);
  REQUIRE(h.backend.Complete(primary[0].lease, Exit(0), h.now));
  auto out = h.Delivered();
  REQUIRE(out.size() == 1);
  CHECK(out[0].winner == s.execution);
  CHECK(h.cancelled_leases == std::vector<LeaseId>{hedge[0].lease});
  CHECK(h.backend.View(hedge[0].execution)->state == ExecState::kCancelled);
  CHECK_FALSE(h.backend.Complete(hedge[0].lease, Exit(1), h.now));
}

TEST_CASE("a primary with more waiters than the threshold gets a hedge when one more joins") {
  auto c = HedgeConfig();
  c.hedge_waiters = 3;
  Harness h(c);
  h.AddExecutor("x1", 1);
  h.AddExecutor("x2", 1);
  h.Submit(MakeAction("t"));
  REQUIRE(h.Schedule().size() == 1);
  for (int i = 0; i < 2; ++i) h.Submit(MakeAction("t"));
  CHECK(h.Schedule().empty());
  h.Submit(MakeAction("t"));  // 4 waiters > 3
  auto hedge = h.Schedule();
  REQUIRE(hedge.size() == 1);
  CHECK(hedge[0].hedge);
}

TEST_CASE("hedges are capped and backed off") {
  auto c = HedgeConfig();
  c.max_hedges = 2;
  Harness h(c);
  h.AddExecutor("x1", 1);
  h.AddExecutor("x2", 1);
  h.AddExecutor("x3", 1);
  h.AddExecutor("x4", 1);
  auto s = h.Submit(MakeAction("t"));
  h.Schedule();
  h.Advance(100 * kSecond);
  CHECK(h.Schedule().size() == 1);
  h.Advance(30 * kSecond - 1);
  CHECK(h.Schedule().empty());  // backing off
  h.Advance(1);
  CHECK(h.Schedule().size() == 1);
  h.Advance(1000 * kSecond);
  CHECK(h.Schedule().empty());  // capped at 2
  CHECK(h.backend.View(s.execution)->hedges.size() == 2);
  CHECK(h.backend.stats().hedges == 2);
}

TEST_CASE("a queued primary is not hedged") {
  Harness h(HedgeConfig());
  h.AddExecutor("x1", 1);
  h.Submit(MakeAction("busy", "o/r", "other"));
  REQUIRE(h.Schedule().size() == 1);
  auto s = h.Submit(MakeAction("t"));
  h.Advance(500 * kSecond);
  CHECK(h.backend.View(s.execution)->state == ExecState::kQueued);
  CHECK(h.backend.View(s.execution)->hedges.empty());
}

TEST_CASE("a finished entry is removed by compare-and-erase so a newer execution stays joinable") {
  Harness h(HedgeConfig());
  h.AddExecutor("x1", 1);
  h.AddExecutor("x2", 1);
  auto first = h.Submit(MakeAction("t"));
  auto primary = h.Schedule();
  h.Advance(100 * kSecond);
  auto hedge = h.Schedule();
  REQUIRE(hedge.size() == 1);
  // The hedge fails first: not cached, every waiter answered, entry removed.
  REQUIRE(h.backend.Complete(hedge[0].lease, Exit(1), h.now));
  h.Delivered();
  auto second = h.Submit(MakeAction("t"));
  CHECK(second.status == SubmitStatus::kQueued);
  CHECK(second.execution != first.execution);
  // The old primary's late completion is refused and must not erase the new entry.
  CHECK_FALSE(h.backend.Complete(primary[0].lease, Exit(0), h.now));
  auto third = h.Submit(MakeAction("t"));
  CHECK(third.status == SubmitStatus::kMerged);
  CHECK(third.execution == second.execution);
}

}  // TEST_SUITE
