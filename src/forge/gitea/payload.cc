#include "forge/gitea/payload.h"

#include <set>

#include "forge/json_fields.h"

namespace mergeyard::forge::gitea {

namespace {

const std::set<std::string>& QuietEvents() {
  static const std::set<std::string> kQuiet = {
      "create", "delete", "fork", "release", "repository", "wiki", "package",
      "issues", "issue_assign", "issue_label", "issue_milestone", "pull_request_assign",
      "pull_request_label", "pull_request_milestone", "pull_request_review_request",
      "pull_request_review_approved", "pull_request_review_rejected",
      "pull_request_review_comment", "pull_request_approved", "pull_request_rejected",
      "pull_request_review", "workflow_run", "workflow_job", "workflow_dispatch",
      "action_run_failure", "action_run_recover", "action_run_success", "ping"};
  return kQuiet;
}

RepoRef Repo(const nlohmann::json& j) {
  return {GetString(j, "repository.full_name"), GetInt(j, "repository.id"), 0};
}

Result<Event> Comment(const nlohmann::json& j) {
  const std::string action = GetString(j, "action");
  if (action != "created") return Event{Ignored{"comment " + action}};
  // Newer Gitea says is_pull; older ones only fill issue.pull_request.
  const bool is_pull = GetBool(j, "is_pull", false) || Has(j, "issue.pull_request");
  if (!is_pull) return Event{Ignored{"comment on an issue"}};
  CommentCreated c;
  c.repo = Repo(j);
  c.pr = GetInt(j, "issue.number");
  if (c.repo.full_name.empty()) return Invalid("missing repository.full_name");
  if (c.pr <= 0) return Invalid("missing issue.number");
  if (!Find(j, "comment.body")) return Invalid("missing comment.body");
  c.comment_id = GetInt(j, "comment.id");
  c.body = GetString(j, "comment.body");
  c.author = GetString(j, "comment.user.login", GetString(j, "sender.login"));
  c.author_id = GetInt(j, "comment.user.id", GetInt(j, "sender.id"));
  c.head_sha = GetString(j, "pull_request.head.sha");
  c.base_branch = GetString(j, "pull_request.base.ref");
  return Event{c};
}

Result<Event> PullRequest(const nlohmann::json& j) {
  const std::string action = GetString(j, "action");
  const RepoRef repo = Repo(j);
  const std::int64_t pr = GetInt(j, "number", GetInt(j, "pull_request.number"));
  if (action != "synchronized" && action != "closed") {
    return Event{Ignored{"pull request " + (action.empty() ? "event" : action)}};
  }
  if (repo.full_name.empty()) return Invalid("missing repository.full_name");
  if (pr <= 0) return Invalid("missing pull request number");
  const std::string base = GetString(j, "pull_request.base.ref");
  if (action == "synchronized") {
    PullRequestUpdated u{repo, pr, GetString(j, "pull_request.head.sha"), base};
    if (u.head_sha.empty()) return Invalid("missing pull_request.head.sha");
    return Event{u};
  }
  return Event{PullRequestClosed{repo, pr, GetBool(j, "pull_request.merged"),
                                 GetString(j, "pull_request.merge_commit_sha"), base}};
}

Result<Event> PushEvent(const nlohmann::json& j) {
  const std::string ref = GetString(j, "ref");
  constexpr std::string_view kHeads = "refs/heads/";
  if (ref.rfind(kHeads, 0) != 0) return Event{Ignored{"push to " + (ref.empty() ? "no ref" : ref)}};
  Push p;
  p.repo = Repo(j);
  if (p.repo.full_name.empty()) return Invalid("missing repository.full_name");
  p.branch = ref.substr(kHeads.size());
  p.before = GetString(j, "before");
  p.after = GetString(j, "after");
  if (p.after.empty()) return Invalid("missing after");
  if (p.after.find_first_not_of('0') == std::string::npos) return Event{Ignored{"branch deleted"}};
  const nlohmann::json* commits = Find(j, "commits");
  const std::int64_t total = GetInt(j, "total_commits", 0);
  p.config_changed = (commits && CommitsTouch(*commits, kConfigPath)) ||
                     (commits && commits->is_array() &&
                      total > static_cast<std::int64_t>(commits->size()));
  return Event{p};
}

// A commit status (Gitea Actions and external CI alike): the same body as
// GitHub's `status` event.
Result<Event> StatusEvent(const nlohmann::json& j) {
  CiReported r;
  r.repo = Repo(j);
  if (r.repo.full_name.empty()) return Invalid("missing repository.full_name");
  CiCheck check = CommitStatusCheck(j, GetString(j, "sha", GetString(j, "commit.id")));
  if (!IsCommitSha(check.sha)) return Event{Ignored{"status without a commit sha"}};
  if (check.name.empty()) return Event{Ignored{"status without a context"}};
  r.checks.push_back(std::move(check));
  return Event{r};
}

}  // namespace

Result<Event> ParsePayload(const std::string& event, const nlohmann::json& body) {
  if (event == "issue_comment" || event == "pull_request_comment") return Comment(body);
  if (event == "pull_request" || event == "pull_request_sync") return PullRequest(body);
  if (event == "push") return PushEvent(body);
  if (event == "status") return StatusEvent(body);
  if (QuietEvents().count(event)) return Event{Ignored{"event " + event + " is not used"}};
  return NotFound("unknown Gitea event `" + event + "`");
}

}  // namespace mergeyard::forge::gitea
