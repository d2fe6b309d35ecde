#include "exec/disk_result_cache.h"

#include <filesystem>

#include "base/log.h"
#include "exec/action_json.h"

namespace mergeyard::exec {

Status DiskResultCache::Open() {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  std::ifstream in(path_);
  std::string line;
  int bad = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      map_[j.at("digest").get<std::string>()] = ResultFromJson(j.at("result"));
    } catch (const std::exception&) {
      ++bad;  // a torn last line after a crash
    }
  }
  if (bad) LOG_WARN("action cache: skipped unreadable lines", {{"count", std::to_string(bad)}});
  out_.open(path_, std::ios::app);
  if (!out_) return Internal("cannot open action cache " + path_);
  return Ok();
}

std::optional<core::ActionResult> DiskResultCache::Get(const std::string& digest) {
  auto it = map_.find(digest);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

void DiskResultCache::Put(const std::string& digest, const core::ActionResult& result) {
  map_[digest] = result;
  if (out_) {
    out_ << nlohmann::json{{"digest", digest}, {"result", ResultToJson(result)}}.dump() << "\n";
  }
}

void DiskResultCache::Flush() {
  if (out_) out_.flush();
}

}  // namespace mergeyard::exec
