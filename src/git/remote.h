#pragma once
// Where a repository lives: its remote URL, the credentials to reach it and
// its forge flavour (which names pull-request refs). The adapter takes a
// RemoteResolver so app/ decides how "owner/name" maps to a remote.

#include <map>
#include <string>

#include "base/result.h"
#include "queue/types.h"

namespace mergeyard::git {

enum class ForgeFlavour {
  kGitHub,  // refs/pull/N/head
  kGitea,   // refs/pull/N/head (Gitea and Forgejo)
  kGitLab,  // refs/merge-requests/N/head
};

bool ParseForgeFlavour(const std::string& text, ForgeFlavour* out);  // "github", "gitea", "forgejo", "gitlab"

// The ref a forge keeps a pull request's head under.
std::string PullHeadRef(ForgeFlavour flavour, queue::PrNumber pr);

struct RemoteSpec {
  // https://host/owner/name.git, file:///path, or a local path.
  std::string url;
  // HTTPS basic-auth user for the token; empty: the forge's usual one
  // ("x-access-token" on GitHub and Gitea, "oauth2" on GitLab).
  std::string username;
  std::string token;  // empty: no credentials (local remotes)
  ForgeFlavour flavour = ForgeFlavour::kGitHub;
};

class RemoteResolver {
 public:
  virtual ~RemoteResolver() = default;
  // NotFound when the repository is unknown. Thread-safe.
  virtual Result<RemoteSpec> Resolve(const std::string& repo) const = 0;
};

// A fixed table, with an optional URL template for repositories not in it:
// "{repo}" in the template is replaced by "owner/name".
class TableRemoteResolver final : public RemoteResolver {
 public:
  void Add(const std::string& repo, RemoteSpec spec) { table_[repo] = std::move(spec); }
  void SetDefault(RemoteSpec url_template) { default_ = std::move(url_template); has_default_ = true; }
  Result<RemoteSpec> Resolve(const std::string& repo) const override;

 private:
  std::map<std::string, RemoteSpec> table_;
  RemoteSpec default_;
  bool has_default_ = false;
};

}  // namespace mergeyard::git
