#pragma once
// A port: external CI verdicts remembered by tree (DESIGN.md section 7). A
// batch commit whose tree already passed the same set of required checks in
// the same repository is not sent to CI again: the action cache's idea
// applied to CI that mergeyard does not run. Only passes are kept (a failure
// may be a flake worth running again). store/ implements it on SQLite; the
// memory one serves tests and the simulator.

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "base/result.h"

namespace mergeyard::engine {

struct CachedVerdict {
  std::string commit;                       // the commit whose checks passed
  std::map<std::string, std::string> links;  // check name -> its page, for people
};

class VerdictCache {
 public:
  virtual ~VerdictCache() = default;
  // `checks` is the set of required names, in any order (the key sorts them).
  // kNotFound when nothing passed for this tree and set.
  virtual Result<CachedVerdict> Find(const std::string& repo, const std::string& tree,
                                     const std::vector<std::string>& checks) = 0;
  virtual Status Put(const std::string& repo, const std::string& tree,
                     const std::vector<std::string>& checks, const CachedVerdict& verdict) = 0;
};

// The cache key's checks part: sorted names joined by newlines.
std::string VerdictChecksKey(std::vector<std::string> checks);

class MemoryVerdictCache final : public VerdictCache {
 public:
  Result<CachedVerdict> Find(const std::string& repo, const std::string& tree,
                             const std::vector<std::string>& checks) override;
  Status Put(const std::string& repo, const std::string& tree, const std::vector<std::string>& checks,
             const CachedVerdict& verdict) override;

 private:
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, CachedVerdict> verdicts_;
};

}  // namespace mergeyard::engine
