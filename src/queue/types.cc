#include "queue/types.h"

#include <algorithm>
#include <sstream>

namespace mergeyard::queue {

const char* BatchStateName(BatchState s) {
  switch (s) {
    case BatchState::kQueued: return "queued";
    case BatchState::kWaitingBase: return "waiting_base";
    case BatchState::kBuilding: return "building";
    case BatchState::kTesting: return "testing";
    case BatchState::kPassed: return "passed";
    case BatchState::kFailed: return "failed";
    case BatchState::kLanding: return "landing";
  }
  return "?";
}

const char* BatchKindName(BatchKind k) { return k == BatchKind::kMain ? "main" : "bisect"; }

const char* FailureKindName(FailureKind k) {
  switch (k) {
    case FailureKind::kStep: return "step";
    case FailureKind::kCheck: return "check";
    case FailureKind::kCheckTimeout: return "check_timeout";
  }
  return "?";
}

const char* ReportReasonName(ReportReason r) {
  switch (r) {
    case ReportReason::kNone: return "none";
    case ReportReason::kAccepted: return "accepted";
    case ReportReason::kAlreadyQueued: return "already_queued";
    case ReportReason::kBatchStarted: return "batch_started";
    case ReportReason::kTargetMoved: return "target_moved";
    case ReportReason::kBatchAheadFailed: return "batch_ahead_failed";
    case ReportReason::kBatchAheadChanged: return "batch_ahead_changed";
    case ReportReason::kConflictsAhead: return "conflicts_ahead";
    case ReportReason::kBuildFailed: return "build_failed";
    case ReportReason::kPassedAlone: return "passed_alone";
    case ReportReason::kLandRejected: return "land_rejected";
    case ReportReason::kLanded: return "landed";
    case ReportReason::kFailed: return "failed";
    case ReportReason::kConflict: return "conflict";
    case ReportReason::kCancelledBy: return "cancelled_by";
    case ReportReason::kCancelledByAdmin: return "cancelled_by_admin";
    case ReportReason::kClosed: return "closed";
    case ReportReason::kNewHead: return "new_head";
    case ReportReason::kReplaced: return "replaced";
  }
  return "?";
}

namespace {

bool Before(const Entry& a, const Entry& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  if (a.enqueued_at != b.enqueued_at) return a.enqueued_at < b.enqueued_at;
  return a.seq < b.seq;
}

}  // namespace

std::vector<PrNumber> WaitingInOrder(const State& s, size_t limit) {
  std::vector<PrNumber> out;
  if (s.index.built) {
    out.reserve(std::min(limit, s.index.waiting.order.size()));
    for (const auto& key : s.index.waiting.order) {
      if (out.size() >= limit) break;
      out.push_back(std::get<3>(key));
    }
    return out;
  }
  std::vector<const Entry*> waiting;
  for (const auto& [pr, e] : s.entries) {
    if (e.status == EntryStatus::kWaiting) waiting.push_back(&e);
  }
  auto by_order = [](const Entry* a, const Entry* b) { return Before(*a, *b); };
  if (limit < waiting.size()) {
    std::partial_sort(waiting.begin(), waiting.begin() + limit, waiting.end(), by_order);
    waiting.resize(limit);
  } else {
    std::sort(waiting.begin(), waiting.end(), by_order);
  }
  out.reserve(waiting.size());
  for (const Entry* e : waiting) out.push_back(e->pr);
  return out;
}

int WaitingPosition(const State& s, PrNumber pr) {
  auto it = s.entries.find(pr);
  if (it == s.entries.end() || it->second.status != EntryStatus::kWaiting) return 0;
  const Entry& e = it->second;
  if (s.index.built) {
    const auto& w = s.index.waiting.order;
    auto at = w.find(std::make_tuple(-e.priority, e.enqueued_at, e.seq, e.pr));
    if (at == w.end()) return 0;
    // Walk towards both ends at once; whichever is reached first gives the rank.
    auto back = at, fwd = at;
    int steps = 0;
    while (true) {
      if (back == w.begin()) return steps + 1;
      if (++fwd == w.end()) return static_cast<int>(w.size()) - steps;
      --back;
      ++steps;
    }
  }
  int ahead = 0;
  for (const auto& [other, o] : s.entries)
    if (o.status == EntryStatus::kWaiting && Before(o, e)) ++ahead;
  return ahead + 1;
}

void WaitingSet::Insert(const Entry& e) {
  order.emplace(-e.priority, e.enqueued_at, e.seq, e.pr);
  by_time.emplace(e.enqueued_at, e.seq, e.pr);
}

void WaitingSet::Erase(const Entry& e) {
  order.erase(std::make_tuple(-e.priority, e.enqueued_at, e.seq, e.pr));
  by_time.erase(std::make_tuple(e.enqueued_at, e.seq, e.pr));
}

namespace {

StateIndexes IndexesOf(const State& s) {
  StateIndexes index;
  for (const auto& [pr, e] : s.entries) {
    if (e.status != EntryStatus::kWaiting) continue;
    index.waiting.Insert(e);
    (e.pretested ? index.pretested : index.untested).Insert(e);
  }
  for (const auto& [id, b] : s.batches) {
    if (b.kind == BatchKind::kBisect) index.bisect[static_cast<size_t>(b.state)].insert(id);
  }
  index.built = true;
  return index;
}

}  // namespace

void RebuildIndexes(State& s) { s.index = IndexesOf(s); }

std::string CheckIndexes(const State& s) {
  if (!s.index.built) return "the indexes are not built";
  const StateIndexes fresh = IndexesOf(s);
  if (!(fresh.waiting == s.index.waiting)) return "the waiting index disagrees with the entries";
  if (!(fresh.untested == s.index.untested) || !(fresh.pretested == s.index.pretested))
    return "the pretested/untested index disagrees with the entries";
  for (size_t i = 0; i < kBatchStates; ++i) {
    if (fresh.bisect[i] != s.index.bisect[i])
      return std::string("the index of bisection nodes ") +
             BatchStateName(static_cast<BatchState>(i)) + " disagrees with the batches";
  }
  return "";
}

std::vector<PrNumber> PrsLandingWith(const State& s, BatchId batch) {
  const Batch& b = s.batches.at(batch);
  if (b.kind == BatchKind::kBisect) return b.prs;
  std::vector<PrNumber> out;
  for (BatchId id : s.main) {
    const auto& prs = s.batches.at(id).prs;
    out.insert(out.end(), prs.begin(), prs.end());
    if (id == batch) break;
  }
  return out;
}

namespace {
std::string Join(const std::vector<PrNumber>& prs) {
  std::string out;
  for (size_t i = 0; i < prs.size(); ++i) out += (i ? "," : "") + std::to_string(prs[i]);
  return out;
}
}  // namespace

std::string ToString(const State& s) {
  std::ostringstream o;
  o << "tip=" << (s.tip.empty() ? "?" : s.tip) << (s.paused ? " paused" : "")
    << " landing=" << s.landing << "\n";
  o << "  waiting: [" << Join(WaitingInOrder(s)) << "]\n";
  o << "  main:";
  for (BatchId id : s.main) {
    const Batch& b = s.batches.at(id);
    o << " #" << id << "{" << Join(b.prs) << "}:" << BatchStateName(b.state);
  }
  o << "\n  bisect:";
  for (const auto& [id, b] : s.batches) {
    if (b.kind != BatchKind::kBisect) continue;
    o << " #" << id << "{" << Join(b.prs) << "}:" << BatchStateName(b.state) << "<" << b.bisect_root;
  }
  o << "\n";
  return o.str();
}

}  // namespace mergeyard::queue
