#include "forge/directory.h"

namespace mergeyard::forge {

void ForgeDirectory::Add(std::shared_ptr<ForgeApi> api) {
  std::lock_guard<std::mutex> lock(mu_);
  apis_[api->kind()] = std::move(api);
}

void ForgeDirectory::OnInstallation(InstallationObserver observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(observer);
}

void ForgeDirectory::Remember(const std::string& repo, ForgeKind kind, std::int64_t installation_id) {
  InstallationObserver observer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    repos_[repo] = kind;
    observer = observer_;
  }
  if (installation_id > 0 && observer) observer(repo, installation_id);
}

ForgeApi* ForgeDirectory::ForKind(ForgeKind kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = apis_.find(kind); it != apis_.end()) return it->second.get();
  if (kind == ForgeKind::kForgejo) {
    if (auto it = apis_.find(ForgeKind::kGitea); it != apis_.end()) return it->second.get();
  }
  if (kind == ForgeKind::kGitea) {
    if (auto it = apis_.find(ForgeKind::kForgejo); it != apis_.end()) return it->second.get();
  }
  return nullptr;
}

ForgeApi* ForgeDirectory::ForRepo(const std::string& repo) const {
  ForgeKind kind;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = repos_.find(repo);
    if (it == repos_.end()) return apis_.size() == 1 ? apis_.begin()->second.get() : nullptr;
    kind = it->second;
  }
  return ForKind(kind);
}

}  // namespace mergeyard::forge
