#pragma once
// forge::ForgeApi over the GitHub REST API (github.com or GitHub Enterprise,
// `X-GitHub-Api-Version: 2022-11-28`). With `check_runs` (only a GitHub App
// may create them) SetStatus creates and updates a check run per name and
// head instead of a commit status.

#include <map>
#include <mutex>

#include "forge/forge_api.h"
#include "forge/rest_client.h"

namespace mergeyard::forge::github {

struct ApiOptions {
  bool check_runs = false;
};

// The RestOptions a GitHub client needs (Accept and API version headers).
RestOptions DefaultRestOptions(const std::string& base_url);

class GithubApi final : public ForgeApi {
 public:
  GithubApi(RestClient& client, ApiOptions options) : client_(client), options_(options) {}

  ForgeKind kind() const override { return ForgeKind::kGithub; }
  Result<PullRequestInfo> GetPullRequest(const std::string& repo, std::int64_t pr) override;
  Result<Permission> GetPermission(const std::string& repo, const std::string& user,
                                   std::int64_t user_id) override;
  Result<FileContent> GetFile(const std::string& repo, const std::string& path,
                              const std::string& ref) override;
  Result<std::vector<Comment>> ListComments(const std::string& repo, std::int64_t pr) override;
  Result<std::int64_t> CreateComment(const std::string& repo, std::int64_t pr,
                                     const std::string& body) override;
  Status EditComment(const std::string& repo, std::int64_t pr, std::int64_t comment_id,
                     const std::string& body) override;
  Status SetStatus(const std::string& repo, const CommitStatus& status) override;
  Status ClosePullRequest(const std::string& repo, std::int64_t pr) override;
  Status AddLabel(const std::string& repo, std::int64_t pr, const std::string& label) override;

 private:
  Status SetCheckRun(const std::string& repo, const CommitStatus& status);

  RestClient& client_;
  ApiOptions options_;
  std::mutex mu_;
  std::map<std::string, std::int64_t> check_runs_;  // repo@sha#name -> id
};

}  // namespace mergeyard::forge::github
