#include "forge/gitea/api.h"

#include "forge/base64.h"
#include "forge/github_like.h"
#include "forge/json_fields.h"

namespace mergeyard::forge::gitea {

namespace {

bool IsPattern(const std::string& context) { return context.find_first_of("*?[") != std::string::npos; }

}  // namespace

RestOptions DefaultRestOptions(const std::string& base_url) {
  RestOptions o;
  o.base_url = base_url;
  o.forge = "gitea";
  o.default_headers = {{"Accept", "application/json"}};
  return o;
}

Result<PullRequestInfo> GiteaApi::GetPullRequest(const std::string& repo, std::int64_t pr) {
  auto j = JsonResult(client_.Send("GET", Repo(repo) + "/pulls/" + std::to_string(pr), repo), "get pull request");
  if (!j.ok()) return j.error();
  PullRequestInfo p;
  p.number = GetInt(*j, "number", pr);
  p.open = GetString(*j, "state") == "open";
  p.merged = GetBool(*j, "merged");
  // Older Gitea has no `draft`: a "WIP:" title prefix meant the same.
  const std::string title = GetString(*j, "title");
  p.draft = GetBool(*j, "draft", title.rfind("WIP:", 0) == 0 || title.rfind("[WIP]", 0) == 0);
  p.head_sha = GetString(*j, "head.sha");
  p.base_branch = GetString(*j, "base.ref");
  p.author = GetString(*j, "user.login");
  if (const auto* m = Find(*j, "mergeable"); m && m->is_boolean()) p.mergeable = m->get<bool>();
  if (const auto* labels = Find(*j, "labels"); labels && labels->is_array()) {
    for (const auto& l : *labels) p.labels.push_back(GetString(l, "name"));
  }
  return p;
}

Result<Permission> GiteaApi::GetPermission(const std::string& repo, const std::string& user,
                                           std::int64_t) {
  auto j = JsonResult(client_.Send("GET", Repo(repo) + "/collaborators/" + UrlEncode(user) + "/permission", repo),
                      "get permission");
  if (!j.ok()) {
    if (j.error().code == ErrorCode::kNotFound) return Permission::kNone;
    return j.error();
  }
  const std::string perm = GetString(*j, "permission");
  if (perm == "owner" || perm == "admin" || perm == "write") return Permission::kWrite;
  return perm == "read" ? Permission::kRead : Permission::kNone;
}

Status GiteaApi::SetStatus(const std::string& repo, const CommitStatus& s) {
  static const char* kStates[] = {"pending", "pending", "success", "failure", "error"};
  nlohmann::json body = {{"state", kStates[static_cast<int>(s.state)]},
                         {"context", s.context},
                         {"description", s.description}};
  if (!s.target_url.empty()) body["target_url"] = s.target_url;
  auto j = JsonResult(client_.Send("POST", Repo(repo) + "/statuses/" + s.sha, repo, body.dump()), "set status");
  return j.ok() ? Ok() : Status(j.error());
}

Result<std::vector<CiCheck>> GiteaApi::ListChecks(const std::string& repo, const std::string& sha) {
  auto list = client_.GetAllPages(Repo(repo) + "/commits/" + sha + "/statuses?" + page_query_, repo, /*max_pages=*/10);
  if (!list.ok()) return list.error();
  return NewestPerName(*list, [&](const nlohmann::json& s) { return CommitStatusCheck(s, sha); });
}

Status GiteaApi::CancelChecks(const std::string&, const std::string&) { return Ok(); }

Result<std::vector<std::string>> GiteaApi::RequiredChecks(const std::string& repo, const std::string& branch) {
  auto j = JsonResult(client_.Send("GET", Repo(repo) + "/branch_protections/" + UrlEncode(branch), repo),
                      "get branch protection");
  if (!j.ok()) {
    if (j.error().code == ErrorCode::kNotFound) return std::vector<std::string>{};
    return j.error();
  }
  std::vector<std::string> out;
  if (!GetBool(*j, "enable_status_check")) return out;
  if (const auto* contexts = Find(*j, "status_check_contexts"); contexts && contexts->is_array()) {
    for (const auto& c : *contexts) {
      if (c.is_string() && !IsPattern(c.get<std::string>())) out.push_back(c.get<std::string>());
    }
  }
  return out;
}

}  // namespace mergeyard::forge::gitea
