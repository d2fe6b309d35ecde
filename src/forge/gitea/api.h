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
  // The sha's commit statuses, newest per context.
  Result<std::vector<CiCheck>> ListChecks(const std::string& repo, const std::string& sha) override;
  // Ok: Gitea has no API to cancel Actions runs.
  Status CancelChecks(const std::string& repo, const std::string& sha) override;
  // The status check contexts of the protection rule named after `branch`
  // (glob patterns left out: they name no single check); empty when there
  // is none or it requires no checks. Reading rules needs repository admin.
  Result<std::vector<std::string>> RequiredChecks(const std::string& repo, const std::string& branch) override;

 private:
  ForgeKind kind_;
};

}  // namespace mergeyard::forge::gitea
