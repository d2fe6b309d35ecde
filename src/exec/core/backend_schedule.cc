// Backend: executors, placement, leases.
#include <algorithm>

#include "exec/core/backend.h"

namespace mergeyard::exec::core {
namespace {

constexpr double kEps = 1e-9;

// An action that asks for more cpu or memory than an executor has gets the
// whole executor rather than never running.
Resources Clamp(const Resources& need, const Resources& cap) {
  Resources r = need;
  r.cpu = std::min(need.cpu, cap.cpu);
  if (cap.memory_bytes > 0) r.memory_bytes = std::min(need.memory_bytes, cap.memory_bytes);
  return r;
}

bool LabelsMatch(const std::map<std::string, std::string>& labels,
                 const std::map<std::string, std::string>& platform) {
  for (const auto& [k, v] : platform) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

void Add(Resources& a, const Resources& b, int sign) {
  a.cpu += sign * b.cpu;
  a.memory_bytes += sign * b.memory_bytes;
  for (const auto& [k, v] : b.custom) a.custom[k] += sign * v;
}

}  // namespace

void Backend::UpsertExecutor(const ExecutorInfo& info, Time now) {
  auto [it, fresh] = executors_.try_emplace(info.id);
  it->second.info = info;
  it->second.last_seen = now;
  it->second.suspect = false;
  if (fresh) Arm(now + config_.executor_ttl, TimerKind::kExecutorStale, info.id);
}

bool Backend::Touch(const std::string& executor, Time now, bool heard) {
  auto it = executors_.find(executor);
  if (it == executors_.end()) return false;
  it->second.last_seen = now;
  if (heard) it->second.suspect = false;
  return true;
}

std::vector<ExecutorInfo> Backend::Executors() const {
  std::vector<ExecutorInfo> out;
  for (const auto& [id, e] : executors_) out.push_back(e.info);
  return out;
}

void Backend::RemoveExecutor(const std::string& id, Time now) {
  auto it = executors_.find(id);
  if (it == executors_.end()) return;
  std::set<LeaseId> leases = it->second.leases;
  for (const auto& l : leases) ExpireLease(l, now);
  executors_.erase(id);
}

bool Backend::FitsOn(const Executor& e, const Resources& want, bool* custom_only) const {
  Resources need = Clamp(want, e.info.capacity);
  const Resources& cap = e.info.capacity;
  bool cpu_ok = e.used.cpu + need.cpu <= cap.cpu + kEps;
  bool mem_ok = cap.memory_bytes <= 0 || e.used.memory_bytes + need.memory_bytes <= cap.memory_bytes;
  bool custom_ok = true;
  for (const auto& [k, v] : need.custom) {
    if (v <= 0) continue;
    auto c = cap.custom.find(k);
    auto u = e.used.custom.find(k);
    std::int64_t free = (c == cap.custom.end() ? 0 : c->second) - (u == e.used.custom.end() ? 0 : u->second);
    if (free < v) custom_ok = false;
  }
  *custom_only = cpu_ok && mem_ok && !custom_ok;
  return cpu_ok && mem_ok && custom_ok;
}

FairQueue::Fit Backend::Fit(const std::string& exec_id, std::string* chosen) {
  Execution* ex = Find(exec_id);
  if (!ex) return FairQueue::Fit::kDrop;
  Entry* entry = EntryOf(*ex);
  if (!entry) return FairQueue::Fit::kDrop;
  if (entry->waiters.empty()) return FairQueue::Fit::kSkip;  // stale: the grace timer decides
  if (!ex->hedge && !entry->skip_cache) {
    auto hit = cache_.Get(entry->digest);
    if (hit && hit->passed()) return FairQueue::Fit::kDrop;  // answered meanwhile: never run
  }
  std::string primary_executor;
  if (ex->hedge) {
    if (Execution* p = Find(ex->hedge_of)) primary_executor = p->executor;
  }
  const Action& a = entry->action;
  bool any_label = false, any_custom_only = false;
  const Executor* best = nullptr;
  int best_score = -1;
  double best_free = -1;
  for (const auto& [id, e] : executors_) {
    if (e.suspect) continue;
    if (!LabelsMatch(e.info.labels, a.platform)) continue;
    any_label = true;
    bool custom_only = false;
    if (!FitsOn(e, ex->reserved, &custom_only)) {
      any_custom_only = any_custom_only || custom_only;
      continue;
    }
    int score = 0;
    if (a.has_input && e.info.warm_repos.count(a.input.repo)) score += 2;
    if (ex->hedge && id != primary_executor) score += 4;  // race on other hardware
    if (ex->attempts > 0 && id != ex->executor) score += 1;  // its lease was lost there
    double free = e.info.capacity.cpu - e.used.cpu;
    if (score > best_score || (score == best_score && free > best_free)) {
      best = &e;
      best_score = score;
      best_free = free;
    }
  }
  if (best) {
    *chosen = best->info.id;
    return FairQueue::Fit::kFits;
  }
  if (!any_label || any_custom_only) return FairQueue::Fit::kSkip;
  return FairQueue::Fit::kBlocked;
}

std::vector<Assignment> Backend::Schedule(Time now) {
  std::vector<Assignment> out;
  if (executors_.empty()) return out;
  while (queue_.size() > 0) {
    std::string chosen;
    auto pick = queue_.PopNext([&](const std::string& id) { return Fit(id, &chosen); });
    for (const auto& id : pick.dropped) {
      Execution* ex = Find(id);
      if (!ex) continue;
      ex->state = ExecState::kCancelled;  // already out of the queue
      Entry* entry = EntryOf(*ex);
      ++stats_.dropped_stale;
      auto hit = entry ? cache_.Get(entry->digest) : std::nullopt;
      if (entry && hit) {
        ex->state = ExecState::kQueued;  // FinishEntry completes it as cached
        FinishEntry(*entry, id, &*hit, /*cached=*/true, "cached", now);
      } else {
        ex->finished_at = now;
        ex->end_reason = "dropped";
        Retire(id);
      }
    }
    if (!pick.taken) {
      if (pick.dropped.empty()) break;
      continue;
    }
    Execution* ex = Find(*pick.taken);
    if (!ex) continue;
    out.push_back(Start(*ex, chosen, now));
  }
  return out;
}

Assignment Backend::Start(Execution& ex, const std::string& executor_id, Time now) {
  Executor& e = executors_.at(executor_id);
  ex.holding = Clamp(ex.reserved, e.info.capacity);
  Add(e.used, ex.holding, +1);
  ex.lease = "L" + std::to_string(next_lease_++);
  leases_[ex.lease] = ex.id;
  e.leases.insert(ex.lease);
  ex.state = ExecState::kRunning;
  ex.executor = executor_id;
  ++ex.attempts;
  ex.started_at = now;
  ex.lease_renewed = now;
  ++stats_.started;
  Arm(now + config_.lease_duration + config_.lease_grace, TimerKind::kLease, ex.lease);
  Entry& entry = *EntryOf(ex);
  if (!ex.hedge && config_.max_hedges > 0)
    Arm(now + HedgeThreshold(entry), TimerKind::kHedge, ex.id);
  Assignment a;
  a.execution = ex.id;
  a.lease = ex.lease;
  a.executor = executor_id;
  a.digest = ex.digest;
  a.action = entry.action;
  a.reserved = ex.holding;
  a.learned_sizing = ex.learned_sizing;
  a.hedge = ex.hedge;
  a.attempt = ex.attempts;
  return a;
}

void Backend::Release(Execution& ex) {
  if (ex.lease.empty()) return;
  leases_.erase(ex.lease);
  auto it = executors_.find(ex.executor);
  if (it != executors_.end()) {
    Add(it->second.used, ex.holding, -1);
    it->second.leases.erase(ex.lease);
  }
  ex.lease.clear();
  ex.holding = Resources{0, 0, {}};
}

Status Backend::Renew(const LeaseId& lease, Time now) {
  auto it = leases_.find(lease);
  if (it == leases_.end()) return NotFound("lease " + lease + " is not held");
  Execution& ex = executions_.at(it->second);
  if (now > ex.lease_renewed + config_.lease_duration + config_.lease_grace) {
    ExpireLease(lease, now);
    return NotFound("lease " + lease + " expired");
  }
  ex.lease_renewed = now;
  Touch(ex.executor, now);
  return Ok();
}

Status Backend::Complete(const LeaseId& lease, ActionResult result, Time now) {
  auto it = leases_.find(lease);
  if (it == leases_.end()) return Conflict("lease " + lease + " is not held; result refused");
  Execution& ex = executions_.at(it->second);
  if (now > ex.lease_renewed + config_.lease_duration + config_.lease_grace) {
    ExpireLease(lease, now);
    return Conflict("lease " + lease + " expired; result refused");
  }
  Touch(ex.executor, now);
  Release(ex);
  result.execution_id = ex.id;
  if (result.executor.empty()) result.executor = ex.executor;
  Entry* entry = EntryOf(ex);
  if (!entry) {  // cannot happen: a running execution's entry is live
    ex.state = ExecState::kCancelled;
    return Internal("execution " + ex.id + " has no entry");
  }
  sizing_.Record(SizingKey(entry->action), result);
  if (!result.error.empty() && ex.attempts < config_.max_attempts) {
    Enqueue(ex, /*boost=*/true);  // infrastructure failure: try elsewhere
    return Ok();
  }
  FinishEntry(*entry, ex.id, &result, /*cached=*/false, "", now);
  return Ok();
}

void Backend::ExpireLease(const LeaseId& lease, Time now) {
  auto it = leases_.find(lease);
  if (it == leases_.end()) return;
  Execution& ex = executions_.at(it->second);
  ++stats_.lease_expired;
  if (auto e = executors_.find(ex.executor); e != executors_.end()) e->second.suspect = true;
  Notice n;
  n.kind = Notice::Kind::kCancelLease;
  n.executor = ex.executor;
  n.lease = lease;
  n.execution = ex.id;
  notices_.push_back(std::move(n));
  Release(ex);
  Entry* entry = EntryOf(ex);
  if (!entry) return;
  if (ex.attempts < config_.max_attempts) {
    Enqueue(ex, /*boost=*/true);
    return;
  }
  if (HasLiveExecution(*entry, ex.id)) {
    ex.state = ExecState::kCancelled;
    ex.finished_at = now;
    ex.end_reason = "lease expired " + std::to_string(ex.attempts) + " times";
    Retire(ex.id);
    return;
  }
  ActionResult failed;
  failed.exit_code = -1;
  failed.error = "lease expired " + std::to_string(ex.attempts) + " times";
  failed.execution_id = ex.id;
  failed.executor = ex.executor;
  ex.state = ExecState::kRunning;
  FinishEntry(*entry, ex.id, &failed, /*cached=*/false, failed.error, now);
}

}  // namespace mergeyard::exec::core
