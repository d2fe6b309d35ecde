#include "forge/github/api.h"

#include "forge/base64.h"
#include "forge/github_like.h"
#include "forge/json_fields.h"

namespace mergeyard::forge::github {

namespace {

std::string Truncate(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "…"; }

}  // namespace

RestOptions DefaultRestOptions(const std::string& base_url) {
  RestOptions o;
  o.base_url = base_url.empty() ? "https://api.github.com" : base_url;
  o.forge = "github";
  o.default_headers = {{"Accept", "application/vnd.github+json"},
                       {"X-GitHub-Api-Version", "2022-11-28"}};
  return o;
}

Result<PullRequestInfo> GithubApi::GetPullRequest(const std::string& repo, std::int64_t pr) {
  auto j = JsonResult(client_.Send("GET", Repo(repo) + "/pulls/" + std::to_string(pr), repo), "get pull request");
  if (!j.ok()) return j.error();
  PullRequestInfo p;
  p.number = GetInt(*j, "number", pr);
  p.open = GetString(*j, "state") == "open";
  p.merged = GetBool(*j, "merged");
  p.draft = GetBool(*j, "draft");
  p.head_sha = GetString(*j, "head.sha");
  p.base_branch = GetString(*j, "base.ref");
  p.author = GetString(*j, "user.login");
  if (const auto* m = Find(*j, "mergeable"); m && m->is_boolean()) p.mergeable = m->get<bool>();
  if (const auto* labels = Find(*j, "labels"); labels && labels->is_array()) {
    for (const auto& l : *labels) p.labels.push_back(GetString(l, "name"));
  }
  return p;
}

Result<Permission> GithubApi::GetPermission(const std::string& repo, const std::string& user,
                                            std::int64_t) {
  auto j = JsonResult(client_.Send("GET", Repo(repo) + "/collaborators/" + UrlEncode(user) + "/permission", repo),
                  "get permission");
  if (!j.ok()) {
    if (j.error().code == ErrorCode::kNotFound) return Permission::kNone;
    return j.error();
  }
  const std::string perm = GetString(*j, "permission");
  const std::string role = GetString(*j, "role_name");
  if (perm == "admin" || perm == "write" || perm == "maintain" || role == "maintain" ||
      role == "admin" || role == "write") {
    return Permission::kWrite;
  }
  return perm == "read" || perm == "triage" ? Permission::kRead : Permission::kNone;
}

Status GithubApi::SetStatus(const std::string& repo, const CommitStatus& s) {
  if (options_.check_runs) return SetCheckRun(repo, s);
  static const char* kStates[] = {"pending", "pending", "success", "failure", "error"};
  nlohmann::json body = {{"state", kStates[static_cast<int>(s.state)]},
                         {"context", s.context},
                         {"description", Truncate(s.description, 140)}};
  if (!s.target_url.empty()) body["target_url"] = s.target_url;
  auto j = JsonResult(client_.Send("POST", Repo(repo) + "/statuses/" + s.sha, repo, body.dump()), "set status");
  return j.ok() ? Ok() : Status(j.error());
}

Status GithubApi::SetCheckRun(const std::string& repo, const CommitStatus& s) {
  nlohmann::json body = {{"name", s.context},
                         {"head_sha", s.sha},
                         {"output", {{"title", Truncate(s.description, 140)},
                                     {"summary", s.summary.empty() ? s.description : s.summary}}}};
  if (!s.target_url.empty()) body["details_url"] = s.target_url;
  switch (s.state) {
    case StatusState::kPending: body["status"] = "queued"; break;
    case StatusState::kRunning: body["status"] = "in_progress"; break;
    case StatusState::kSuccess: body["status"] = "completed"; body["conclusion"] = "success"; break;
    case StatusState::kFailure: body["status"] = "completed"; body["conclusion"] = "failure"; break;
    case StatusState::kError: body["status"] = "completed"; body["conclusion"] = "cancelled"; break;
  }
  const std::string key = repo + "@" + s.sha + "#" + s.context;
  std::int64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = check_runs_.find(key); it != check_runs_.end()) id = it->second;
  }
  if (id != 0) {
    body.erase("head_sha");
    auto j = JsonResult(client_.Send("PATCH", Repo(repo) + "/check-runs/" + std::to_string(id), repo, body.dump()),
                    "update check run");
    return j.ok() ? Ok() : Status(j.error());
  }
  auto j = JsonResult(client_.Send("POST", Repo(repo) + "/check-runs", repo, body.dump()), "create check run");
  if (!j.ok()) return j.error();
  std::lock_guard<std::mutex> lock(mu_);
  check_runs_[key] = GetInt(*j, "id");
  return Ok();
}

}  // namespace mergeyard::forge::github
