#include "engine/engine.h"

#include <chrono>

#include "base/log.h"
#include "engine/transition_log.h"

namespace mergeyard::engine {

Engine::Engine(Ports ports) : ports_(ports) {}

void Engine::SetNewQueueConfig(std::function<queue::QueueConfig(const QueueKey&)> config) {
  new_queue_config_ = std::move(config);
}

void Engine::SetObserver(TransitionObserver observer) { observer_ = std::move(observer); }

void Engine::Post(const QueueKey& key, queue::Event event) {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    inbox_.emplace_back(key, std::move(event));
    ++posted_;
  }
  inbox_cv_.notify_one();
}

Status Engine::PostDurable(const QueueKey& key, queue::Event event) {
  std::unique_lock<std::mutex> lock(inbox_mu_);
  inbox_.emplace_back(key, std::move(event));
  const std::int64_t mine = ++posted_;
  inbox_cv_.notify_one();
  applied_cv_.wait_for(lock, std::chrono::milliseconds(durable_timeout_),
                       [&] { return applied_ >= mine || failed_ || interrupted_ || mine <= last_dropped_; });
  if (failed_) return Transient("the engine stopped: its store refused a transition");
  if (applied_ < mine || mine <= last_dropped_) return Transient("the queue did not confirm the event in time");
  return Ok();
}

bool Engine::WaitForEvent(Duration timeout) {
  std::unique_lock<std::mutex> lock(inbox_mu_);
  inbox_cv_.wait_for(lock, std::chrono::milliseconds(timeout),
                     [this] { return !inbox_.empty() || interrupted_; });
  return !inbox_.empty();
}

void Engine::Interrupt() {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    interrupted_ = true;
  }
  inbox_cv_.notify_all();
  applied_cv_.notify_all();
}

std::vector<std::pair<QueueKey, queue::Event>> Engine::TakeInbox() {
  std::lock_guard<std::mutex> lock(inbox_mu_);
  std::vector<std::pair<QueueKey, queue::Event>> out(std::make_move_iterator(inbox_.begin()),
                                                      std::make_move_iterator(inbox_.end()));
  inbox_.clear();
  taken_ += static_cast<std::int64_t>(out.size());
  last_dropped_ = taken_;  // whoever waits on one of these is told it is not durable
  applied_cv_.notify_all();
  return out;
}

Result<int> Engine::Drain() { return DrainSome(-1); }

Result<int> Engine::DrainSome(int max_events) {
  int ran = 0;
  while (max_events < 0 || ran < max_events) {
    std::pair<QueueKey, queue::Event> next;
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      if (inbox_.empty()) break;
      next = std::move(inbox_.front());
      inbox_.pop_front();
      ++taken_;
    }
    Status s = Apply(next.first, next.second);
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      if (s.ok()) applied_ = taken_;
      else failed_ = true;
    }
    applied_cv_.notify_all();
    if (!s.ok()) return s.error();
    ++ran;
  }
  return ran;
}

queue::State& Engine::StateFor(const QueueKey& key) {
  auto it = queues_.find(key);
  if (it != queues_.end()) return it->second;
  queue::State fresh;
  fresh.target_branch = key.branch;
  if (new_queue_config_) fresh.config = new_queue_config_(key);
  return queues_.emplace(key, std::move(fresh)).first->second;
}

Status Engine::Apply(const QueueKey& key, const queue::Event& event) {
  std::vector<queue::Effect> effects;
  std::int64_t transition = 0;
  if (ports_.log_transitions) LogEvent(key, event);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    queue::State& state = StateFor(key);
    queue::StepInPlace(state, event, ports_.clock->Now(), effects);
    ++transitions_;
    if (ports_.store) {
      auto committed = ports_.store->Commit(key, state, effects);
      if (!committed.ok()) {
        LOG_ERROR("could not commit a queue transition; stopping",
                  {{"queue", key.ToString()}, {"error", committed.error().ToString()}});
        return committed.error();
      }
      transition = *committed;
    }
    if (observer_) observer_(key, event, state, effects);
  }
  RunEffects(key, effects);
  if (ports_.store && transition != 0) {
    Status done = ports_.store->Completed(transition);
    if (!done.ok()) return done.error();
  }
  return Ok();
}

void Engine::RunEffects(const QueueKey& key, const std::vector<queue::Effect>& effects) {
  for (const queue::Effect& e : effects) RunEffect(key, e);
}

namespace {

// One overload per effect type and no catch-all: an effect type added to
// queue::Effect without a port to carry it out does not compile.
struct EffectRunner {
  const QueueKey& key;
  const Ports& ports;
  EventSink& sink;
  void operator()(const queue::BuildBatch& e) const { ports.git->Build(key, e, sink); }
  void operator()(const queue::StartRun& e) const { ports.run->Start(key, e, sink); }
  void operator()(const queue::CancelRun& e) const { ports.run->Cancel(key, e); }
  void operator()(const queue::Land& e) const { ports.git->Land(key, e, sink); }
  void operator()(const queue::Report& e) const { ports.forge->Report(key, e); }
  void operator()(const queue::ArmTimer& e) const { ports.timer->Arm(key, e.at, sink); }
  void operator()(const queue::BatchDone& e) const { ports.git->Drop(key, e); }
};

}  // namespace

void Engine::RunEffect(const QueueKey& key, const queue::Effect& effect) {
  if (ports_.log_transitions) LogEffect(key, effect);
  std::visit(EffectRunner{key, ports_, *this}, effect);
}

Status Engine::Recover() {
  if (!ports_.store) return Ok();
  auto loaded = ports_.store->LoadAll();
  if (!loaded.ok()) return loaded.error();
  for (StoredQueue& q : *loaded) {
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      queues_[q.key] = q.state;
    }
    // Reports, cancellations and ref drops of unfinished transitions, in order.
    for (const StoredQueue::Pending& p : q.pending) {
      for (const queue::Effect& e : p.effects) {
        if (!queue::IsInFlightKind(e)) RunEffect(q.key, e);
      }
      Status done = ports_.store->Completed(p.transition);
      if (!done.ok()) return done;
    }
    RunEffects(q.key, queue::InFlightEffects(q.state));
    LOG_INFO("recovered queue", {{"queue", q.key.ToString()},
                                  {"entries", std::to_string(q.state.entries.size())},
                                  {"batches", std::to_string(q.state.batches.size())}});
  }
  return Ok();
}

std::optional<queue::State> Engine::Snapshot(const QueueKey& key) const {
  std::lock_guard<std::mutex> lock(state_mu_);
  auto it = queues_.find(key);
  if (it == queues_.end()) return std::nullopt;
  return it->second;
}

std::string Engine::Tip(const QueueKey& key) const {
  std::lock_guard<std::mutex> lock(state_mu_);
  auto it = queues_.find(key);
  return it == queues_.end() ? std::string() : it->second.tip;
}

std::vector<QueueKey> Engine::Queues() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  std::vector<QueueKey> keys;
  for (const auto& [k, s] : queues_) keys.push_back(k);
  return keys;
}

std::int64_t Engine::transitions() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return transitions_;
}

}  // namespace mergeyard::engine
