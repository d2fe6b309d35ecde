#pragma once
// Forge-neutral webhook events. Each forge driver (github/, gitlab/, gitea/)
// turns its payloads into one of these; the webhook processor turns them into
// queue events. Everything the bot does not act on becomes Ignored with the
// reason, so a caller can log why.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "forge/ci_check.h"

namespace mergeyard::forge {

enum class ForgeKind { kGithub, kGitlab, kGitea, kForgejo };

// "github", "gitlab", "gitea", "forgejo".
const char* ForgeKindName(ForgeKind kind);
bool ParseForgeKind(const std::string& text, ForgeKind* out);

// The repository an event is about. `full_name` is "owner/name" (GitLab:
// path_with_namespace, which may hold subgroups).
struct RepoRef {
  std::string full_name;
  std::int64_t id = 0;
  std::int64_t installation_id = 0;  // GitHub App installation, 0 when absent
};

// A new comment on a pull request (edits, deletions and issue comments are Ignored).
struct CommentCreated {
  RepoRef repo;
  std::int64_t pr = 0;
  std::int64_t comment_id = 0;
  std::string body;
  std::string author;           // login / username
  std::int64_t author_id = 0;   // GitLab needs it for the permission lookup
  bool author_is_bot = false;
  std::string head_sha;         // when the payload carries it (re-read before acting)
  std::string base_branch;      // when the payload carries it
};

// New commits on a pull request.
struct PullRequestUpdated {
  RepoRef repo;
  std::int64_t pr = 0;
  std::string head_sha;
  std::string base_branch;
};

struct PullRequestClosed {
  RepoRef repo;
  std::int64_t pr = 0;
  bool merged = false;
  std::string merge_commit;
  std::string base_branch;
};

// A push to a branch (tag pushes and branch deletions are Ignored).
// `config_changed` is set when a commit of the push touched `.mergeyard.yml`.
struct Push {
  RepoRef repo;
  std::string branch;
  std::string before;
  std::string after;
  bool config_changed = false;
};

// CI verdicts on commits: GitHub `status`, `check_run`, `workflow_run`
// (and `check_suite`, which names no check: it carries `poll_shas` instead,
// commits whose check runs are worth reading now); GitLab `Pipeline Hook`
// (the pipeline as "pipeline" plus each of its builds) and `Job Hook`;
// Gitea/Forgejo `status`. Events on commits mergeyard is not waiting for
// are cheap to drop: the processor matches them by SHA.
struct CiReported {
  RepoRef repo;
  std::vector<CiCheck> checks;
  std::vector<std::string> poll_shas;
};

struct Ignored {
  std::string reason;
};

using Event = std::variant<Ignored, CommentCreated, PullRequestUpdated, PullRequestClosed, Push, CiReported>;

// "comment owner/name#3 by alice", for logs.
std::string Describe(const Event& event);

// The repository path of a configuration file.
inline constexpr const char* kConfigPath = ".mergeyard.yml";

}  // namespace mergeyard::forge
