#include "git/remote.h"

namespace mergeyard::git {

bool ParseForgeFlavour(const std::string& text, ForgeFlavour* out) {
  if (text == "github") *out = ForgeFlavour::kGitHub;
  else if (text == "gitea" || text == "forgejo") *out = ForgeFlavour::kGitea;
  else if (text == "gitlab") *out = ForgeFlavour::kGitLab;
  else return false;
  return true;
}

std::string PullHeadRef(ForgeFlavour flavour, queue::PrNumber pr) {
  if (flavour == ForgeFlavour::kGitLab) return "refs/merge-requests/" + std::to_string(pr) + "/head";
  return "refs/pull/" + std::to_string(pr) + "/head";
}

Result<RemoteSpec> TableRemoteResolver::Resolve(const std::string& repo) const {
  if (auto it = table_.find(repo); it != table_.end()) return it->second;
  if (!has_default_) return NotFound("no remote configured for " + repo);
  RemoteSpec spec = default_;
  if (auto at = spec.url.find("{repo}"); at != std::string::npos) spec.url.replace(at, 6, repo);
  return spec;
}

}  // namespace mergeyard::git
