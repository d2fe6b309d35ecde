#include "forge/gitlab/payload.h"

#include <set>

#include "forge/json_fields.h"

namespace mergeyard::forge::gitlab {

namespace {

const std::set<std::string>& QuietEvents() {
  static const std::set<std::string> kQuiet = {
      "Tag Push Hook", "Issue Hook", "Confidential Issue Hook", "Wiki Page Hook", "Deployment Hook",
      "Release Hook", "Member Hook", "Subgroup Hook",
      "Feature Flag Hook", "Emoji Hook", "Resource Access Token Hook", "Project Hook",
      "Milestone Hook", "Vulnerability Hook", "System Hook"};
  return kQuiet;
}

RepoRef Repo(const nlohmann::json& j) {
  return {GetString(j, "project.path_with_namespace"), GetInt(j, "project.id", GetInt(j, "project_id")), 0};
}

Result<Event> Note(const nlohmann::json& j) {
  const std::string type = GetString(j, "object_attributes.noteable_type");
  if (type != "MergeRequest") {
    return Event{Ignored{"comment on " + (type.empty() ? std::string("something else") : type)}};
  }
  // Older GitLab versions send no action: every note hook was a creation.
  const std::string action = GetString(j, "object_attributes.action", "create");
  if (action != "create") return Event{Ignored{"comment " + action}};
  CommentCreated c;
  c.repo = Repo(j);
  c.pr = GetInt(j, "merge_request.iid");
  if (c.repo.full_name.empty()) return Invalid("missing project.path_with_namespace");
  if (c.pr <= 0) return Invalid("missing merge_request.iid");
  if (!Find(j, "object_attributes.note")) return Invalid("missing object_attributes.note");
  c.comment_id = GetInt(j, "object_attributes.id");
  c.body = GetString(j, "object_attributes.note");
  c.author = GetString(j, "user.username");
  c.author_id = GetInt(j, "user.id", GetInt(j, "object_attributes.author_id"));
  c.author_is_bot = GetBool(j, "user.bot");
  c.head_sha = GetString(j, "merge_request.last_commit.id");
  c.base_branch = GetString(j, "merge_request.target_branch");
  return Event{c};
}

Result<Event> MergeRequest(const nlohmann::json& j) {
  const std::string action = GetString(j, "object_attributes.action");
  const RepoRef repo = Repo(j);
  const std::int64_t iid = GetInt(j, "object_attributes.iid");
  const std::string base = GetString(j, "object_attributes.target_branch");
  const bool relevant = action == "close" || action == "merge" ||
                        (action == "update" && Has(j, "object_attributes.oldrev"));
  if (!relevant) return Event{Ignored{"merge request " + (action.empty() ? "event" : action)}};
  if (repo.full_name.empty()) return Invalid("missing project.path_with_namespace");
  if (iid <= 0) return Invalid("missing object_attributes.iid");
  if (action == "update") {
    PullRequestUpdated u{repo, iid, GetString(j, "object_attributes.last_commit.id"), base};
    if (u.head_sha.empty()) return Invalid("missing object_attributes.last_commit.id");
    return Event{u};
  }
  return Event{PullRequestClosed{repo, iid, action == "merge",
                                 GetString(j, "object_attributes.merge_commit_sha"), base}};
}

Result<Event> PushEvent(const nlohmann::json& j) {
  const std::string ref = GetString(j, "ref");
  constexpr std::string_view kHeads = "refs/heads/";
  if (ref.rfind(kHeads, 0) != 0) return Event{Ignored{"push to " + (ref.empty() ? "no ref" : ref)}};
  Push p;
  p.repo = Repo(j);
  if (p.repo.full_name.empty()) return Invalid("missing project.path_with_namespace");
  p.branch = ref.substr(kHeads.size());
  p.before = GetString(j, "before");
  p.after = GetString(j, "after");
  if (p.after.empty()) return Invalid("missing after");
  if (p.after.find_first_not_of('0') == std::string::npos) return Event{Ignored{"branch deleted"}};
  const nlohmann::json* commits = Find(j, "commits");
  // GitLab lists at most 20 commits; total_commits_count says how many there were.
  const std::int64_t total = GetInt(j, "total_commits_count");
  p.config_changed = (commits && CommitsTouch(*commits, kConfigPath)) ||
                     (commits && commits->is_array() &&
                      total > static_cast<std::int64_t>(commits->size()));
  return Event{p};
}

// --- CI verdicts ---------------------------------------------------------

// The pipeline as "pipeline", then its newest build of each name.
Result<Event> Pipeline(const nlohmann::json& j) {
  CiReported r;
  r.repo = Repo(j);
  if (r.repo.full_name.empty()) return Invalid("missing project.path_with_namespace");
  const std::string sha = GetString(j, "object_attributes.sha");
  if (!IsCommitSha(sha)) return Event{Ignored{"pipeline without a commit sha"}};
  const std::string web = GetString(j, "project.web_url");
  const std::string id = std::to_string(GetInt(j, "object_attributes.id"));
  r.checks.push_back(GitlabCheck(sha, kGitlabPipelineCheck, GetString(j, "object_attributes.status"),
                                 GetString(j, "object_attributes.url", web + "/-/pipelines/" + id)));
  auto build_check = [&](const nlohmann::json& b) {
    return GitlabCheck(sha, GetString(b, "name"), GetString(b, "status"),
                       web + "/-/jobs/" + std::to_string(GetInt(b, "id")));
  };
  // A retried job is listed once per try.
  if (const nlohmann::json* builds = Find(j, "builds")) {
    for (auto& c : NewestPerName(*builds, build_check)) r.checks.push_back(std::move(c));
  }
  return Event{r};
}

// Job events name no project path: the repository's homepage does.
std::string JobProject(const nlohmann::json& j) {
  std::string path = GetString(j, "project.path_with_namespace");
  if (!path.empty()) return path;
  const std::string home = GetString(j, "repository.homepage");
  const size_t scheme = home.find("://");
  const size_t slash = home.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "" : home.substr(slash + 1);
}

Result<Event> Job(const nlohmann::json& j) {
  CiReported r;
  r.repo = Repo(j);
  r.repo.full_name = JobProject(j);
  if (r.repo.full_name.empty()) return Invalid("missing project.path_with_namespace and repository.homepage");
  const std::string sha = GetString(j, "sha");
  if (!IsCommitSha(sha)) return Event{Ignored{"job without a commit sha"}};
  const std::string name = GetString(j, "build_name");
  if (name.empty()) return Event{Ignored{"job without a name"}};
  const std::string web = GetString(j, "repository.homepage", GetString(j, "project.web_url"));
  r.checks.push_back(GitlabCheck(sha, name, GetString(j, "build_status"),
                                 web + "/-/jobs/" + std::to_string(GetInt(j, "build_id"))));
  return Event{r};
}

}  // namespace

Result<Event> ParsePayload(const std::string& event, const nlohmann::json& body) {
  if (event == "Note Hook" || event == "Confidential Note Hook") return Note(body);
  if (event == "Merge Request Hook") return MergeRequest(body);
  if (event == "Push Hook") return PushEvent(body);
  if (event == "Pipeline Hook") return Pipeline(body);
  if (event == "Job Hook" || event == "Build Hook") return Job(body);
  if (QuietEvents().count(event)) return Event{Ignored{"event " + event + " is not used"}};
  return NotFound("unknown GitLab event `" + event + "`");
}

}  // namespace mergeyard::forge::gitlab
