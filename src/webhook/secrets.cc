#include "webhook/secrets.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace mergeyard::webhook {

namespace {
std::string Env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? std::string(v) : std::string();
}
}  // namespace

void WebhookSecrets::FillFromEnvironment() {
  if (default_secret.empty()) default_secret = Env("MERGEYARD_WEBHOOK_SECRET");
  for (const char* forge : {"github", "gitlab", "gitea", "forgejo"}) {
    std::string upper = forge;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const std::string v = Env("MERGEYARD_" + upper + "_WEBHOOK_SECRET");
    if (!v.empty() && !per_forge.count(forge)) per_forge[forge] = v;
  }
}

std::vector<std::string> WebhookSecrets::Candidates(forge::ForgeKind kind) const {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  for (const auto& [repo, s] : per_repo) add(s);
  if (kind == forge::ForgeKind::kGithub) {
    for (const auto& [id, s] : per_installation) add(s);
  }
  if (auto it = per_forge.find(forge::ForgeKindName(kind)); it != per_forge.end()) add(it->second);
  if (kind == forge::ForgeKind::kForgejo) {
    if (auto it = per_forge.find("gitea"); it != per_forge.end()) add(it->second);
  }
  add(default_secret);
  return out;
}

std::string WebhookSecrets::For(forge::ForgeKind kind, const forge::RepoRef& repo) const {
  if (auto it = per_repo.find(repo.full_name); it != per_repo.end()) return it->second;
  if (repo.installation_id != 0) {
    if (auto it = per_installation.find(repo.installation_id); it != per_installation.end()) {
      return it->second;
    }
  }
  if (auto it = per_forge.find(forge::ForgeKindName(kind)); it != per_forge.end()) return it->second;
  if (kind == forge::ForgeKind::kForgejo) {
    if (auto it = per_forge.find("gitea"); it != per_forge.end()) return it->second;
  }
  return default_secret;
}

}  // namespace mergeyard::webhook
