#include "engine/verdict_cache.h"

#include <algorithm>

namespace mergeyard::engine {

std::string VerdictChecksKey(std::vector<std::string> checks) {
  std::sort(checks.begin(), checks.end());
  checks.erase(std::unique(checks.begin(), checks.end()), checks.end());
  std::string key;
  for (const auto& c : checks) key += (key.empty() ? "" : "\n") + c;
  return key;
}

Result<CachedVerdict> MemoryVerdictCache::Find(const std::string& repo, const std::string& tree,
                                               const std::vector<std::string>& checks) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = verdicts_.find({repo, tree, VerdictChecksKey(checks)});
  if (it == verdicts_.end()) return NotFound("no verdict for this tree");
  return it->second;
}

Status MemoryVerdictCache::Put(const std::string& repo, const std::string& tree,
                               const std::vector<std::string>& checks, const CachedVerdict& verdict) {
  std::lock_guard<std::mutex> lock(mu_);
  verdicts_[{repo, tree, VerdictChecksKey(checks)}] = verdict;
  return Ok();
}

}  // namespace mergeyard::engine
