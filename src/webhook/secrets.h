#pragma once
// Webhook secrets: a default (MERGEYARD_WEBHOOK_SECRET), one per forge, one per
// repository ("owner/name") and one per GitHub App installation. The most
// specific one that exists for a delivery is the only one accepted for it.
// Never logged.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "forge/event.h"

namespace mergeyard::webhook {

struct WebhookSecrets {
  std::string default_secret;
  std::map<std::string, std::string> per_forge;  // "github", "gitlab", "gitea", "forgejo"
  std::map<std::string, std::string> per_repo;
  std::map<std::int64_t, std::string> per_installation;

  // Reads MERGEYARD_WEBHOOK_SECRET and MERGEYARD_<FORGE>_WEBHOOK_SECRET into
  // the fields that are still empty.
  void FillFromEnvironment();

  // Every secret that could sign a delivery from `kind` (tried before the body is parsed).
  std::vector<std::string> Candidates(forge::ForgeKind kind) const;
  // The one secret allowed for a delivery about `repo`, once it is known ("" if none).
  std::string For(forge::ForgeKind kind, const forge::RepoRef& repo) const;
};

}  // namespace mergeyard::webhook
