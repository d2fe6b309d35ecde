#include "exec/core/sizing.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mergeyard::exec::core {

void SizingModel::Record(const std::string& key, const ActionResult& r) {
  if (!r.error.empty()) return;
  auto& q = samples_[key];
  q.push_back({r.duration, r.passed(), r.peak_memory_bytes, r.cpu_cores});
  while (static_cast<int>(q.size()) > config_.window) q.pop_front();
}

std::optional<Duration> SizingModel::UsualDuration(const std::string& key) const {
  auto it = samples_.find(key);
  if (it == samples_.end()) return std::nullopt;
  std::vector<Duration> d;
  for (const auto& s : it->second)
    if (s.passed) d.push_back(s.duration);
  if (d.empty()) return std::nullopt;
  std::sort(d.begin(), d.end());
  return d[d.size() / 2];
}

Sized SizingModel::Size(const std::string& key, const Resources& declared) const {
  Sized out;
  out.resources = declared;
  auto it = samples_.find(key);
  if (it == samples_.end()) return out;
  int mem_n = 0, cpu_n = 0;
  std::int64_t max_mem = 0;
  double max_cpu = 0;
  for (const auto& s : it->second) {
    if (s.memory > 0) { ++mem_n; max_mem = std::max(max_mem, s.memory); }
    if (s.cpu > 0) { ++cpu_n; max_cpu = std::max(max_cpu, s.cpu); }
  }
  if (declared.memory_bytes > 0 && mem_n >= config_.min_samples) {
    auto want = static_cast<std::int64_t>(static_cast<double>(max_mem) * config_.headroom);
    want = std::max(want, config_.min_memory_bytes);
    if (want <= static_cast<std::int64_t>(declared.memory_bytes * config_.well_below)) {
      out.resources.memory_bytes = want;
      out.learned_memory = true;
    }
  }
  if (cpu_n >= config_.min_samples) {
    double want = std::max(config_.min_cpu, std::ceil(max_cpu * config_.headroom * 10 - 1e-6) / 10);
    if (want <= declared.cpu * config_.well_below) {
      out.resources.cpu = want;
      out.learned_cpu = true;
    }
  }
  return out;
}

}  // namespace mergeyard::exec::core
