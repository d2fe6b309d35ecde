#pragma once
// git::RemoteResolver for repositories on the configured forges: the forge a
// repository was seen on (webhooks teach the ForgeDirectory), its clone URL
// and a current token (GitHub App installation tokens rotate, so it is asked
// on every call).

#include "forge/directory.h"
#include "forge/setup.h"
#include "git/remote.h"

namespace mergeyard::app {

class ForgeRemoteResolver final : public git::RemoteResolver {
 public:
  // Both must outlive the resolver.
  ForgeRemoteResolver(forge::ForgeDirectory& forges, forge::ForgeClients& clients)
      : forges_(forges), clients_(clients) {}

  // NotFound when no configured forge serves `repo`.
  Result<git::RemoteSpec> Resolve(const std::string& repo) const override;

 private:
  forge::ForgeDirectory& forges_;
  forge::ForgeClients& clients_;
};

}  // namespace mergeyard::app
