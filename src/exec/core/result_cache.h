#pragma once
// The action cache as the core sees it: results by action digest. The core
// decides what enters it (passing results; failures only when the action says
// cache_failures). exec/ provides a disk-backed implementation; MemoryResultCache
// serves tests and the simulator. Implementations need not be thread-safe: the
// core calls them from one thread (the shell holds its lock).

#include <optional>
#include <string>
#include <unordered_map>

#include "exec/core/action.h"

namespace mergeyard::exec::core {

class ResultCache {
 public:
  virtual ~ResultCache() = default;
  virtual std::optional<ActionResult> Get(const std::string& digest) = 0;
  virtual void Put(const std::string& digest, const ActionResult& result) = 0;
};

class MemoryResultCache final : public ResultCache {
 public:
  std::optional<ActionResult> Get(const std::string& digest) override {
    auto it = map_.find(digest);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  void Put(const std::string& digest, const ActionResult& result) override {
    map_[digest] = result;
  }
  std::size_t size() const { return map_.size(); }

 private:
  std::unordered_map<std::string, ActionResult> map_;
};

}  // namespace mergeyard::exec::core
