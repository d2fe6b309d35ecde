#include "forge/gitlab/api.h"

#include <optional>

#include "forge/base64.h"
#include "forge/json_fields.h"

namespace mergeyard::forge::gitlab {

namespace {

std::string Project(const std::string& repo) { return "/projects/" + UrlEncode(repo); }
std::string Mr(const std::string& repo, std::int64_t pr) {
  return Project(repo) + "/merge_requests/" + std::to_string(pr);
}

constexpr int kDeveloper = 30;
constexpr int kGuest = 10;

std::string Pipelines(const std::string& repo, const std::string& sha) {
  return Project(repo) + "/pipelines?sha=" + sha + "&order_by=id&sort=desc&per_page=100";
}

// GitLab pipelines or commit statuses of `sha` as checks, newest per name:
// every pipeline is "pipeline"; a retried job's statuses share its name.
std::vector<CiCheck> NewestChecks(const nlohmann::json& items, const std::string& sha, bool pipelines) {
  return NewestPerName(items, [&](const nlohmann::json& o) -> std::optional<CiCheck> {
    if (GetString(o, "sha", sha) != sha) return std::nullopt;  // another commit's
    return GitlabCheck(sha, pipelines ? kGitlabPipelineCheck : GetString(o, "name"), GetString(o, "status"),
                       GetString(o, pipelines ? "web_url" : "target_url"));
  });
}

}  // namespace

RestOptions DefaultRestOptions(const std::string& base_url) {
  RestOptions o;
  o.base_url = base_url.empty() ? "https://gitlab.com/api/v4" : base_url;
  o.forge = "gitlab";
  o.default_headers = {{"Accept", "application/json"}};
  return o;
}

Result<PullRequestInfo> GitlabApi::GetPullRequest(const std::string& repo, std::int64_t pr) {
  auto j = JsonResult(client_.Send("GET", Mr(repo, pr), repo), "get merge request");
  if (!j.ok()) return j.error();
  PullRequestInfo p;
  p.number = GetInt(*j, "iid", pr);
  const std::string state = GetString(*j, "state");
  p.open = state == "opened";
  p.merged = state == "merged";
  p.draft = GetBool(*j, "draft", GetBool(*j, "work_in_progress"));
  p.head_sha = GetString(*j, "sha", GetString(*j, "diff_refs.head_sha"));
  p.base_branch = GetString(*j, "target_branch");
  p.author = GetString(*j, "author.username");
  const std::string status = GetString(*j, "detailed_merge_status", GetString(*j, "merge_status"));
  if (GetBool(*j, "has_conflicts") || status == "conflict" || status == "cannot_be_merged") {
    p.mergeable = false;
  } else if (status == "mergeable" || status == "can_be_merged") {
    p.mergeable = true;
  }
  if (const auto* labels = Find(*j, "labels"); labels && labels->is_array()) {
    for (const auto& l : *labels) {
      if (l.is_string()) p.labels.push_back(l.get<std::string>());
      else p.labels.push_back(GetString(l, "name"));
    }
  }
  return p;
}

Result<Permission> GitlabApi::GetPermission(const std::string& repo, const std::string&,
                                            std::int64_t user_id) {
  if (user_id <= 0) return Permission::kNone;
  auto j = JsonResult(client_.Send("GET", Project(repo) + "/members/all/" + std::to_string(user_id), repo),
                      "get member");
  if (!j.ok()) {
    if (j.error().code == ErrorCode::kNotFound) return Permission::kNone;
    return j.error();
  }
  const std::int64_t level = GetInt(*j, "access_level");
  if (level >= kDeveloper) return Permission::kWrite;
  return level >= kGuest ? Permission::kRead : Permission::kNone;
}

Result<FileContent> GitlabApi::GetFile(const std::string& repo, const std::string& path,
                                       const std::string& ref) {
  auto j = JsonResult(client_.Send("GET", Project(repo) + "/repository/files/" + UrlEncode(path) +
                                              "?ref=" + UrlEncode(ref), repo),
                      "get " + path);
  if (!j.ok()) return j.error();
  auto decoded = Base64Decode(GetString(*j, "content"));
  if (!decoded) return Invalid("get " + path + ": content is not base64");
  return FileContent{*decoded, GetString(*j, "blob_id")};
}

Result<std::vector<Comment>> GitlabApi::ListComments(const std::string& repo, std::int64_t pr) {
  auto all = client_.GetAllPages(Mr(repo, pr) + "/notes?per_page=100&sort=asc&order_by=created_at", repo);
  if (!all.ok()) return all.error();
  std::vector<Comment> out;
  for (const auto& n : *all) {
    if (GetBool(n, "system")) continue;
    out.push_back({GetInt(n, "id"), GetString(n, "body"), GetString(n, "author.username")});
  }
  return out;
}

Result<std::int64_t> GitlabApi::CreateComment(const std::string& repo, std::int64_t pr,
                                              const std::string& body) {
  auto j = JsonResult(client_.Send("POST", Mr(repo, pr) + "/notes", repo, nlohmann::json{{"body", body}}.dump()),
                      "create note");
  if (!j.ok()) return j.error();
  return GetInt(*j, "id");
}

Status GitlabApi::EditComment(const std::string& repo, std::int64_t pr, std::int64_t comment_id,
                              const std::string& body) {
  auto j = JsonResult(client_.Send("PUT", Mr(repo, pr) + "/notes/" + std::to_string(comment_id), repo,
                                   nlohmann::json{{"body", body}}.dump()),
                      "edit note");
  return j.ok() ? Ok() : Status(j.error());
}

Status GitlabApi::SetStatus(const std::string& repo, const CommitStatus& s) {
  static const char* kStates[] = {"pending", "running", "success", "failed", "canceled"};
  nlohmann::json body = {{"state", kStates[static_cast<int>(s.state)]},
                         {"name", s.context},
                         {"description", s.description.substr(0, 255)}};
  if (!s.target_url.empty()) body["target_url"] = s.target_url;
  auto j = JsonResult(client_.Send("POST", Project(repo) + "/statuses/" + s.sha, repo, body.dump()),
                      "set status");
  return j.ok() ? Ok() : Status(j.error());
}

Status GitlabApi::ClosePullRequest(const std::string& repo, std::int64_t pr) {
  auto j = JsonResult(client_.Send("PUT", Mr(repo, pr), repo, R"({"state_event":"close"})"), "close merge request");
  return j.ok() ? Ok() : Status(j.error());
}

Status GitlabApi::AddLabel(const std::string& repo, std::int64_t pr, const std::string& label) {
  auto j = JsonResult(client_.Send("PUT", Mr(repo, pr), repo, nlohmann::json{{"add_labels", label}}.dump()),
                      "add label");
  return j.ok() ? Ok() : Status(j.error());
}

Result<std::vector<CiCheck>> GitlabApi::ListChecks(const std::string& repo, const std::string& sha) {
  // Newest first: the first page holds the newest pipeline.
  auto pipelines = client_.GetAllPages(Pipelines(repo, sha), repo, /*max_pages=*/1);
  if (!pipelines.ok()) return pipelines.error();
  auto statuses = client_.GetAllPages(
      Project(repo) + "/repository/commits/" + sha + "/statuses?all=true&per_page=100", repo);
  if (!statuses.ok()) return statuses.error();
  std::vector<CiCheck> out = NewestChecks(*pipelines, sha, /*pipelines=*/true);
  for (auto& c : NewestChecks(*statuses, sha, /*pipelines=*/false)) out.push_back(std::move(c));
  return out;
}

Status GitlabApi::CancelChecks(const std::string& repo, const std::string& sha) {
  auto pipelines = client_.GetAllPages(Pipelines(repo, sha), repo);
  if (!pipelines.ok()) return pipelines.error();
  Status first = Ok();
  for (const auto& p : *pipelines) {
    if (GetString(p, "sha", sha) != sha || GitlabState(GetString(p, "status")) != CiState::kPending) continue;
    auto j = JsonResult(client_.Send("POST", Project(repo) + "/pipelines/" + std::to_string(GetInt(p, "id")) +
                                                 "/cancel", repo),
                        "cancel pipeline");
    // A conflict: the pipeline finished meanwhile.
    if (!j.ok() && j.error().code != ErrorCode::kConflict && first.ok()) first = j.error();
  }
  return first;
}

Result<std::vector<std::string>> GitlabApi::RequiredChecks(const std::string&, const std::string&) {
  return std::vector<std::string>{};
}

}  // namespace mergeyard::forge::gitlab
