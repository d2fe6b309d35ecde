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
  if (!commit.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = by_tip_.find(queue); it != by_tip_.end() && it->second.first == commit) {
      if (it->second.second.parse.ok()) last_good_[queue] = it->second.second.parse.config;
      return it->second.second;
    }
  }
  auto file = api->GetFile(repo, kConfigPath, commit.empty() ? branch : commit);
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
  if (!commit.empty()) by_tip_[queue] = {commit, out};
  return out;
}

void ForgeConfigSource::SetTipOf(TipOf tip_of) {
  std::lock_guard<std::mutex> lock(mu_);
  tip_of_ = std::move(tip_of);
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
