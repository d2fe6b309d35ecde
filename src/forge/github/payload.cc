#include "forge/github/payload.h"

#include <set>

#include "forge/json_fields.h"

namespace mergeyard::forge::github {

namespace {

// Events a GitHub App or hook may be subscribed to that the bot does not act on.
const std::set<std::string>& QuietEvents() {
  static const std::set<std::string> kQuiet = {
      "ping", "installation", "installation_repositories", "installation_target",
      "pull_request_review", "pull_request_review_comment", "pull_request_review_thread", "create",
      "delete", "workflow_dispatch", "issues", "label", "repository", "member", "meta",
      "github_app_authorization", "merge_group", "deployment", "deployment_status", "release"};
  return kQuiet;
}

RepoRef Repo(const nlohmann::json& j) {
  return {GetString(j, "repository.full_name"), GetInt(j, "repository.id"),
          GetInt(j, "installation.id")};
}

Result<Event> Require(const RepoRef& repo, std::int64_t pr) {
  if (repo.full_name.empty()) return Invalid("missing repository.full_name");
  if (pr <= 0) return Invalid("missing pull request number");
  return Event{Ignored{""}};
}

Result<Event> IssueComment(const nlohmann::json& j) {
  const std::string action = GetString(j, "action");
  if (action != "created") return Event{Ignored{"comment " + action}};
  if (!Has(j, "issue.pull_request")) return Event{Ignored{"comment on an issue"}};
  CommentCreated c;
  c.repo = Repo(j);
  c.pr = GetInt(j, "issue.number");
  if (auto ok = Require(c.repo, c.pr); !ok) return ok;
  if (!Find(j, "comment.body")) return Invalid("missing comment.body");
  c.comment_id = GetInt(j, "comment.id");
  c.body = GetString(j, "comment.body");
  c.author = GetString(j, "comment.user.login");
  c.author_id = GetInt(j, "comment.user.id");
  c.author_is_bot = GetString(j, "comment.user.type") == "Bot";
  return Event{c};
}

Result<Event> PullRequest(const nlohmann::json& j) {
  const std::string action = GetString(j, "action");
  const RepoRef repo = Repo(j);
  std::int64_t pr = GetInt(j, "number", GetInt(j, "pull_request.number"));
  if (action == "synchronize") {
    if (auto ok = Require(repo, pr); !ok) return ok;
    PullRequestUpdated u{repo, pr, GetString(j, "pull_request.head.sha", GetString(j, "after")),
                         GetString(j, "pull_request.base.ref")};
    if (u.head_sha.empty()) return Invalid("missing pull_request.head.sha");
    return Event{u};
  }
  if (action == "closed") {
    if (auto ok = Require(repo, pr); !ok) return ok;
    return Event{PullRequestClosed{repo, pr, GetBool(j, "pull_request.merged"),
                                   GetString(j, "pull_request.merge_commit_sha"),
                                   GetString(j, "pull_request.base.ref")}};
  }
  return Event{Ignored{"pull request " + action}};
}

Result<Event> PushEvent(const nlohmann::json& j) {
  const std::string ref = GetString(j, "ref");
  constexpr std::string_view kHeads = "refs/heads/";
  if (ref.rfind(kHeads, 0) != 0) return Event{Ignored{"push to " + (ref.empty() ? "no ref" : ref)}};
  if (GetBool(j, "deleted")) return Event{Ignored{"branch deleted"}};
  Push p;
  p.repo = Repo(j);
  if (p.repo.full_name.empty()) return Invalid("missing repository.full_name");
  p.branch = ref.substr(kHeads.size());
  p.before = GetString(j, "before");
  p.after = GetString(j, "after");
  if (p.after.empty()) return Invalid("missing after");
  const nlohmann::json* commits = Find(j, "commits");
  // GitHub lists at most 20 commits: a longer push may touch the file unseen.
  p.config_changed = (commits && CommitsTouch(*commits, kConfigPath)) ||
                     (commits && commits->is_array() && commits->size() >= 20);
  return Event{p};
}

// --- CI verdicts ---------------------------------------------------------

Result<Event> Reported(const nlohmann::json& j, CiCheck check, const std::string& what) {
  CiReported r;
  r.repo = Repo(j);
  if (r.repo.full_name.empty()) return Invalid("missing repository.full_name");
  if (!IsCommitSha(check.sha)) return Event{Ignored{what + " without a commit sha"}};
  if (check.name.empty()) return Event{Ignored{what + " without a name"}};
  r.checks.push_back(std::move(check));
  return Event{r};
}

Result<Event> StatusEvent(const nlohmann::json& j) {
  return Reported(j, CommitStatusCheck(j, GetString(j, "sha")), "status");
}

Result<Event> CheckRun(const nlohmann::json& j) {
  const nlohmann::json* run = Find(j, "check_run");
  if (!run) return Invalid("missing check_run");
  return Reported(j, GithubRunCheck(*run, GetString(*run, "name")), "check run");
}

// A check suite names no check: the commit's check runs are worth reading.
Result<Event> CheckSuite(const nlohmann::json& j) {
  const std::string action = GetString(j, "action");
  if (action != "completed") return Event{Ignored{"check suite " + action}};
  CiReported r;
  r.repo = Repo(j);
  if (r.repo.full_name.empty()) return Invalid("missing repository.full_name");
  const std::string sha = GetString(j, "check_suite.head_sha");
  if (!IsCommitSha(sha)) return Event{Ignored{"check suite without a commit sha"}};
  r.poll_shas.push_back(sha);
  return Event{r};
}

// Named after the workflow (`name:` in the file); the file's path when it has none.
Result<Event> WorkflowRun(const nlohmann::json& j) {
  const nlohmann::json* run = Find(j, "workflow_run");
  if (!run) return Invalid("missing workflow_run");
  std::string name = GetString(*run, "name");
  if (name.empty()) name = GetString(j, "workflow.name");
  if (name.empty()) name = GetString(*run, "path", GetString(j, "workflow.path"));
  return Reported(j, GithubRunCheck(*run, name), "workflow run");
}

// A job is also a check run of the same name; both arrive, either suffices.
Result<Event> WorkflowJob(const nlohmann::json& j) {
  const nlohmann::json* job = Find(j, "workflow_job");
  if (!job) return Invalid("missing workflow_job");
  return Reported(j, GithubRunCheck(*job, GetString(*job, "name")), "workflow job");
}

}  // namespace

Result<Event> ParsePayload(const std::string& event, const nlohmann::json& body) {
  if (event == "issue_comment") return IssueComment(body);
  if (event == "pull_request") return PullRequest(body);
  if (event == "push") return PushEvent(body);
  if (event == "status") return StatusEvent(body);
  if (event == "check_run") return CheckRun(body);
  if (event == "check_suite") return CheckSuite(body);
  if (event == "workflow_run") return WorkflowRun(body);
  if (event == "workflow_job") return WorkflowJob(body);
  if (QuietEvents().count(event)) return Event{Ignored{"event " + event + " is not used"}};
  return NotFound("unknown GitHub event `" + event + "`");
}

}  // namespace mergeyard::forge::github
