#pragma once
// Which forge serves which repository. app/ adds one ForgeApi per configured
// forge; webhooks teach it where each repository lives (and, for GitHub Apps,
// its installation). Thread-safe.

#include <cstdint>
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
  // `installation_id` is the one known after the change (0: none).
  using LearnedObserver =
      std::function<void(const std::string& repo, ForgeKind kind, std::int64_t installation_id)>;

  void Add(std::shared_ptr<ForgeApi> api);
  // Called with every installation id seen in a webhook (GitHub App auth).
  void OnInstallation(InstallationObserver observer);
  // Called when Remember learns something new about a repository: its forge
  // (first seen, or another kind than known) or its installation id (first
  // seen, or another one). Not called when Remember repeats what is known.
  // Calls run outside the directory's lock, one at a time, in the order of
  // the changes; the observer may read the directory but must not call
  // Remember. One observer; a later call replaces it. What was remembered
  // before it was set is not replayed to it (app/ loads saved knowledge first).
  void OnLearned(LearnedObserver observer);

  // `installation_id` 0: none given; a known one is kept unless the
  // repository moved to another forge kind.
  void Remember(const std::string& repo, ForgeKind kind, std::int64_t installation_id = 0);

  // The forge of that kind (Forgejo falls back to Gitea's), or nullptr.
  ForgeApi* ForKind(ForgeKind kind) const;
  // The forge the repository was seen on; when unknown and only one forge is
  // configured, that one; else nullptr.
  ForgeApi* ForRepo(const std::string& repo) const;

 private:
  struct Known {
    ForgeKind kind;
    std::int64_t installation_id = 0;
  };

  // Held by Remember across a change and its LearnedObserver call, so that
  // calls are serialised and in order; never by readers.
  std::mutex learn_mu_;
  mutable std::mutex mu_;
  std::map<ForgeKind, std::shared_ptr<ForgeApi>> apis_;
  std::map<std::string, Known> repos_;
  InstallationObserver observer_;
  LearnedObserver learned_;
};

}  // namespace mergeyard::forge
