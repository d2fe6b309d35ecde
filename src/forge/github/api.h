#pragma once
// forge::ForgeApi over the GitHub REST API (github.com or GitHub Enterprise,
// `X-GitHub-Api-Version: 2022-11-28`). With `check_runs` (only a GitHub App
// may create them) SetStatus creates and updates a check run per name and
// head instead of a commit status.

#include <map>
#include <mutex>

#include "forge/github_like.h"

namespace mergeyard::forge::github {

struct ApiOptions {
  bool check_runs = false;
};

// The RestOptions a GitHub client needs (Accept and API version headers).
RestOptions DefaultRestOptions(const std::string& base_url);

class GithubApi final : public GithubLikeApi {
 public:
  GithubApi(RestClient& client, ApiOptions options) : GithubLikeApi(client, "per_page=100"), options_(options) {}

  ForgeKind kind() const override { return ForgeKind::kGithub; }
  Result<PullRequestInfo> GetPullRequest(const std::string& repo, std::int64_t pr) override;
  Result<Permission> GetPermission(const std::string& repo, const std::string& user,
                                   std::int64_t user_id) override;
  Status SetStatus(const std::string& repo, const CommitStatus& status) override;
  // The combined status's contexts, then the check runs (newest per name).
  Result<std::vector<CiCheck>> ListChecks(const std::string& repo, const std::string& sha) override;
  // Cancels the sha's GitHub Actions workflow runs that have not completed.
  Status CancelChecks(const std::string& repo, const std::string& sha) override;
  // The branch protection's required status checks (contexts and checks);
  // needs the App's "Administration: read" permission.
  Result<std::vector<std::string>> RequiredChecks(const std::string& repo, const std::string& branch) override;

 private:
  Status SetCheckRun(const std::string& repo, const CommitStatus& status);

  ApiOptions options_;
  std::mutex mu_;
  std::map<std::string, std::int64_t> check_runs_;  // repo@sha#name -> id
};

}  // namespace mergeyard::forge::github
