#include "forge/config_source.h"

namespace mergeyard::forge {

Result<LoadedConfig> ForgeConfigSource::Load(const std::string& repo, const std::string& branch) {
  ForgeApi* api = forges_.ForRepo(repo);
  if (!api) return NotFound("no forge is configured for " + repo);
  auto file = api->GetFile(repo, kConfigPath, branch);
  if (!file.ok()) {
    if (file.error().code == ErrorCode::kNotFound) return LoadedConfig{};
    return file.error();
  }
  LoadedConfig out;
  out.present = true;
  out.blob_id = file->blob_id;
  std::lock_guard<std::mutex> lock(mu_);
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
  if (out.parse.ok()) last_good_[repo + ":" + branch] = out.parse.config;
  return out;
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
