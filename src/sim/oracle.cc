#include "sim/oracle.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>

namespace mergeyard::sim {
namespace {

double DrawDuration(const CiModel& ci, std::mt19937_64& rng) {
  if (ci.sigma <= 0) return ci.duration_s;
  std::normal_distribution<double> z(0, 1);
  double s = std::min(ci.duration_s * std::exp(ci.sigma * z(rng)), 4 * ci.duration_s);
  if (ci.hang_rate > 0 && std::bernoulli_distribution(ci.hang_rate)(rng)) s = 3 * ci.duration_s;
  return std::max(1.0, s);
}

}  // namespace

SimResult SimulateOracle(const Scenario& sc) {
  const queue::QueueConfig& c = sc.config;
  std::mt19937_64 rng(sc.seed);
  std::deque<size_t> waiting;             // indexes of good pull requests, in order
  std::vector<double> running_ends;       // end times of batches testing
  double last_land = 0;                   // batches land in order
  SimResult r;
  // In arrival order: bad ones, and those failing with a partner kept ahead.
  std::vector<bool> dropped(sc.prs.size(), false);
  auto partners = FailPartners(sc);
  for (size_t i = 0; i < sc.prs.size(); ++i) {
    dropped[i] = sc.prs[i].bad;
    for (size_t j : partners[i]) dropped[i] = dropped[i] || (j < i && !dropped[j]);
  }
  size_t next = 0;
  double now = 0;
  double max_wait = static_cast<double>(c.max_wait) / 1000.0;
  while (next < sc.prs.size() || !waiting.empty()) {
    // Free the slots of batches that finished by `now`.
    running_ends.erase(std::remove_if(running_ends.begin(), running_ends.end(),
                                      [&](double end) { return end <= now; }),
                       running_ends.end());
    while (next < sc.prs.size() && sc.prs[next].arrive_s <= now) {
      const ScenarioPr& p = sc.prs[next];
      if (dropped[next]) {
        PrResult kicked{"kicked", p.arrive_s, p.arrive_s, p.bad};
        kicked.partner_merged = !p.bad;
        r.prs[p.id] = kicked;
      } else {
        waiting.push_back(next);
      }
      ++next;
    }
    while (static_cast<int>(running_ends.size()) < c.concurrency && !waiting.empty()) {
      double oldest = sc.prs[waiting.front()].arrive_s;
      size_t size = static_cast<size_t>(c.target_batch_size);
      if (waiting.size() < size && now - oldest < max_wait) break;
      size = std::min(size, waiting.size());
      double end = now + DrawDuration(sc.ci, rng);
      last_land = std::max(last_land, end);
      for (size_t i = 0; i < size; ++i) {
        const ScenarioPr& p = sc.prs[waiting.front()];
        r.prs[p.id] = PrResult{"merged", p.arrive_s, last_land, false};
        waiting.pop_front();
      }
      running_ends.push_back(end);
      ++r.ci_runs;
      r.metrics.ci_hours += (end - now) / 3600;
    }
    // Advance to the next instant anything can change.
    double t = 1e300;
    if (next < sc.prs.size()) t = std::min(t, sc.prs[next].arrive_s);
    for (double end : running_ends) t = std::min(t, end);
    bool slot_free = static_cast<int>(running_ends.size()) < c.concurrency;
    if (slot_free && !waiting.empty()) {
      double deadline = sc.prs[waiting.front()].arrive_s + max_wait;
      if (deadline > now) t = std::min(t, deadline);
    }
    if (t == 1e300) break;
    now = t;
  }
  double ci_hours = r.metrics.ci_hours;
  ComputeMetrics(r, ci_hours * 3600);
  return r;
}

}  // namespace mergeyard::sim
