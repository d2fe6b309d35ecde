#pragma once
// forge::ForgeApi over the GitLab REST API (/api/v4; gitlab.com or
// self-managed). Projects are addressed by their URL-encoded path; the
// "pull request" is the merge request iid. Statuses are pipeline statuses.

#include "forge/forge_api.h"
#include "forge/rest_client.h"

namespace mergeyard::forge::gitlab {

// base_url such as "https://gitlab.com/api/v4".
RestOptions DefaultRestOptions(const std::string& base_url);

class GitlabApi final : public ForgeApi {
 public:
  explicit GitlabApi(RestClient& client) : client_(client) {}

  ForgeKind kind() const override { return ForgeKind::kGitlab; }
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
  // The newest pipeline of the sha as "pipeline", then its jobs' and other
  // commit statuses (newest per name, retried jobs included).
  Result<std::vector<CiCheck>> ListChecks(const std::string& repo, const std::string& sha) override;
  // Cancels every pipeline of the sha that has not finished.
  Status CancelChecks(const std::string& repo, const std::string& sha) override;
  // Always empty: GitLab has no per-branch list of required checks.
  Result<std::vector<std::string>> RequiredChecks(const std::string& repo, const std::string& branch) override;

 private:
  RestClient& client_;
};

}  // namespace mergeyard::forge::gitlab
