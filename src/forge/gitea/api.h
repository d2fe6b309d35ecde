#pragma once
// forge::ForgeApi over the Gitea / Forgejo REST API (/api/v1; gitea.com,
// codeberg.org or self-hosted). Comments, files, closing and labels are the
// GitHub-like calls; pull requests, permissions and commit statuses are
// Gitea's own.

#include "forge/github_like.h"

namespace mergeyard::forge::gitea {

// base_url such as "https://gitea.com/api/v1".
RestOptions DefaultRestOptions(const std::string& base_url);

class GiteaApi final : public GithubLikeApi {
 public:
  // `kind` is kGitea or kForgejo (the API is the same).
  explicit GiteaApi(RestClient& client, ForgeKind kind = ForgeKind::kGitea)
      : GithubLikeApi(client, "limit=50"), kind_(kind) {}

  ForgeKind kind() const override { return kind_; }
  Result<PullRequestInfo> GetPullRequest(const std::string& repo, std::int64_t pr) override;
  Result<Permission> GetPermission(const std::string& repo, const std::string& user,
                                   std::int64_t user_id) override;
  Status SetStatus(const std::string& repo, const CommitStatus& status) override;

 private:
  ForgeKind kind_;
};

}  // namespace mergeyard::forge::gitea
