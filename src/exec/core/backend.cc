// Backend: submissions, waiters, finishing entries. Scheduling and leases are
// in backend_schedule.cc, timers and views in backend_timers.cc.
#include "exec/core/backend.h"

#include <algorithm>
#include <set>
#include <utility>

namespace mergeyard::exec::core {

const char* SubmitStatusName(SubmitStatus s) {
  switch (s) {
    case SubmitStatus::kCached: return "cached";
    case SubmitStatus::kMerged: return "merged";
    case SubmitStatus::kQueued: return "queued";
  }
  return "queued";
}

const char* ExecStateName(ExecState s) {
  switch (s) {
    case ExecState::kQueued: return "queued";
    case ExecState::kRunning: return "running";
    case ExecState::kCompleted: return "completed";
    case ExecState::kCancelled: return "cancelled";
  }
  return "queued";
}

Backend::Backend(BackendConfig config, ResultCache& cache)
    : config_(config), cache_(cache), sizing_(config.sizing) {}

Backend::Execution* Backend::Find(const ExecutionId& id) {
  auto it = executions_.find(id);
  return it == executions_.end() ? nullptr : &it->second;
}

Backend::Entry* Backend::EntryOf(const Execution& ex) {
  auto it = entries_.find(ex.entry);
  return it == entries_.end() ? nullptr : &it->second;
}

Submitted Backend::Submit(const Action& action, const std::string& digest, SubmitOptions opts,
                          Time now) {
  ++stats_.submitted;
  Submitted out;
  out.digest = digest;
  if (!opts.skip_cache) {
    if (auto hit = cache_.Get(digest)) {
      ++stats_.cached;
      out.status = SubmitStatus::kCached;
      out.execution = hit->execution_id;
      out.cached = std::move(hit);
      return out;
    }
  }
  WaiterId w = next_waiter_++;
  out.waiter = w;
  if (!opts.no_merge) {
    auto it = inflight_.find(digest);
    if (it != inflight_.end()) {
      auto eit = entries_.find(it->second.entry);
      if (eit != entries_.end()) {
        Entry& entry = eit->second;
        entry.waiters.insert(w);
        ++entry.joined_count;
        entry.no_waiters_since = -1;
        waiters_[w] = Waiter{entry.id, true};
        ++stats_.merged;
        out.status = SubmitStatus::kMerged;
        out.execution = entry.primary;
        MaybeHedge(entry, now, /*on_merge=*/true);
        return out;
      }
      inflight_.erase(it);  // defensive: an entry never outlives its table row
    }
  }
  Entry fresh;
  fresh.id = next_entry_++;
  fresh.digest = digest;
  fresh.skip_cache = opts.skip_cache;
  fresh.action = action;
  if (fresh.action.group.empty())
    fresh.action.group = action.has_input && !action.input.repo.empty() ? action.input.repo : "default";
  fresh.mergeable = !opts.no_merge;
  fresh.waiters.insert(w);
  Entry& entry = entries_.emplace(fresh.id, std::move(fresh)).first->second;
  waiters_[w] = Waiter{entry.id, false};
  entry.primary = NewExecution(entry, /*hedge=*/false, now);
  if (entry.mergeable) inflight_[digest] = Inflight{entry.primary, entry.id};
  ++stats_.queued;
  out.status = SubmitStatus::kQueued;
  out.execution = entry.primary;
  return out;
}

ExecutionId Backend::NewExecution(Entry& entry, bool hedge, Time now) {
  Execution ex;
  ex.id = config_.id_prefix + std::to_string(next_exec_++);
  ex.entry = entry.id;
  ex.digest = entry.digest;
  ex.name = entry.action.name;
  ex.group = entry.action.group;
  ex.hedge = hedge;
  if (hedge) ex.hedge_of = entry.primary;
  ex.queued_at = now;
  ex.seq = next_seq_++;
  ex.priority = entry.action.priority;
  ex.declared = entry.action.resources;
  Sized sized = sizing_.Size(SizingKey(entry.action), entry.action.resources);
  ex.reserved = sized.resources;
  ex.learned_sizing = sized.learned();
  ExecutionId id = ex.id;
  Execution& stored = executions_.emplace(id, std::move(ex)).first->second;
  Enqueue(stored, /*boost=*/hedge);
  return id;
}

void Backend::Enqueue(Execution& ex, bool boost) {
  ex.state = ExecState::kQueued;
  queue_.Push(QueueItem{ex.id, ex.group, ex.priority, ex.queued_at, ex.seq, boost});
}

bool Backend::Leave(WaiterId waiter, Time now) {
  auto it = waiters_.find(waiter);
  if (it == waiters_.end()) return false;
  std::uint64_t entry_id = it->second.entry;
  waiters_.erase(it);
  auto eit = entries_.find(entry_id);
  if (eit == entries_.end()) return false;
  Entry& entry = eit->second;
  entry.waiters.erase(waiter);
  if (entry.waiters.empty()) {
    entry.no_waiters_since = now;
    Arm(now + config_.no_waiter_grace, TimerKind::kGrace, std::to_string(entry.id));
  }
  return true;
}

bool Backend::HasLiveExecution(const Entry& entry, const ExecutionId& except) {
  auto live = [&](const ExecutionId& id) {
    if (id == except) return false;
    Execution* ex = Find(id);
    return ex && (ex->state == ExecState::kQueued || ex->state == ExecState::kRunning);
  };
  if (live(entry.primary)) return true;
  for (const auto& h : entry.hedges)
    if (live(h)) return true;
  return false;
}

void Backend::CancelExecution(Execution& ex, const std::string& reason, Time now) {
  if (ex.state == ExecState::kQueued) queue_.Remove(ex.id);
  if (ex.state == ExecState::kRunning) {
    Notice n;
    n.kind = Notice::Kind::kCancelLease;
    n.executor = ex.executor;
    n.lease = ex.lease;
    n.execution = ex.id;
    notices_.push_back(std::move(n));
    Release(ex);
  }
  if (ex.state == ExecState::kQueued || ex.state == ExecState::kRunning) {
    ex.state = ExecState::kCancelled;
    ex.finished_at = now;
    ex.end_reason = reason;
    ++stats_.cancelled;
    Retire(ex.id);
  }
}

void Backend::FinishEntry(Entry& entry, const ExecutionId& winner, const ActionResult* result,
                          bool cached, const std::string& reason, Time now) {
  const int shared = static_cast<int>(entry.waiters.size());
  if (result && !cached && result->error.empty() &&
      entry.action.cacheable && (result->passed() || entry.action.cache_failures))
    cache_.Put(entry.digest, *result);
  for (WaiterId w : entry.waiters) {
    Notice n;
    n.kind = Notice::Kind::kDelivered;
    Outcome& o = n.outcome;
    o.waiter = w;
    o.execution = entry.primary;
    o.winner = winner;
    o.digest = entry.digest;
    o.cancelled = result == nullptr;
    if (result) o.result = *result;
    auto wit = waiters_.find(w);
    o.joined = wit != waiters_.end() && wit->second.joined;
    o.shared_by = shared;
    if (wit != waiters_.end()) waiters_.erase(wit);
    notices_.push_back(std::move(n));
  }
  std::vector<ExecutionId> all{entry.primary};
  all.insert(all.end(), entry.hedges.begin(), entry.hedges.end());
  for (const auto& id : all) {
    Execution* ex = Find(id);
    if (!ex) continue;
    ex->waiters_at_end = shared;
    ex->merged_at_end = entry.joined_count;
    ex->winner = winner;
    bool is_winner = id == winner;
    bool primary_answered = id == entry.primary && result != nullptr;
    if (is_winner || primary_answered) {
      if (ex->state == ExecState::kQueued || ex->state == ExecState::kRunning) {
        // The primary stands for the entry: it shows the winning result. Its
        // own work, if a hedge won, is stopped first.
        if (!is_winner) CancelExecution(*ex, "a hedge won", now);
        else {
          if (ex->state == ExecState::kQueued) queue_.Remove(ex->id);
          Release(*ex);
          Retire(ex->id);
        }
      }
      ex->state = ExecState::kCompleted;
      ex->result = *result;
      ex->cached = cached;
      ex->finished_at = now;
      if (is_winner) ++stats_.completed;
      continue;
    }
    CancelExecution(*ex, result ? "lost the race" : reason, now);
  }
  auto it = inflight_.find(entry.digest);
  if (it != inflight_.end() && it->second.primary == entry.primary) inflight_.erase(it);
  entries_.erase(entry.id);
}

std::vector<Notice> Backend::TakeNotices() {
  std::vector<Notice> out;
  out.swap(notices_);
  return out;
}

void Backend::Retire(const ExecutionId& id) {
  retired_.push_back(id);
  while (retired_.size() > config_.retained_executions) {
    const ExecutionId& old = retired_.front();
    Execution* ex = Find(old);
    if (ex && (ex->state == ExecState::kCompleted || ex->state == ExecState::kCancelled) &&
        entries_.find(ex->entry) == entries_.end())
      executions_.erase(old);
    retired_.pop_front();
  }
}

std::vector<ExecutionView> Backend::ListExecutions(std::size_t recent) const {
  std::vector<const Execution*> live;
  for (const auto& [id, ex] : executions_)
    if (ex.state == ExecState::kQueued || ex.state == ExecState::kRunning) live.push_back(&ex);
  std::sort(live.begin(), live.end(), [](const Execution* a, const Execution* b) {
    return a->queued_at != b->queued_at ? a->queued_at < b->queued_at : a->seq < b->seq;
  });
  std::vector<ExecutionView> out;
  for (const Execution* ex : live)
    if (auto v = View(ex->id)) out.push_back(std::move(*v));
  std::set<ExecutionId> seen;
  for (auto it = retired_.rbegin(); it != retired_.rend() && seen.size() < recent; ++it) {
    if (!seen.insert(*it).second) continue;
    auto v = View(*it);
    if (v && (v->state == ExecState::kCompleted || v->state == ExecState::kCancelled))
      out.push_back(std::move(*v));
  }
  return out;
}

std::vector<ExecutorView> Backend::ListExecutors() const {
  std::vector<ExecutorView> out;
  for (const auto& [id, e] : executors_) {
    ExecutorView v;
    v.info = e.info;
    v.used = e.used;
    v.last_seen = e.last_seen;
    for (const LeaseId& lease : e.leases) {
      auto it = leases_.find(lease);
      if (it != leases_.end()) v.running.push_back(it->second);
    }
    std::sort(v.running.begin(), v.running.end());
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace mergeyard::exec::core
