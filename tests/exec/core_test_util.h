#pragma once
// Helpers for the deterministic tests of exec/core: a backend on a virtual
// clock, an action factory and notice filters.

#include <set>
#include <string>
#include <vector>

#include "exec/core/backend.h"

namespace mergeyard::exec::core::testing {

inline Action MakeAction(const std::string& cmd, const std::string& group = "o/r",
                         const std::string& tree = "tree1") {
  Action a;
  a.name = cmd;
  a.command = {"sh", "-c", cmd};
  a.timeout = 60 * kSecond;
  a.has_input = true;
  a.input.repo = group;
  a.input.commit = "c1";
  a.input.tree = tree;
  a.group = group;
  return a;
}

inline ActionResult Exit(int code, Duration d = 1000) {
  ActionResult r;
  r.exit_code = code;
  r.duration = d;
  return r;
}

struct Harness {
  explicit Harness(BackendConfig c = DefaultConfig()) : backend(c, cache) {}
  static BackendConfig DefaultConfig() {
    BackendConfig c;
    c.no_waiter_grace = 5 * kSecond;
    c.lease_duration = 10 * kSecond;
    c.lease_grace = 10 * kSecond;
    c.max_hedges = 0;
    return c;
  }
  void AddExecutor(const std::string& id, double cpu = 4, std::int64_t mem = 8ll << 30,
                   std::map<std::string, std::int64_t> custom = {}) {
    ExecutorInfo e;
    e.id = id;
    e.capacity = Resources{cpu, mem, custom};
    backend.UpsertExecutor(e, now);
  }
  Submitted Submit(const Action& a, SubmitOptions o = {}) {
    return backend.Submit(a, ActionDigest(a), o, now);
  }
  std::vector<Assignment> Schedule() { return backend.Schedule(now); }
  // Moves the clock; executors not in `silent` poll (are seen) meanwhile.
  void Advance(Duration d) {
    now += d;
    for (const auto& e : backend.Executors())
      if (!silent.count(e.id)) backend.Touch(e.id, now);
    backend.Tick(now);
  }
  std::vector<Outcome> Delivered() {
    std::vector<Outcome> out;
    for (auto& n : backend.TakeNotices()) {
      if (n.kind == Notice::Kind::kDelivered) out.push_back(n.outcome);
      else cancelled_leases.push_back(n.lease);
    }
    return out;
  }

  Time now = 1'000'000;
  MemoryResultCache cache;
  Backend backend;
  std::vector<LeaseId> cancelled_leases;
  std::set<std::string> silent;
};

}  // namespace mergeyard::exec::core::testing
