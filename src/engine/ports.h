#pragma once
// The ports through which the Engine reaches the world. Each has a real
// adapter (git/, exec/, forge/, store/) and a fake (sim/, tests/fakes/), and
// the Engine cannot tell them apart. Adapters answer effects by posting events
// to the EventSink they are given, from any thread, at any later time.

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "queue/effect.h"
#include "queue/event.h"
#include "queue/types.h"

namespace mergeyard::engine {

// One queue: a repository ("owner/name") and its target branch.
struct QueueKey {
  std::string repo;
  std::string branch;
  auto operator<=>(const QueueKey&) const = default;
  std::string ToString() const { return repo + ":" + branch; }
};

// Where answers go. Post is thread-safe and never blocks for long.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Post(const QueueKey& key, queue::Event event) = 0;
  // Posts, and where the sink can, waits until the transition the event
  // causes is committed, so the caller may forget the event (e.g. mark the
  // webhook delivery that carried it as handled). Errors: kTransient when
  // that could not be confirmed (the caller keeps the event and retries;
  // events are idempotent for the queue). The default only posts.
  virtual Status PostDurable(const QueueKey& key, queue::Event event) {
    Post(key, std::move(event));
    return Ok();
  }
};

// Builds batch commits and moves the target branch.
class GitPort {
 public:
  virtual ~GitPort() = default;
  // Answers BatchBuilt or BuildFailed for build.batch. May be redone for the
  // same batch id after a crash.
  virtual void Build(const QueueKey& key, const queue::BuildBatch& build, EventSink& sink) = 0;
  // Answers LandResult. Compare-and-swap: lands only if the target is still at
  // land.expected_tip; answers landed when the target is already at land.commit.
  virtual void Land(const QueueKey& key, const queue::Land& land, EventSink& sink) = 0;
  // The batch is over: drop its temporary ref. No answer.
  virtual void Drop(const QueueKey& key, const queue::BatchDone& done) = 0;
};

// Runs a repository's pipeline on a batch commit (through the execution backend).
class RunPort {
 public:
  virtual ~RunPort() = default;
  // Answers RunFinished for run.batch unless cancelled. Starting a batch id
  // that is already running re-attaches to it; one that already finished
  // answers its result again (after a crash the engine asks anew).
  virtual void Start(const QueueKey& key, const queue::StartRun& run, EventSink& sink) = 0;
  // The run's result is no longer wanted. No answer.
  virtual void Cancel(const QueueKey& key, const queue::CancelRun& cancel) = 0;
};

// Tells people: comments, statuses. Failures are the adapter's to retry; they
// never reach the queue.
class ForgePort {
 public:
  virtual ~ForgePort() = default;
  virtual void Report(const QueueKey& key, const queue::Report& report) = 0;
};

// Fires TimerFired for the key at `at` or later. Arming replaces the key's timer.
class TimerPort {
 public:
  virtual ~TimerPort() = default;
  virtual void Arm(const QueueKey& key, Time at, EventSink& sink) = 0;
};

// A queue as stored: its state and the effects of transitions whose effects
// have not all been carried out yet (the outbox).
struct StoredQueue {
  QueueKey key;
  queue::State state;
  struct Pending {
    std::int64_t transition = 0;
    std::vector<queue::Effect> effects;
  };
  std::vector<Pending> pending;
};

// Durable queue state. Commit is atomic: after it returns ok, a crash at any
// instant leaves either the old state or the new state with its effects.
class StateStore {
 public:
  virtual ~StateStore() = default;
  // Stores `state` for `key` and `effects` in the outbox; returns the
  // transition id that names them.
  virtual Result<std::int64_t> Commit(const QueueKey& key, const queue::State& state,
                                      const std::vector<queue::Effect>& effects) = 0;
  // The effects of `transition` have been carried out.
  virtual Status Completed(std::int64_t transition) = 0;
  virtual Result<std::vector<StoredQueue>> LoadAll() = 0;
};

}  // namespace mergeyard::engine
