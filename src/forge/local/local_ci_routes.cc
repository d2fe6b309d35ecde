// The REST routes of the local forge's CI, per flavour: what a client reads
// about a commit's CI, cancelling it, and branch protection.

#include <algorithm>
#include <set>

#include "forge/local/local_ci.h"
#include "forge/local/local_ci_shapes.h"

namespace mergeyard::forge {

namespace {

using localci::Json;

LocalCiReply Answer(int status, const Json& body) { return {status, body.dump()}; }
LocalCiReply Missing() { return Answer(404, {{"message", "Not Found"}}); }

// The requested page of the list `all`: the bare array (GitLab, Gitea), or
// `envelope` with the page as its `key` (GitHub's list objects).
LocalCiReply Listed(LocalFlavor flavor, const Json& all, const std::map<std::string, std::string>& params,
                    const char* key = nullptr, Json envelope = Json::object()) {
  LocalCiReply reply;
  Json page = localci::Page(all, flavor, params, &reply.more);
  if (key) {
    envelope[key] = std::move(page);
    page = std::move(envelope);
  }
  reply.body = page.dump();
  return reply;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

// parts[from, size - drop) joined with '/': a branch name that has slashes.
std::string Join(const std::vector<std::string>& parts, size_t from, size_t drop) {
  std::string out;
  for (size_t i = from; i + drop < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
  return out;
}

bool Is(const std::vector<std::string>& parts, std::initializer_list<const char*> shape) {
  if (parts.size() != shape.size()) return false;
  size_t i = 0;
  for (const char* want : shape) {
    if (*want != '*' && parts[i] != want) return false;
    ++i;
  }
  return true;
}

std::int64_t ToId(const std::string& s) {
  return !s.empty() && s.size() < 18 && s.find_first_not_of("0123456789") == std::string::npos ? std::stoll(s) : -1;
}

std::string Param(const std::map<std::string, std::string>& params, const std::string& name) {
  const auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

// The newest of each name, newest first. REQUIRES: `checks` newest first.
std::vector<LocalCiCheck> LatestPerName(const std::vector<LocalCiCheck>& checks) {
  std::vector<LocalCiCheck> out;
  std::set<std::string> seen;
  for (const auto& c : checks) {
    if (seen.insert(c.name).second) out.push_back(c);
  }
  return out;
}

// GitHub's combined state: failure over pending over success; pending when empty.
std::string CombinedState(const std::vector<LocalCiCheck>& latest) {
  std::string state = latest.empty() ? "pending" : "success";
  for (const auto& c : latest) {
    if (c.status == "failure" || c.status == "error") return "failure";
    if (c.status == "pending") state = "pending";
  }
  return state;
}

}  // namespace

std::vector<LocalCiCheck> LocalCi::ChecksOf(const std::string& sha, bool check_runs) const {
  std::vector<LocalCiCheck> out;
  for (const auto& c : checks_) {
    if (c.sha == sha && c.check_run == check_runs) out.push_back(c);
  }
  std::stable_sort(out.begin(), out.end(), [](const LocalCiCheck& a, const LocalCiCheck& b) { return a.id > b.id; });
  return out;
}

std::optional<LocalCiReply> LocalCi::Serve(const std::string& method, const std::string& path,
                                           const std::map<std::string, std::string>& params) {
  const std::string prefix = (site_.flavor == LocalFlavor::kGitlab ? "/projects/" : "/repos/") + site_.repo + "/";
  if (path.rfind(prefix, 0) != 0) return std::nullopt;
  const std::vector<std::string> parts = Split(path.substr(prefix.size()));
  std::lock_guard<std::mutex> lock(mu_);
  switch (site_.flavor) {
    case LocalFlavor::kGithub: return ServeGithub(method, parts, params);
    case LocalFlavor::kGitlab: return ServeGitlab(method, parts, params);
    case LocalFlavor::kGitea: return ServeGitea(method, parts, params);
  }
  return std::nullopt;
}

std::optional<LocalCiReply> LocalCi::ServeGithub(const std::string& method, const std::vector<std::string>& parts,
                                                 const std::map<std::string, std::string>& params) {
  if (method == "GET" && Is(parts, {"commits", "*", "status"})) {
    const auto latest = LatestPerName(ChecksOf(parts[1], false));
    Json statuses = Json::array();
    for (const auto& c : latest) statuses.push_back(localci::GithubStatus(site_, c));
    return Listed(site_.flavor, statuses, params, "statuses",
                  {{"state", CombinedState(latest)}, {"sha", parts[1]}, {"total_count", latest.size()}});
  }
  if (method == "GET" && Is(parts, {"commits", "*", "check-runs"})) {
    Json runs = Json::array();
    for (const auto& c : ChecksOf(parts[1], true)) runs.push_back(localci::GithubCheckRun(site_, c));
    return Listed(site_.flavor, runs, params, "check_runs", {{"total_count", runs.size()}});
  }
  if (method == "GET" && Is(parts, {"actions", "runs"})) {
    const std::string sha = Param(params, "head_sha");
    Json runs = Json::array();
    for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
      if (sha.empty() || it->sha == sha) runs.push_back(localci::GithubWorkflowRun(site_, *it));
    }
    return Listed(site_.flavor, runs, params, "workflow_runs", {{"total_count", runs.size()}});
  }
  if (method == "POST" && Is(parts, {"actions", "runs", "*", "cancel"})) {
    LocalCiRun* run = FindRun(ToId(parts[2]));
    if (!run) return Missing();
    if (!CancelLocked(*run)) return Answer(409, {{"message", "Cannot cancel a workflow run that is completed."}});
    return Answer(202, Json::object());
  }
  if (method == "GET" && parts.size() >= 4 && parts[0] == "branches" &&
      parts[parts.size() - 2] == "protection" && parts.back() == "required_status_checks") {
    const auto it = required_.find(Join(parts, 1, 2));
    if (it == required_.end()) return Answer(404, {{"message", "Branch not protected"}});
    Json checks = Json::array();
    for (const auto& name : it->second) checks.push_back({{"context", name}, {"app_id", nullptr}});
    return Answer(200, {{"strict", false}, {"contexts", it->second}, {"checks", checks}});
  }
  return std::nullopt;
}

std::optional<LocalCiReply> LocalCi::ServeGitlab(const std::string& method, const std::vector<std::string>& parts,
                                                 const std::map<std::string, std::string>& params) {
  if (method == "GET" && Is(parts, {"pipelines"})) {
    const std::string sha = Param(params, "sha");
    Json pipelines = Json::array();
    for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
      if (sha.empty() || it->sha == sha) pipelines.push_back(localci::GitlabPipeline(site_, *it));
    }
    return Listed(site_.flavor, pipelines, params);
  }
  if (method == "POST" && Is(parts, {"pipelines", "*", "cancel"})) {
    LocalCiRun* run = FindRun(ToId(parts[1]));
    if (!run) return Missing();
    CancelLocked(*run);  // a finished pipeline stays as it was
    return Answer(200, localci::GitlabPipeline(site_, *run));
  }
  if (method == "GET" && Is(parts, {"repository", "commits", "*", "statuses"})) {
    auto checks = ChecksOf(parts[2], false);
    if (Param(params, "all") != "true") checks = LatestPerName(checks);
    Json statuses = Json::array();
    for (const auto& c : checks) statuses.push_back(localci::GitlabStatus(site_, c));
    return Listed(site_.flavor, statuses, params);
  }
  return std::nullopt;
}

std::optional<LocalCiReply> LocalCi::ServeGitea(const std::string& method, const std::vector<std::string>& parts,
                                                const std::map<std::string, std::string>& params) {
  if (method == "GET" && Is(parts, {"commits", "*", "statuses"})) {
    Json statuses = Json::array();
    for (const auto& c : ChecksOf(parts[1], false)) statuses.push_back(localci::GiteaStatus(site_, c));
    return Listed(site_.flavor, statuses, params);
  }
  if (method == "GET" && parts.size() >= 2 && parts[0] == "branch_protections") {
    const std::string branch = Join(parts, 1, 0);
    const auto it = required_.find(branch);
    if (it == required_.end()) return Missing();
    return Answer(200, {{"branch_name", branch}, {"rule_name", branch}, {"enable_status_check", true},
                        {"status_check_contexts", it->second}});
  }
  return std::nullopt;
}

}  // namespace mergeyard::forge
