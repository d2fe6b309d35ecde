#include "app/forge_remote_resolver.h"

namespace mergeyard::app {

Result<git::RemoteSpec> ForgeRemoteResolver::Resolve(const std::string& repo) const {
  forge::ForgeApi* api = forges_.ForRepo(repo);
  if (!api) return NotFound("no configured forge serves " + repo);
  auto access = clients_.GitAccessFor(repo, api->kind());
  if (!access.ok()) return access.error();
  git::RemoteSpec spec;
  spec.url = access->url;
  spec.token = access->token;
  spec.flavour = access->kind == forge::ForgeKind::kGitlab ? git::ForgeFlavour::kGitLab
                 : access->kind == forge::ForgeKind::kGithub ? git::ForgeFlavour::kGitHub
                                                             : git::ForgeFlavour::kGitea;
  return spec;
}

}  // namespace mergeyard::app
