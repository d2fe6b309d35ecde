#pragma once
// The forge operations mergeyard needs, the same for GitHub, GitLab and
// Gitea/Forgejo (each driver implements them over its REST API). `repo` is
// "owner/name" (GitLab: the project path). Every call is synchronous and
// already retried by the RestClient; errors are kTransient (try later),
// kNotFound, kForbidden/kUnauthorized, kConflict or kInvalid.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "forge/event.h"

namespace mergeyard::forge {

struct PullRequestInfo {
  std::int64_t number = 0;
  bool open = false;
  bool merged = false;
  bool draft = false;
  std::string head_sha;
  std::string base_branch;
  std::string author;
  std::optional<bool> mergeable;  // the forge's own opinion, when it has one
  std::vector<std::string> labels;
};

enum class Permission { kNone, kRead, kWrite };

struct FileContent {
  std::string content;  // decoded bytes
  std::string blob_id;  // git blob id
};

struct Comment {
  std::int64_t id = 0;
  std::string body;
  std::string author;
};

enum class StatusState { kPending, kRunning, kSuccess, kFailure, kError };

struct CommitStatus {
  std::string sha;
  StatusState state = StatusState::kPending;
  std::string context = "mergeyard";  // GitHub check run name / GitLab status name
  std::string description;            // one line
  std::string target_url;
  std::string summary;                // check runs: the longer markdown summary
};

class ForgeApi {
 public:
  virtual ~ForgeApi() = default;
  virtual ForgeKind kind() const = 0;

  virtual Result<PullRequestInfo> GetPullRequest(const std::string& repo, std::int64_t pr) = 0;
  // `user_id` is used where the forge looks members up by id (GitLab).
  virtual Result<Permission> GetPermission(const std::string& repo, const std::string& user,
                                           std::int64_t user_id) = 0;
  // kNotFound when the file does not exist at `ref`.
  virtual Result<FileContent> GetFile(const std::string& repo, const std::string& path,
                                      const std::string& ref) = 0;
  // Every comment, all pages, oldest first.
  virtual Result<std::vector<Comment>> ListComments(const std::string& repo, std::int64_t pr) = 0;
  virtual Result<std::int64_t> CreateComment(const std::string& repo, std::int64_t pr,
                                             const std::string& body) = 0;
  virtual Status EditComment(const std::string& repo, std::int64_t pr, std::int64_t comment_id,
                             const std::string& body) = 0;
  // Commit status (GitLab: pipeline status; GitHub App: a check run instead).
  virtual Status SetStatus(const std::string& repo, const CommitStatus& status) = 0;
  virtual Status ClosePullRequest(const std::string& repo, std::int64_t pr) = 0;
  virtual Status AddLabel(const std::string& repo, std::int64_t pr, const std::string& label) = 0;

  // --- external CI (DESIGN.md section 7) ---------------------------------
  // Every CI verdict the forge holds for `sha`: GitHub its combined status
  // and its check runs (2 requests), GitLab its pipelines (as "pipeline",
  // the newest one) and its jobs' commit statuses (2 requests), Gitea its
  // statuses (1 request). Other commits' checks are never returned.
  virtual Result<std::vector<CiCheck>> ListChecks(const std::string& repo, const std::string& sha) = 0;
  // Cancels the CI still running on `sha` where the forge allows it (GitHub
  // Actions workflow runs, GitLab pipelines); Ok when there was nothing to
  // cancel or the forge cannot (Gitea). Idempotent.
  virtual Status CancelChecks(const std::string& repo, const std::string& sha) = 0;
  // The check names `branch`'s protection rule requires (GitHub); empty when
  // the branch is not protected or the forge has no such rule.
  virtual Result<std::vector<std::string>> RequiredChecks(const std::string& repo,
                                                          const std::string& branch) = 0;
};

}  // namespace mergeyard::forge
