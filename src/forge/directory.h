#pragma once
// Which forge serves which repository. app/ adds one ForgeApi per configured
// forge; webhooks teach it where each repository lives (and, for GitHub Apps,
// its installation). Thread-safe.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "forge/forge_api.h"

namespace mergeyard::forge {

class ForgeDirectory {
 public:
  using InstallationObserver = std::function<void(const std::string& repo, std::int64_t installation)>;

  void Add(std::shared_ptr<ForgeApi> api);
  // Called with every installation id seen in a webhook (GitHub App auth).
  void OnInstallation(InstallationObserver observer);

  void Remember(const std::string& repo, ForgeKind kind, std::int64_t installation_id = 0);

  // The forge of that kind (Forgejo falls back to Gitea's), or nullptr.
  ForgeApi* ForKind(ForgeKind kind) const;
  // The forge the repository was seen on; when unknown and only one forge is
  // configured, that one; else nullptr.
  ForgeApi* ForRepo(const std::string& repo) const;

 private:
  mutable std::mutex mu_;
  std::map<ForgeKind, std::shared_ptr<ForgeApi>> apis_;
  std::map<std::string, ForgeKind> repos_;
  InstallationObserver observer_;
};

}  // namespace mergeyard::forge
