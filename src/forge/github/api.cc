#include "forge/github/api.h"

#include <optional>
#include <set>

#include "forge/base64.h"
#include "forge/github_like.h"
#include "forge/json_fields.h"

namespace mergeyard::forge::github {

namespace {

std::string Truncate(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "…"; }

// Pages of one commit's CI listings read at the most (100 items each).
constexpr int kMaxCiPages = 10;

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

Result<std::vector<CiCheck>> GithubApi::ListChecks(const std::string& repo, const std::string& sha) {
  const std::string commit = Repo(repo) + "/commits/" + sha;
  auto statuses = client_.GetAllPages(commit + "/status?" + page_query_, repo, kMaxCiPages, "statuses");
  if (!statuses.ok()) return statuses.error();
  auto runs = client_.GetAllPages(commit + "/check-runs?" + page_query_, repo, kMaxCiPages, "check_runs");
  if (!runs.ok()) return runs.error();
  std::vector<CiCheck> out =
      NewestPerName(*statuses, [&](const nlohmann::json& s) { return CommitStatusCheck(s, sha); });
  auto run_check = [&](const nlohmann::json& r) -> std::optional<CiCheck> {
    if (GetString(r, "head_sha", sha) != sha) return std::nullopt;  // another commit's
    return GithubRunCheck(r, GetString(r, "name"), sha);
  };
  for (auto& c : NewestPerName(*runs, run_check)) out.push_back(std::move(c));
  return out;
}

Status GithubApi::CancelChecks(const std::string& repo, const std::string& sha) {
  auto runs = client_.GetAllPages(Repo(repo) + "/actions/runs?head_sha=" + sha + "&" + page_query_, repo,
                                  kMaxCiPages, "workflow_runs");
  if (!runs.ok()) {
    // Actions disabled (or never used) on the repository: nothing runs.
    return runs.error().code == ErrorCode::kNotFound ? Ok() : Status(runs.error());
  }
  Status first = Ok();
  for (const auto& run : *runs) {
    if (GetString(run, "status") == "completed" || GetString(run, "head_sha", sha) != sha) continue;
    auto j = JsonResult(client_.Send("POST", Repo(repo) + "/actions/runs/" + std::to_string(GetInt(run, "id")) +
                                                 "/cancel", repo),
                        "cancel workflow run");
    // 409: the run completed meanwhile.
    if (!j.ok() && j.error().code != ErrorCode::kConflict && first.ok()) first = j.error();
  }
  return first;
}

Result<std::vector<std::string>> GithubApi::RequiredChecks(const std::string& repo, const std::string& branch) {
  auto j = JsonResult(client_.Send("GET", Repo(repo) + "/branches/" + UrlEncode(branch) +
                                              "/protection/required_status_checks", repo),
                      "get required status checks");
  if (!j.ok()) {
    // Not protected, or no status checks required.
    if (j.error().code == ErrorCode::kNotFound) return std::vector<std::string>{};
    return j.error();
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& name) {
    if (!name.empty() && seen.insert(name).second) out.push_back(name);
  };
  if (const auto* contexts = Find(*j, "contexts"); contexts && contexts->is_array()) {
    for (const auto& c : *contexts) add(c.is_string() ? c.get<std::string>() : "");
  }
  if (const auto* checks = Find(*j, "checks"); checks && checks->is_array()) {
    for (const auto& c : *checks) add(GetString(c, "context"));
  }
  return out;
}

}  // namespace mergeyard::forge::github
