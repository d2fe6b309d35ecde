// Backend: timers (grace, leases, hedges, executor staleness) and views.
#include <algorithm>

#include "exec/core/backend.h"

namespace mergeyard::exec::core {

void Backend::Arm(Time at, TimerKind kind, const std::string& id) {
  timers_.emplace(at, Timer{kind, id});
}

std::optional<Time> Backend::NextDeadline() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first;
}

void Backend::Tick(Time now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    Timer t = timers_.begin()->second;
    timers_.erase(timers_.begin());
    FireTimer(t, now);
  }
}

void Backend::FireTimer(const Timer& t, Time now) {
  switch (t.kind) {
    case TimerKind::kGrace: {
      auto it = entries_.find(std::stoull(t.id));
      if (it == entries_.end()) return;
      Entry& entry = it->second;
      if (!entry.waiters.empty() || entry.no_waiters_since < 0) return;
      if (now < entry.no_waiters_since + config_.no_waiter_grace) return;  // a later leave re-armed
      FinishEntry(entry, "", nullptr, false, "no waiters", now);
      return;
    }
    case TimerKind::kLease: {
      auto it = leases_.find(t.id);
      if (it == leases_.end()) return;
      Execution& ex = executions_.at(it->second);
      Time deadline = ex.lease_renewed + config_.lease_duration + config_.lease_grace;
      if (now < deadline) {
        Arm(deadline, TimerKind::kLease, t.id);
        return;
      }
      ExpireLease(t.id, now);
      return;
    }
    case TimerKind::kHedge: {
      Execution* ex = Find(t.id);
      if (!ex || ex->state != ExecState::kRunning) return;
      Entry* entry = EntryOf(*ex);
      if (entry && entry->primary == ex->id) MaybeHedge(*entry, now, /*on_merge=*/false);
      return;
    }
    case TimerKind::kExecutorStale: {
      auto it = executors_.find(t.id);
      if (it == executors_.end()) return;
      Time deadline = it->second.last_seen + config_.executor_ttl;
      if (now < deadline) {
        Arm(deadline, TimerKind::kExecutorStale, t.id);
        return;
      }
      RemoveExecutor(t.id, now);
      return;
    }
  }
}

Duration Backend::HedgeThreshold(const Entry& entry) const {
  auto usual = sizing_.UsualDuration(SizingKey(entry.action));
  Duration t = usual ? static_cast<Duration>(static_cast<double>(*usual) * config_.hedge_multiplier)
                     : config_.hedge_default_after;
  return std::max(t, config_.hedge_min_after);
}

void Backend::MaybeHedge(Entry& entry, Time now, bool on_merge) {
  if (config_.max_hedges <= 0) return;
  Execution* p = Find(entry.primary);
  if (!p || p->state != ExecState::kRunning) return;
  int n = static_cast<int>(entry.hedges.size());
  if (n >= config_.max_hedges) return;
  if (n > 0) {
    Time allowed = entry.last_hedge_at + (config_.hedge_backoff << (n - 1));
    if (now < allowed) {
      if (!on_merge) Arm(allowed, TimerKind::kHedge, p->id);
      return;
    }
  }
  bool slow = now - p->started_at >= HedgeThreshold(entry);
  bool crowded = config_.hedge_waiters > 0 &&
                 static_cast<int>(entry.waiters.size()) > config_.hedge_waiters;
  if (!slow && !crowded) return;
  ExecutionId h = NewExecution(entry, /*hedge=*/true, now);
  entry.hedges.push_back(h);
  p->hedges.push_back(h);
  entry.last_hedge_at = now;
  ++stats_.hedges;
  if (n + 1 < config_.max_hedges) Arm(now + (config_.hedge_backoff << n), TimerKind::kHedge, p->id);
}

int Backend::WaitersOf(const ExecutionId& id) const {
  auto it = executions_.find(id);
  if (it == executions_.end()) return 0;
  auto eit = entries_.find(it->second.entry);
  if (eit != entries_.end()) return static_cast<int>(eit->second.waiters.size());
  return it->second.waiters_at_end;
}

std::optional<ExecutionView> Backend::View(const ExecutionId& id) const {
  auto it = executions_.find(id);
  if (it == executions_.end()) return std::nullopt;
  const Execution& ex = it->second;
  ExecutionView v;
  v.id = ex.id;
  v.digest = ex.digest;
  v.name = ex.name;
  v.group = ex.group;
  v.state = ex.state;
  v.waiters = WaitersOf(id);
  auto eit = entries_.find(ex.entry);
  v.merged_submissions = eit != entries_.end() ? eit->second.joined_count : ex.merged_at_end;
  v.hedge = ex.hedge;
  v.hedge_of = ex.hedge_of;
  v.hedges = ex.hedges;
  v.executor = ex.executor;
  v.attempts = ex.attempts;
  v.queued_at = ex.queued_at;
  v.started_at = ex.started_at;
  v.finished_at = ex.finished_at;
  v.result = ex.result;
  v.cached = ex.cached;
  v.winner = ex.winner;
  v.end_reason = ex.end_reason;
  v.declared = ex.declared;
  v.reserved = ex.reserved;
  v.learned_sizing = ex.learned_sizing;
  return v;
}

Backend::Stats Backend::stats() const {
  Stats s = stats_;
  s.queue_length = queue_.size();
  s.running = leases_.size();
  s.live_entries = entries_.size();
  s.groups = queue_.groups();
  return s;
}

}  // namespace mergeyard::exec::core
