#pragma once
// The Engine: the one owner of every queue's state. For each event it runs
// the pure queue::Step, commits the new state and its effects to the store,
// and only then carries the effects out through the ports (leveldb's
// LogAndApply order). After a crash, Recover() reloads the states, replays the
// effects that were committed but not completed, and re-issues what was in
// flight (builds, runs, landings), which the ports treat idempotently.
//
// Threading: Post() may be called from any thread. Drain()/Recover() run on
// one thread at a time (the engine thread, or the simulator's loop).
// Snapshot()/Queues() may be called from any thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "engine/ports.h"
#include "queue/step.h"

namespace mergeyard::engine {

struct Ports {
  GitPort* git = nullptr;
  RunPort* run = nullptr;
  ForgePort* forge = nullptr;
  TimerPort* timer = nullptr;
  StateStore* store = nullptr;  // may be null (the simulator's fast mode): nothing persists
  const Clock* clock = nullptr;
  // One info line per event applied and effect run, with repo, branch, pr and
  // batch (transition_log.h). The service turns it on; the simulator, which
  // runs a virtual week in seconds, traces through its observer instead.
  bool log_transitions = false;
};

// Called after every transition, before its effects run. For invariant
// checks and tracing.
using TransitionObserver =
    std::function<void(const QueueKey&, const queue::Event&, const queue::State&,
                       const std::vector<queue::Effect>&)>;

class Engine final : public EventSink {
 public:
  explicit Engine(Ports ports);

  // Initial settings of a queue the engine has not seen before.
  void SetNewQueueConfig(std::function<queue::QueueConfig(const QueueKey&)> config);
  void SetObserver(TransitionObserver observer);

  // Loads every stored queue, replays its outbox and re-issues in-flight work.
  Status Recover();

  // EventSink. Thread-safe; never blocks on the engine's work.
  void Post(const QueueKey& key, queue::Event event) override;
  // Blocks until the event's transition is committed (by whichever thread
  // drains), at most durable_timeout. Errors: kTransient on timeout, on
  // Interrupt(), or when the store refused a transition.
  Status PostDurable(const QueueKey& key, queue::Event event) override;
  void set_durable_timeout(Duration timeout) { durable_timeout_ = timeout; }

  // Processes posted events (and those their effects post) until none is
  // left. Returns how many transitions ran, or the store's error — after which
  // the Engine must be discarded (its memory is ahead of the store).
  Result<int> Drain();

  // Processes at most `max_events` posted events; returns how many ran.
  Result<int> DrainSome(int max_events);

  // Blocks until an event is posted or `timeout` passes; true if one is there.
  bool WaitForEvent(Duration timeout);

  // Wakes WaitForEvent callers (shutdown).
  void Interrupt();

  // Removes and returns the events posted but not processed yet (shutdown:
  // the caller decides which of them are durable elsewhere).
  std::vector<std::pair<QueueKey, queue::Event>> TakeInbox();

  std::optional<queue::State> Snapshot(const QueueKey& key) const;
  // The target commit the queue builds on; "" when unknown.
  std::string Tip(const QueueKey& key) const;
  std::vector<QueueKey> Queues() const;
  std::int64_t transitions() const;

 private:
  Status Apply(const QueueKey& key, const queue::Event& event);
  void RunEffects(const QueueKey& key, const std::vector<queue::Effect>& effects);
  void RunEffect(const QueueKey& key, const queue::Effect& effect);
  queue::State& StateFor(const QueueKey& key);

  Ports ports_;
  std::function<queue::QueueConfig(const QueueKey&)> new_queue_config_;
  TransitionObserver observer_;

  mutable std::mutex inbox_mu_;
  std::condition_variable inbox_cv_;
  std::deque<std::pair<QueueKey, queue::Event>> inbox_;
  bool interrupted_ = false;
  // Inbox items are numbered in posting order. taken_: items removed from
  // the inbox; applied_: the last item whose transition committed;
  // last_dropped_: the last item TakeInbox removed unprocessed.
  std::int64_t posted_ = 0;
  std::int64_t taken_ = 0;
  std::int64_t applied_ = 0;
  std::int64_t last_dropped_ = 0;
  bool failed_ = false;
  std::condition_variable applied_cv_;
  Duration durable_timeout_ = 30 * kSecond;

  mutable std::mutex state_mu_;
  std::map<QueueKey, queue::State> queues_;
  std::int64_t transitions_ = 0;
};

}  // namespace mergeyard::engine
