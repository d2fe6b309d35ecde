#include "forge/config_source.h"

namespace mergeyard::forge {

Result<LoadedConfig> ForgeConfigSource::Load(const std::string& repo, const std::string& branch,
                                             const std::string& at) {
  ForgeApi* api = forges_.ForRepo(repo);
  if (!api) return NotFound("no forge is configured for " + repo);
  const std::string queue = repo + ":" + branch;
  TipOf tip_of;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tip_of = tip_of_;
  }
  const std::string commit = !at.empty() ? at : tip_of ? tip_of(repo, branch) : "";
  const Time now = clock_ ? clock_->Now() : 0;
  bool stale = false;
  if (!commit.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = by_tip_.find(queue); it != by_tip_.end() && it->second.commit == commit) {
      stale = at.empty() && clock_ && now - it->second.loaded_at > max_age_;
      if (!stale) {
        if (it->second.loaded.parse.ok()) last_good_[queue] = it->second.loaded.parse.config;
        return it->second.loaded;
      }
    }
  }
  auto file = api->GetFile(repo, kConfigPath, commit.empty() || stale ? branch : commit);
  LoadedConfig out;
  if (!file.ok()) {
    if (file.error().code != ErrorCode::kNotFound) return file.error();
  } else {
    out.present = true;
    out.blob_id = file->blob_id;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (out.present) {
    auto it = by_blob_.find(file->blob_id);
    if (it == by_blob_.end() || file->blob_id.empty()) {
      ++parses_;
      RepoConfigParse parse = ParseRepoConfig(file->content);
      if (file->blob_id.empty()) {
        out.parse = std::move(parse);
      } else {
        it = by_blob_.emplace(file->blob_id, std::move(parse)).first;
      }
    }
    if (it != by_blob_.end()) out.parse = it->second;
    if (out.parse.ok()) last_good_[queue] = out.parse.config;
  }
  if (!commit.empty()) by_tip_[queue] = {commit, now, out};
  return out;
}

void ForgeConfigSource::SetTipOf(TipOf tip_of, const Clock* clock, Duration max_age) {
  std::lock_guard<std::mutex> lock(mu_);
  tip_of_ = std::move(tip_of);
  clock_ = clock;
  max_age_ = max_age;
}

std::optional<engine::RepoConfig> ForgeConfigSource::LastGood(const std::string& repo,
                                                              const std::string& branch) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = last_good_.find(repo + ":" + branch);
  if (it == last_good_.end()) return std::nullopt;
  return it->second;
}

int ForgeConfigSource::parses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return parses_;
}

}  // namespace mergeyard::forge
