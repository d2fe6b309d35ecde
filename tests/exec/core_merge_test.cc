#include <doctest/doctest.h>

#include "exec/core/sha256.h"
#include "core_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec::core;
using mergeyard::exec::core::testing::Exit;
using mergeyard::exec::core::testing::Harness;
using mergeyard::exec::core::testing::MakeAction;

TEST_SUITE("exec") {

TEST_CASE("sha256 matches the FIPS test vectors") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("the action digest covers command, env, platform, timeout and input tree only") {
  Action a = MakeAction("make test");
  a.env = {{"B", "2"}, {"A", "1"}};
  Action b = a;
  b.resources.cpu = 8;
  b.priority = 9;
  b.group = "other";
  b.input.commit = "another-commit-same-tree";
  CHECK(ActionDigest(a) == ActionDigest(b));
  b.env["C"] = "3";
  CHECK(ActionDigest(a) != ActionDigest(b));
  Action c = a;
  c.input.tree = "tree2";
  CHECK(ActionDigest(a) != ActionDigest(c));
  Action d = a;
  d.timeout += 1;
  CHECK(ActionDigest(a) != ActionDigest(d));
  Action e = a;
  e.command = {"sh", "-c make", "test"};  // netstrings: no ambiguity from joining
  Action f = a;
  f.command = {"sh", "-c", "make test"};
  CHECK(ActionDigest(e) != ActionDigest(f));
  CHECK(CanonicalEncoding(a).rfind("19:mergeyard.action.v1,", 0) == 0);
  CHECK(PathsTreeDigest({{"web/", "x"}, {"a/", "y"}}) == PathsTreeDigest({{"a/", "y"}, {"web/", "x"}}));
}

TEST_CASE("two identical submissions run once and both waiters get the result") {
  Harness h;
  h.AddExecutor("x1");
  auto s1 = h.Submit(MakeAction("t"));
  auto s2 = h.Submit(MakeAction("t"));
  CHECK(s1.status == SubmitStatus::kQueued);
  CHECK(s2.status == SubmitStatus::kMerged);
  CHECK(s2.execution == s1.execution);
  CHECK(h.backend.WaitersOf(s1.execution) == 2);
  auto as = h.Schedule();
  REQUIRE(as.size() == 1);
  CHECK(h.Schedule().empty());
  REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  auto out = h.Delivered();
  REQUIRE(out.size() == 2);
  for (auto& o : out) {
    CHECK(o.result.exit_code == 0);
    CHECK(o.shared_by == 2);
    CHECK(o.execution == s1.execution);
  }
  CHECK(out[0].joined != out[1].joined);
  auto v = h.backend.View(s1.execution);
  REQUIRE(v);
  CHECK(v->state == ExecState::kCompleted);
  CHECK(v->waiters == 2);
  CHECK(v->merged_submissions == 1);
}

TEST_CASE("a passing result is cached and a later submission answers at once") {
  Harness h;
  h.AddExecutor("x1");
  auto s1 = h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  auto s2 = h.Submit(MakeAction("t"));
  CHECK(s2.status == SubmitStatus::kCached);
  REQUIRE(s2.cached);
  CHECK(s2.cached->execution_id == s1.execution);
  CHECK(s2.waiter == 0);
}

TEST_CASE("a submission that skips the cache runs even though a cached result exists") {
  Harness h;
  h.AddExecutor("x1");
  h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  auto again = h.Submit(MakeAction("t"), SubmitOptions{.skip_cache = true});
  CHECK(again.status == SubmitStatus::kQueued);
  as = h.Schedule();
  REQUIRE(as.size() == 1);  // started, not answered from the cache at schedule time
  CHECK(as[0].execution == again.execution);
}

TEST_CASE("a result of an action that is not cacheable never enters the cache") {
  Harness h;
  h.AddExecutor("x1");
  Action a = MakeAction("t");
  a.cacheable = false;
  h.Submit(a);
  auto as = h.Schedule();
  REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  CHECK(h.Submit(a).status == SubmitStatus::kQueued);
}

TEST_CASE("failures are not cached unless the action says so") {
  Harness h;
  h.AddExecutor("x1");
  h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  REQUIRE(h.backend.Complete(as[0].lease, Exit(1), h.now));
  CHECK(h.Submit(MakeAction("t")).status == SubmitStatus::kQueued);
  Action cf = MakeAction("u");
  cf.cache_failures = true;
  h.Submit(cf);
  as = h.Schedule();
  REQUIRE(as.size() == 2);
  for (auto& a : as) REQUIRE(h.backend.Complete(a.lease, Exit(1), h.now));
  CHECK(h.Submit(cf).status == SubmitStatus::kCached);
}

TEST_CASE("a merged failure is marked merged and an unmerged re-run is a separate execution") {
  Harness h;
  h.AddExecutor("x1");
  auto s1 = h.Submit(MakeAction("flaky"));
  auto s2 = h.Submit(MakeAction("flaky"));
  auto as = h.Schedule();
  REQUIRE(h.backend.Complete(as[0].lease, Exit(1), h.now));
  auto out = h.Delivered();
  REQUIRE(out.size() == 2);
  for (auto& o : out) {
    CHECK_FALSE(o.result.passed());
    CHECK(o.merged());
  }
  auto rerun = h.Submit(MakeAction("flaky"), {.skip_cache = true, .no_merge = true});
  auto other = h.Submit(MakeAction("flaky"), {.skip_cache = true, .no_merge = true});
  CHECK(rerun.status == SubmitStatus::kQueued);
  CHECK(other.status == SubmitStatus::kQueued);
  CHECK(rerun.execution != other.execution);
  CHECK(rerun.execution != s1.execution);
  // A normal submission does not join an unmerged re-run either.
  CHECK(h.Submit(MakeAction("flaky")).status == SubmitStatus::kQueued);
  (void)s2;
}

TEST_CASE("a waiter leaving does not cancel an execution others still wait for") {
  Harness h;
  h.AddExecutor("x1");
  auto s1 = h.Submit(MakeAction("t"));
  auto s2 = h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  CHECK(h.backend.Leave(s1.waiter, h.now));
  CHECK_FALSE(h.backend.Leave(s1.waiter, h.now));
  for (int i = 0; i < 12; ++i) {  // renewals keep the lease for a minute
    h.Advance(5 * kSecond);
    REQUIRE(h.backend.Renew(as[0].lease, h.now));
  }
  REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  auto out = h.Delivered();
  REQUIRE(out.size() == 1);
  CHECK(out[0].waiter == s2.waiter);
}

TEST_CASE("an execution with no waiters left is cancelled after the grace period, not before") {
  Harness h;
  h.AddExecutor("x1");
  auto s1 = h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  REQUIRE(as.size() == 1);
  CHECK(h.backend.Leave(s1.waiter, h.now));
  h.Advance(5 * kSecond - 1);
  CHECK(h.backend.View(s1.execution)->state == ExecState::kRunning);
  h.Advance(1);
  CHECK(h.backend.View(s1.execution)->state == ExecState::kCancelled);
  h.Delivered();
  REQUIRE(h.cancelled_leases.size() == 1);
  CHECK(h.cancelled_leases[0] == as[0].lease);
  CHECK_FALSE(h.backend.Complete(as[0].lease, Exit(0), h.now));  // late result refused
  CHECK(h.Submit(MakeAction("t")).status == SubmitStatus::kQueued);  // not cached
}

TEST_CASE("a waiter joining during the grace period keeps the execution alive") {
  Harness h;
  h.AddExecutor("x1");
  auto s1 = h.Submit(MakeAction("t"));
  auto as = h.Schedule();
  h.backend.Leave(s1.waiter, h.now);
  h.Advance(3 * kSecond);
  auto s2 = h.Submit(MakeAction("t"));
  CHECK(s2.status == SubmitStatus::kMerged);
  h.Advance(10 * kSecond);
  CHECK(h.backend.View(s1.execution)->state == ExecState::kRunning);
  REQUIRE(h.backend.Renew(as[0].lease, h.now));
  REQUIRE(h.backend.Complete(as[0].lease, Exit(0), h.now));
  auto out = h.Delivered();
  REQUIRE(out.size() == 1);
  CHECK(out[0].waiter == s2.waiter);
}

TEST_CASE("queued work whose waiters all left is never started") {
  Harness h;
  h.AddExecutor("x1", 1);
  h.Submit(MakeAction("busy"));
  auto first = h.Schedule();
  REQUIRE(first.size() == 1);
  auto s = h.Submit(MakeAction("stale"));
  h.backend.Leave(s.waiter, h.now);
  REQUIRE(h.backend.Complete(first[0].lease, Exit(0), h.now));
  CHECK(h.Schedule().empty());
  h.Advance(5 * kSecond);
  CHECK(h.backend.View(s.execution)->state == ExecState::kCancelled);
  CHECK(h.backend.View(s.execution)->attempts == 0);
}

TEST_CASE("queued work whose result reached the cache meanwhile is answered without running") {
  Harness h;
  h.AddExecutor("x1", 1);
  h.Submit(MakeAction("busy"));
  auto first = h.Schedule();
  auto s = h.Submit(MakeAction("t"));
  ActionResult cached = Exit(0);
  cached.execution_id = "elsewhere";
  h.cache.Put(s.digest, cached);
  REQUIRE(h.backend.Complete(first[0].lease, Exit(0), h.now));
  h.Delivered();
  CHECK(h.Schedule().empty());
  auto out = h.Delivered();
  REQUIRE(out.size() == 1);
  CHECK(out[0].waiter == s.waiter);
  CHECK(out[0].result.passed());
  CHECK(h.backend.View(s.execution)->cached);
  CHECK(h.backend.View(s.execution)->attempts == 0);
}

TEST_CASE("merging holds under interleaved submit, leave, complete and resubmit") {
  // Many identical actions arriving around a completion: exactly one execution
  // per generation, and every waiter answered exactly once.
  Harness h;
  h.AddExecutor("x1", 64);
  std::set<WaiterId> waiting;
  std::set<ExecutionId> executions;
  int delivered = 0;
  for (int round = 0; round < 50; ++round) {
    Action a = MakeAction("r" + std::to_string(round % 5));
    auto s = h.Submit(a);
    if (s.waiter) waiting.insert(s.waiter);
    executions.insert(s.execution);
    if (round % 7 == 3 && !waiting.empty()) {
      h.backend.Leave(*waiting.begin(), h.now);
      waiting.erase(waiting.begin());
    }
    for (auto& as : h.Schedule()) REQUIRE(h.backend.Complete(as.lease, Exit(round % 2), h.now));
    for (auto& o : h.Delivered()) {
      CHECK(waiting.erase(o.waiter) == 1);
      ++delivered;
    }
  }
  CHECK(waiting.empty());
  CHECK(delivered > 0);
  h.Advance(10 * kSecond);  // entries left by their last waiter are cancelled
  CHECK(h.backend.stats().live_entries == 0);
}

}  // TEST_SUITE
