#include <doctest/doctest.h>

#include "core_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec::core;
using mergeyard::exec::core::testing::Exit;
using mergeyard::exec::core::testing::Harness;
using mergeyard::exec::core::testing::MakeAction;

namespace {

std::vector<std::string> RunOneAtATime(Harness& h, int n) {
  std::vector<std::string> order;
  for (int i = 0; i < n; ++i) {
    auto as = h.Schedule();
    if (as.empty()) break;
    REQUIRE(as.size() == 1);
    order.push_back(as[0].action.name);
    REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  }
  return order;
}

}  // namespace

TEST_SUITE("exec") {

TEST_CASE("groups are served round-robin so a busy repository does not starve another") {
  Harness h;
  h.AddExecutor("x1", 1);
  for (int i = 0; i < 6; ++i) h.Submit(MakeAction("a" + std::to_string(i), "big/repo"));
  h.Submit(MakeAction("b0", "small/repo"));
  h.Submit(MakeAction("b1", "small/repo"));
  h.Submit(MakeAction("c0", "third/repo"));
  auto order = RunOneAtATime(h, 20);
  CHECK(order == std::vector<std::string>{"a0", "b0", "c0", "a1", "b1", "a2", "a3", "a4", "a5"});
}

TEST_CASE("inside a group higher priority runs first and ties go to the oldest") {
  Harness h;
  h.AddExecutor("x1", 1);
  Action low = MakeAction("low");
  Action old_normal = MakeAction("old");
  Action high = MakeAction("high");
  high.priority = 10;
  Action new_normal = MakeAction("new");
  h.Submit(low);  // priority 0 like the others but oldest
  h.now += 1;
  low = MakeAction("low2");
  low.priority = -5;
  h.Submit(low);
  h.now += 1;
  h.Submit(old_normal);
  h.now += 1;
  h.Submit(high);
  h.now += 1;
  h.Submit(new_normal);
  auto order = RunOneAtATime(h, 10);
  CHECK(order == std::vector<std::string>{"high", "low", "old", "new", "low2"});
}

TEST_CASE("work blocked only on a scarce custom resource does not hold back work that needs none") {
  Harness h;
  h.AddExecutor("x1", 8, 8ll << 30, {{"license", 1}});
  Action l1 = MakeAction("lic1");
  l1.resources.custom["license"] = 1;
  Action l2 = MakeAction("lic2");
  l2.resources.custom["license"] = 1;
  Action plain = MakeAction("plain");
  h.Submit(l1);
  h.Submit(l2);
  h.Submit(plain);
  auto as = h.Schedule();
  REQUIRE(as.size() == 2);
  CHECK(as[0].action.name == "lic1");
  CHECK(as[1].action.name == "plain");
  REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  as = h.Schedule();
  REQUIRE(as.size() == 1);
  CHECK(as[0].action.name == "lic2");
}

TEST_CASE("work that does not fit on cpu or memory holds its group's queue") {
  Harness h;
  h.AddExecutor("x1", 4);
  Action two = MakeAction("two");
  two.resources.cpu = 2;
  Action four = MakeAction("four");
  four.resources.cpu = 4;
  Action small = MakeAction("small");
  small.resources.cpu = 1;
  h.Submit(two);
  h.Submit(four);
  h.Submit(small);
  auto as = h.Schedule();
  REQUIRE(as.size() == 1);  // "four" waits; "small" behind it waits too
  CHECK(as[0].action.name == "two");
  REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  as = h.Schedule();
  REQUIRE(as.size() == 1);
  CHECK(as[0].action.name == "four");
}

TEST_CASE("an action asking for more than an executor has gets the whole executor") {
  Harness h;
  h.AddExecutor("x1", 2, 1ll << 30);
  Action huge = MakeAction("huge");
  huge.resources.cpu = 16;
  huge.resources.memory_bytes = 64ll << 30;
  h.Submit(huge);
  auto as = h.Schedule();
  REQUIRE(as.size() == 1);
  CHECK(as[0].reserved.cpu == 2);
  CHECK(as[0].reserved.memory_bytes == (1ll << 30));
}

TEST_CASE("platform properties must match executor labels") {
  Harness h;
  ExecutorInfo arm;
  arm.id = "arm";
  arm.capacity = Resources{4, 0, {}};
  arm.labels = {{"arch", "arm64"}};
  h.backend.UpsertExecutor(arm, h.now);
  Action x86 = MakeAction("x86");
  x86.platform = {{"arch", "amd64"}};
  Action any = MakeAction("any");
  h.Submit(x86);
  h.Submit(any);
  auto as = h.Schedule();
  REQUIRE(as.size() == 1);
  CHECK(as[0].action.name == "any");
}

TEST_CASE("the scheduler prefers an executor with the repository warm") {
  Harness h;
  h.AddExecutor("cold", 8);
  ExecutorInfo warm;
  warm.id = "warm";
  warm.capacity = Resources{2, 0, {}};
  warm.warm_repos = {"o/r"};
  h.backend.UpsertExecutor(warm, h.now);
  h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  REQUIRE(as.size() == 1);
  CHECK(as[0].executor == "warm");
}

TEST_CASE("learned sizing schedules a step by what it uses and says so") {
  Harness h;
  h.AddExecutor("x1", 4, 8ll << 30);
  Action a = MakeAction("unit");
  a.resources.cpu = 4;
  a.resources.memory_bytes = 4ll << 30;
  for (int i = 0; i < 3; ++i) {
    a.input.tree = "t" + std::to_string(i);
    auto s = h.Submit(a);
    auto as = h.Schedule();
    REQUIRE(as.size() == 1);
    CHECK_FALSE(as[0].learned_sizing);
    ActionResult r = Exit(0);
    r.peak_memory_bytes = 100ll << 20;
    r.cpu_cores = 0.8;
    REQUIRE(h.backend.Complete(as[0].lease, r, h.now));
  }
  a.input.tree = "t-new";
  auto s = h.Submit(a);
  auto as = h.Schedule();
  REQUIRE(as.size() == 1);
  CHECK(as[0].learned_sizing);
  CHECK(as[0].reserved.memory_bytes == 150ll << 20);
  CHECK(as[0].reserved.cpu == doctest::Approx(1.2));
  auto v = h.backend.View(s.execution);
  CHECK(v->learned_sizing);
  CHECK(v->declared.cpu == 4);
  // Three learned steps now fit at once where one declared step did.
  for (int i = 0; i < 2; ++i) {
    a.input.tree = "more" + std::to_string(i);
    h.Submit(a);
  }
  CHECK(h.Schedule().size() == 2);
}

TEST_CASE("sizing is not learned when usage is close to the declaration") {
  SizingModel m;
  Resources declared{2, 1ll << 30, {}};
  for (int i = 0; i < 5; ++i) {
    ActionResult r = Exit(0);
    r.peak_memory_bytes = 800ll << 20;
    r.cpu_cores = 1.9;
    m.Record("k", r);
  }
  auto sized = m.Size("k", declared);
  CHECK_FALSE(sized.learned());
  CHECK(sized.resources == declared);
}

TEST_CASE("an expired lease puts the execution back in the queue and it finishes elsewhere") {
  Harness h;
  h.AddExecutor("x1", 1);
  auto s = h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  REQUIRE(as.size() == 1);
  CHECK(as[0].executor == "x1");
  h.AddExecutor("x2", 1);
  CHECK(h.Schedule().empty());
  h.Advance(20 * kSecond);  // lease 10 s + grace 10 s without a renewal
  h.Delivered();
  CHECK(h.cancelled_leases == std::vector<LeaseId>{as[0].lease});
  CHECK(h.backend.View(s.execution)->state == ExecState::kQueued);
  auto again = h.Schedule();
  REQUIRE(again.size() == 1);
  CHECK(again[0].executor == "x2");  // x1 is free too, but it lost the lease
  CHECK(again[0].attempt == 2);
  CHECK_FALSE(h.backend.Complete(as[0].lease, Exit(0), h.now));  // the lost lease is refused
  REQUIRE(h.backend.Complete(again[0].lease, Exit(0), h.now));
  auto out = h.Delivered();
  REQUIRE(out.size() == 1);
  CHECK(out[0].result.executor == "x2");
}

TEST_CASE("an executor whose lease expired gets no work until it is heard from again") {
  Harness h;
  h.AddExecutor("dead", 4);
  h.AddExecutor("live", 1);
  auto s = h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  REQUIRE(as.size() == 1);
  REQUIRE(as[0].executor == "dead");  // more room: preferred
  h.silent.insert("dead");           // killed mid-step: no renewal, no poll
  h.backend.Touch("live", h.now);
  h.Submit(MakeAction("u"));          // other work queued behind it
  h.Advance(20 * kSecond);
  h.Delivered();
  auto again = h.Schedule();
  REQUIRE(again.size() == 1);         // the live executor has room for one
  CHECK(again[0].executor == "live");
  CHECK(again[0].execution == s.execution);  // the lost step first (boosted), attempt 2
  CHECK(again[0].attempt == 2);
  // A long poll the dead executor left open refreshes nothing...
  h.backend.Touch("dead", h.now, /*heard=*/false);
  CHECK(h.Schedule().empty());
  // ...but a new poll (it came back) makes it eligible again.
  h.backend.Touch("dead", h.now);
  auto next = h.Schedule();
  REQUIRE(next.size() == 1);
  CHECK(next[0].executor == "dead");
}

TEST_CASE("an executor that renews within the grace period keeps its work") {
  Harness h;
  h.AddExecutor("x1", 1);
  h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  h.Advance(19 * kSecond);  // silent past the lease, within the grace
  REQUIRE(h.backend.Renew(as[0].lease, h.now));
  h.Advance(19 * kSecond);
  REQUIRE(h.backend.Renew(as[0].lease, h.now));
  h.Advance(5 * kSecond);
  REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  CHECK(h.Delivered().size() == 1);
  CHECK(h.cancelled_leases.empty());
}

TEST_CASE("a renewal after the lease expired is refused") {
  Harness h;
  h.AddExecutor("x1", 1);
  h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  h.now += 21 * kSecond;  // no Tick yet: Renew itself notices
  CHECK_FALSE(h.backend.Renew(as[0].lease, h.now));
}

TEST_CASE("an execution whose leases keep expiring fails after max attempts") {
  auto c = Harness::DefaultConfig();
  c.max_attempts = 2;
  Harness h(c);
  h.AddExecutor("x1", 1);
  auto s = h.Submit(MakeAction("t"));
  for (int i = 0; i < 2; ++i) {
    h.backend.Touch("x1", h.now);  // x1 polls again after losing a lease
    REQUIRE(h.Schedule().size() == 1);
    h.Advance(20 * kSecond);
  }
  auto out = h.Delivered();
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].result.passed());
  CHECK(out[0].result.error.find("lease expired") != std::string::npos);
  CHECK(h.backend.View(s.execution)->state == ExecState::kCompleted);
  CHECK(h.Submit(MakeAction("t")).status == SubmitStatus::kQueued);  // errors are never cached
}

TEST_CASE("an executor-side error re-queues the execution") {
  Harness h;
  h.AddExecutor("x1", 1);
  h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  ActionResult err;
  err.error = "checkout failed";
  REQUIRE(h.backend.Complete(as[0].lease, err, h.now));
  CHECK(h.Delivered().empty());
  auto again = h.Schedule();
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempt == 2);
}

TEST_CASE("a silent executor is removed and its work re-queued") {
  Harness h;
  h.AddExecutor("x1", 1);
  h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  h.silent.insert("x1");
  h.Advance(120 * kSecond);
  CHECK(h.backend.Executors().empty());
  h.AddExecutor("x2", 1);
  auto again = h.Schedule();
  REQUIRE(again.size() == 1);
  CHECK(again[0].executor == "x2");
}

}  // TEST_SUITE
