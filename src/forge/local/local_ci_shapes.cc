#include "forge/local/local_ci_shapes.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "base/clock.h"

namespace mergeyard::forge::localci {

namespace {

constexpr const char* kZeros = "0000000000000000000000000000000000000000";

std::string Timestamp() {
  const std::time_t now = static_cast<std::time_t>(SystemClock().Now() / 1000);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

Json OrNull(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

std::string Owner(const std::string& repo) { return repo.substr(0, repo.find('/')); }
std::string Name(const std::string& repo) { return repo.substr(repo.rfind('/') + 1); }

// --- GitHub --------------------------------------------------------------

// GitHub's repository object; Gitea's is the same.
Json GithubRepository(const LocalCi::Site& s) {
  return {{"id", 1}, {"name", Name(s.repo)}, {"full_name", s.repo}, {"private", false},
          {"owner", {{"login", Owner(s.repo)}}}, {"html_url", s.web_url}};
}

// The envelope every GitHub App webhook has.
Json GithubEvent(const LocalCi::Site& s, Json body) {
  body["repository"] = GithubRepository(s);
  body["sender"] = {{"login", "local-ci[bot]"}, {"type", "Bot"}};
  body["installation"] = {{"id", s.installation_id}};
  return body;
}

void AddGithubWebhooks(const LocalCi::Site& s, const LocalCiRun& run, const std::vector<LocalCiCheck>& changed,
                       bool started, bool done, std::vector<Webhook>* out) {
  auto add = [&](const char* event, Json body) { out->push_back({event, GithubEvent(s, std::move(body)).dump()}); };
  if (started) add("workflow_run", {{"action", "in_progress"}, {"workflow_run", GithubWorkflowRun(s, run)}});
  for (const auto& c : changed) {
    if (c.check_run) {
      add("check_run", {{"action", c.status == "completed" ? "completed" : "created"},
                        {"check_run", GithubCheckRun(s, c)}});
      continue;
    }
    Json status = GithubStatus(s, c);
    status["sha"] = c.sha;
    status["name"] = s.repo;
    status["commit"] = {{"sha", c.sha}, {"html_url", s.web_url + "/commit/" + c.sha}};
    status["branches"] = Json::array();
    add("status", std::move(status));
  }
  if (!done) return;
  if (run.options.check_runs) {
    add("check_suite", {{"action", "completed"},
                        {"check_suite", {{"id", run.id}, {"head_sha", run.sha}, {"head_branch", run.branch},
                                         {"status", "completed"}, {"conclusion", OrNull(run.conclusion)},
                                         {"app", {{"slug", "local-ci"}}}}}});
  }
  add("workflow_run", {{"action", "completed"}, {"workflow_run", GithubWorkflowRun(s, run)},
                       {"workflow", {{"id", 1}, {"name", kLocalCiWorkflow},
                                     {"path", std::string(".github/workflows/") + kLocalCiWorkflow + ".yml"}}}});
}

// --- GitLab --------------------------------------------------------------

Json GitlabProject(const LocalCi::Site& s) {
  return {{"id", 1}, {"name", Name(s.repo)}, {"namespace", Owner(s.repo)}, {"web_url", s.web_url},
          {"path_with_namespace", s.repo}, {"default_branch", "main"}};
}

std::string DetailedStatus(const std::string& status) { return status == "success" ? "passed" : status; }

Json PipelineHook(const LocalCi::Site& s, const LocalCiRun& run, const std::vector<LocalCiCheck>& jobs) {
  Json builds = Json::array();
  for (const auto& j : jobs) {
    builds.push_back({{"id", j.id}, {"stage", "test"}, {"name", j.name}, {"status", j.status},
                      {"allow_failure", false}});
  }
  return {{"object_kind", "pipeline"},
          {"object_attributes", {{"id", run.id}, {"iid", run.id}, {"ref", run.branch}, {"tag", false},
                                 {"sha", run.sha}, {"before_sha", kZeros}, {"source", "push"},
                                 {"status", run.status}, {"detailed_status", DetailedStatus(run.status)},
                                 {"stages", {"test"}}, {"url", s.web_url + "/-/pipelines/" + std::to_string(run.id)},
                                 {"created_at", Timestamp()}}},
          {"project", GitlabProject(s)},
          {"commit", {{"id", run.sha}, {"url", s.web_url + "/-/commit/" + run.sha}}},
          {"user", {{"id", 1}, {"name", "Local CI"}, {"username", "local-ci"}}},
          {"builds", builds}};
}

Json JobHook(const LocalCi::Site& s, const LocalCiRun& run, const LocalCiCheck& job) {
  return {{"object_kind", "build"}, {"ref", run.branch}, {"tag", false}, {"before_sha", kZeros},
          {"sha", run.sha}, {"build_id", job.id}, {"build_name", job.name}, {"build_stage", "test"},
          {"build_status", job.status}, {"build_allow_failure", false},
          {"build_failure_reason", job.status == "failed" ? "script_failure" : "unknown_failure"},
          {"pipeline_id", run.id}, {"project_id", 1},
          {"project_name", Owner(s.repo) + " / " + Name(s.repo)},
          {"user", {{"id", 1}, {"name", "Local CI"}, {"username", "local-ci"}}},
          {"commit", {{"id", run.id}, {"sha", run.sha}, {"status", run.status}}},
          {"repository", {{"name", Name(s.repo)}, {"homepage", s.web_url}, {"url", s.web_url + ".git"},
                          {"git_http_url", s.web_url + ".git"}}},
          {"project", GitlabProject(s)}};
}

void AddGitlabWebhooks(const LocalCi::Site& s, const LocalCiRun& run, const std::vector<LocalCiCheck>& changed,
                       const std::vector<LocalCiCheck>& of_run, bool started, bool done,
                       std::vector<Webhook>* out) {
  if (started) out->push_back({"Pipeline Hook", PipelineHook(s, run, of_run).dump()});
  for (const auto& c : changed) out->push_back({"Job Hook", JobHook(s, run, c).dump()});
  if (done) out->push_back({"Pipeline Hook", PipelineHook(s, run, of_run).dump()});
}

// --- Gitea ---------------------------------------------------------------

void AddGiteaWebhooks(const LocalCi::Site& s, const std::vector<LocalCiCheck>& changed, std::vector<Webhook>* out) {
  for (const auto& c : changed) {
    const Json body = {{"id", c.id}, {"sha", c.sha}, {"context", c.name}, {"state", c.status},
                       {"description", c.description}, {"target_url", c.url},
                       {"commit", {{"id", c.sha}, {"url", s.web_url + "/commit/" + c.sha}}},
                       {"repository", GithubRepository(s)},
                       {"sender", {{"id", 1}, {"login", "local-ci"}}},
                       {"created_at", Timestamp()}, {"updated_at", Timestamp()}};
    out->push_back({"status", body.dump()});
  }
}

}  // namespace

Json GithubStatus(const LocalCi::Site&, const LocalCiCheck& c) {
  return {{"id", c.id}, {"state", c.status}, {"context", c.name}, {"description", OrNull(c.description)},
          {"target_url", OrNull(c.url)}, {"created_at", Timestamp()}, {"updated_at", Timestamp()}};
}

Json GithubCheckRun(const LocalCi::Site& s, const LocalCiCheck& c) {
  return {{"id", c.id}, {"head_sha", c.sha}, {"name", c.name}, {"status", c.status},
          {"conclusion", OrNull(c.conclusion)}, {"details_url", OrNull(c.url)},
          {"html_url", s.web_url + "/runs/" + std::to_string(c.id)}, {"started_at", Timestamp()},
          {"completed_at", c.status == "completed" ? Json(Timestamp()) : Json(nullptr)},
          {"check_suite", {{"id", c.run_id}}}, {"app", {{"slug", "local-ci"}}},
          {"output", {{"title", c.description}, {"summary", c.description}}}};
}

Json GithubWorkflowRun(const LocalCi::Site& s, const LocalCiRun& run) {
  return {{"id", run.id}, {"name", kLocalCiWorkflow}, {"head_sha", run.sha}, {"head_branch", run.branch},
          {"path", std::string(".github/workflows/") + kLocalCiWorkflow + ".yml"},
          {"status", run.status}, {"conclusion", OrNull(run.conclusion)},
          {"html_url", s.web_url + "/actions/runs/" + std::to_string(run.id)}, {"run_number", run.id},
          {"event", "push"}, {"workflow_id", 1}, {"created_at", Timestamp()}, {"updated_at", Timestamp()}};
}

Json GitlabPipeline(const LocalCi::Site& s, const LocalCiRun& run) {
  // Asked to cancel, GitLab answers "canceling" until the jobs have stopped.
  const std::string status = run.cancel_requested && !run.finished ? "canceling" : run.status;
  return {{"id", run.id}, {"iid", run.id}, {"project_id", 1}, {"sha", run.sha}, {"ref", run.branch},
          {"status", status}, {"source", "push"},
          {"web_url", s.web_url + "/-/pipelines/" + std::to_string(run.id)},
          {"created_at", Timestamp()}, {"updated_at", Timestamp()}};
}

Json GitlabStatus(const LocalCi::Site&, const LocalCiCheck& c) {
  return {{"id", c.id}, {"sha", c.sha}, {"status", c.status}, {"name", c.name},
          {"target_url", OrNull(c.url)}, {"description", OrNull(c.description)}, {"allow_failure", false},
          {"created_at", Timestamp()}, {"author", {{"username", "local-ci"}}}};
}

Json GiteaStatus(const LocalCi::Site&, const LocalCiCheck& c) {
  // The API says `status` where the webhook says `state`.
  return {{"id", c.id}, {"status", c.status}, {"context", c.name}, {"description", c.description},
          {"target_url", c.url}, {"creator", {{"login", "local-ci"}}},
          {"created_at", Timestamp()}, {"updated_at", Timestamp()}};
}

Json Page(const Json& all, LocalFlavor flavor, const std::map<std::string, std::string>& params, bool* more) {
  const bool gitea = flavor == LocalFlavor::kGitea;
  auto number = [&](const char* name, int fallback) {
    const auto it = params.find(name);
    return it == params.end() ? fallback : std::atoi(it->second.c_str());
  };
  const size_t per_page = std::clamp(number(gitea ? "limit" : "per_page", 30), 1, gitea ? 50 : 100);
  const size_t start = static_cast<size_t>(std::max(1, number("page", 1)) - 1) * per_page;
  Json page = Json::array();
  for (size_t i = start; i < all.size() && i < start + per_page; ++i) page.push_back(all[i]);
  *more = start + per_page < all.size();
  return page;
}

std::vector<Webhook> Webhooks(const LocalCi::Site& site, const LocalCiRun& run,
                              const std::vector<LocalCiCheck>& changed,
                              const std::vector<LocalCiCheck>& of_run, bool started, bool done) {
  std::vector<Webhook> out;
  switch (site.flavor) {
    case LocalFlavor::kGithub: AddGithubWebhooks(site, run, changed, started, done, &out); break;
    case LocalFlavor::kGitlab: AddGitlabWebhooks(site, run, changed, of_run, started, done, &out); break;
    case LocalFlavor::kGitea: AddGiteaWebhooks(site, changed, &out); break;
  }
  return out;
}

}  // namespace mergeyard::forge::localci
