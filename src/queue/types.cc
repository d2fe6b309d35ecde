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

namespace {

bool Before(const Entry& a, const Entry& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  if (a.enqueued_at != b.enqueued_at) return a.enqueued_at < b.enqueued_at;
  return a.seq < b.seq;
}

}  // namespace

std::vector<PrNumber> WaitingInOrder(const State& s, size_t limit) {
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
  std::vector<PrNumber> out;
  out.reserve(waiting.size());
  for (const Entry* e : waiting) out.push_back(e->pr);
  return out;
}

int WaitingPosition(const State& s, PrNumber pr) {
  auto it = s.entries.find(pr);
  if (it == s.entries.end() || it->second.status != EntryStatus::kWaiting) return 0;
  int ahead = 0;
  for (const auto& [other, e] : s.entries)
    if (e.status == EntryStatus::kWaiting && Before(e, it->second)) ++ahead;
  return ahead + 1;
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
