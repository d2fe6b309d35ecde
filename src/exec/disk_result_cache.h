#pragma once
// The action cache on disk: an append-only file of JSON lines
// {"digest": "...", "result": {...}} replayed into memory on Open (the last
// line for a digest wins). Called by the core under the service lock, so it
// needs no lock of its own. Lines are buffered; the service flushes them
// every tick.

#include <fstream>
#include <string>
#include <unordered_map>

#include "base/result.h"
#include "exec/core/result_cache.h"

namespace mergeyard::exec {

class DiskResultCache final : public core::ResultCache {
 public:
  explicit DiskResultCache(std::string path) : path_(std::move(path)) {}
  Status Open();
  std::optional<core::ActionResult> Get(const std::string& digest) override;
  void Put(const std::string& digest, const core::ActionResult& result) override;
  std::size_t size() const { return map_.size(); }
  // Writes buffered lines to disk. Losing unflushed lines in a crash only
  // loses cache hits, never correctness.
  void Flush();

 private:
  std::string path_;
  std::ofstream out_;
  std::unordered_map<std::string, core::ActionResult> map_;
};

}  // namespace mergeyard::exec
