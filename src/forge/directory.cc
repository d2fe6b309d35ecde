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

void ForgeDirectory::OnLearned(LearnedObserver observer) {
  std::lock_guard<std::mutex> lock(mu_);
  learned_ = std::move(observer);
}

void ForgeDirectory::Remember(const std::string& repo, ForgeKind kind, std::int64_t installation_id) {
  std::lock_guard<std::mutex> learning(learn_mu_);
  InstallationObserver observer;
  LearnedObserver learned;
  Known now{kind, installation_id};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, added] = repos_.try_emplace(repo, now);
    bool changed = added;
    if (!added) {
      Known& known = it->second;
      if (known.kind != kind) {
        known = now;  // another forge: an installation id of the old one means nothing there
        changed = true;
      } else if (installation_id > 0 && installation_id != known.installation_id) {
        known.installation_id = installation_id;
        changed = true;
      }
      now = known;
    }
    observer = observer_;
    if (changed) learned = learned_;
  }
  if (installation_id > 0 && observer) observer(repo, installation_id);
  if (learned) learned(repo, now.kind, now.installation_id);
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
    kind = it->second.kind;
  }
  return ForKind(kind);
}

}  // namespace mergeyard::forge
