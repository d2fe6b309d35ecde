#pragma once
// End-to-end harness for external CI (DESIGN.md section 7): a local forge of
// any flavour (GitHub, GitLab, Gitea) with its own CI enabled
// (LocalForge::EnableCi) and a real `mergeyard serve` process pointed at it.
// The repository has no `pipeline`: only the forge's CI decides batches,
// through the `checks` it requires. People's comments reach mergeyard as the
// flavour's signed webhooks (LocalForge::AddUserComment); so do the CI's
// verdicts unless the test drops them.

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_harness.h"

namespace mergeyard::testing {

inline const char* FlavorName(FakeFlavor f) {
  return f == FakeFlavor::kGithub ? "github" : f == FakeFlavor::kGitlab ? "gitlab" : "gitea";
}

// `.mergeyard.yml` with `checks` and no pipeline.
inline std::string ChecksYaml(int batch_size, const std::string& required = "[build, test]",
                              const std::string& timeout = "20s", const std::string& max_wait = "1s") {
  return "queue:\n"
         "  target_batch_size: " + std::to_string(batch_size) + "\n"
         "  max_wait: " + max_wait + "\n"
         "  bisection_concurrency: 2\n"
         "checks:\n"
         "  required: " + required + "\n"
         "  timeout: " + timeout + "\n";
}

struct CiE2eSetup {
  std::string config = ChecksYaml(3);
  // The CI fails every check when the tree holds bad.txt.
  forge::LocalCiOptions ci{.command = "test ! -e bad.txt"};
  std::string poll_interval = "1s";          // MERGEYARD_CI_POLL_INTERVAL
  std::string safety_poll_interval = "1s";   // MERGEYARD_CI_SAFETY_POLL_INTERVAL
};

// One check of a commit as the forge's REST API shows it.
struct ForgeCheck {
  std::string name;
  std::string state;  // "pending", "success" or "failure"
  std::string url;    // its own page
};

class CiE2e {
 public:
  CiE2e(FakeFlavor flavor, const CiE2eSetup& setup) : flavor_(flavor), fake_(flavor, kE2eRepo) {
    fake_.Commit("main", {{".mergeyard.yml", setup.config}});
    fake_.SetPermission("wendy", "write");
    fake_.EnableCi(setup.ci);
    std::map<std::string, std::string> env = {{"MERGEYARD_WEBHOOK_SECRET", kE2eSecret},
                                              {"MERGEYARD_ADMIN_TOKEN", kE2eAdminToken},
                                              {"MERGEYARD_EXECUTOR_TOKEN", kE2eExecutorToken},
                                              {"MERGEYARD_LOCAL_EXECUTORS", "1"},
                                              {"MERGEYARD_LOG_FORMAT", "json"},
                                              {"MERGEYARD_CI_POLL_INTERVAL", setup.poll_interval},
                                              {"MERGEYARD_CI_SAFETY_POLL_INTERVAL", setup.safety_poll_interval}};
    switch (flavor) {
      case FakeFlavor::kGithub:
        env["MERGEYARD_GITHUB_URL"] = fake_.base_url() + "/api/v3";
        env["MERGEYARD_GITHUB_TOKEN"] = fake_.token();
        env["MERGEYARD_GITHUB_CLONE_URL"] = fake_.git_dir();
        break;
      case FakeFlavor::kGitlab:
        env["MERGEYARD_GITLAB_URL"] = fake_.base_url();
        env["MERGEYARD_GITLAB_TOKEN"] = fake_.token();
        env["MERGEYARD_GITLAB_CLONE_URL"] = fake_.git_dir();
        break;
      case FakeFlavor::kGitea:
        env["MERGEYARD_GITEA_URL"] = fake_.base_url();
        env["MERGEYARD_GITEA_TOKEN"] = fake_.token();
        env["MERGEYARD_GITEA_CLONE_URL"] = fake_.git_dir();
        break;
    }
    serve_ = std::make_unique<ServeProcess>(dir_.path(), std::move(env));
    REQUIRE_MESSAGE(serve_->Start(), "mergeyard serve did not start:\n" << serve_->Log());
    fake_.SetWebhook(serve_->url() + "/webhooks/" + FlavorName(flavor), kE2eSecret);
  }

  FakeFlavor flavor() const { return flavor_; }
  FakeForge& fake() { return fake_; }
  ServeProcess& serve() { return *serve_; }
  const std::string& dir() const { return dir_.path(); }

  // Pull request #n from branch pr<n> adding `files`; returns its head.
  std::string OpenPull(std::int64_t n, const std::map<std::string, std::string>& files) {
    return OpenPullOn(fake_, n, files);
  }
  // `author` comments on `pr`; the forge delivers its webhook. The HTTP status.
  int Comment(std::int64_t pr, const std::string& text, const std::string& author = "wendy") {
    return fake_.AddUserComment(pr, author, text);
  }

  std::string StatusComment(std::int64_t pr) { return StatusCommentOn(fake_, pr); }
  // Every comment on `pr`, with its author and how often it was edited.
  std::string AllComments(std::int64_t pr) {
    std::string text;
    for (const auto& c : fake_.Comments(pr)) {
      text += "--- " + c.author + " (" + std::to_string(c.edits) + " edits):\n" + c.body + "\n";
    }
    return text;
  }
  bool Merged(std::int64_t pr) { return StatusComment(pr).find("**mergeyard: Merged**") != std::string::npos; }
  bool Kicked(std::int64_t pr) {
    return StatusComment(pr).find("**mergeyard: Kicked out of the queue**") != std::string::npos;
  }
  bool Removed(std::int64_t pr) {
    return StatusComment(pr).find("**mergeyard: Removed from the queue**") != std::string::npos;
  }
  // The link after "Log: " in `pr`'s status comment ("" when none).
  std::string KickLink(std::int64_t pr) {
    const std::string text = StatusComment(pr);
    const auto at = text.find("Log: ");
    if (at == std::string::npos) return "";
    return text.substr(at + 5, text.find_first_of(" \n)", at + 5) - at - 5);
  }

  // The checks of `sha` as the forge's REST API shows them: GitHub check runs
  // and commit statuses, GitLab its pipelines (as "pipeline") and commit
  // statuses (its jobs), Gitea commit statuses (every one posted).
  std::vector<ForgeCheck> ForgeChecks(const std::string& sha) {
    std::vector<ForgeCheck> out;
    const std::string origin = Origin();
    httplib::Client cli(origin);
    httplib::Headers auth = flavor_ == FakeFlavor::kGitlab ? httplib::Headers{{"PRIVATE-TOKEN", fake_.token()}}
                                                           : httplib::Headers{{"Authorization", "token " + fake_.token()}};
    auto get = [&](const std::string& path) {
      auto r = cli.Get(path, auth);
      REQUIRE_MESSAGE((r && r->status == 200), "GET " << path << " failed");
      return nlohmann::json::parse(r->body);
    };
    auto status_word = [](const std::string& s) -> std::string {
      if (s == "success") return "success";
      if (s == "failure" || s == "error" || s == "failed" || s == "canceled" || s == "canceling") return "failure";
      return "pending";
    };
    switch (flavor_) {
      case FakeFlavor::kGithub: {
        const std::string commit = std::string("/repos/") + kE2eRepo + "/commits/" + sha;
        const nlohmann::json runs = get(commit + "/check-runs?per_page=100");
        for (const auto& r : runs["check_runs"]) {
          const std::string status = r.value("status", "");
          const std::string conclusion = r["conclusion"].is_string() ? r["conclusion"].get<std::string>() : "";
          out.push_back({r.value("name", ""),
                         status != "completed" ? "pending" : conclusion == "success" ? "success" : "failure",
                         r["details_url"].is_string() ? r["details_url"].get<std::string>() : ""});
        }
        const nlohmann::json combined = get(commit + "/status?per_page=100");
        for (const auto& s : combined["statuses"]) {
          out.push_back({s.value("context", ""), status_word(s.value("state", "")),
                         s["target_url"].is_string() ? s["target_url"].get<std::string>() : ""});
        }
        break;
      }
      case FakeFlavor::kGitlab: {
        const std::string project = std::string("/api/v4/projects/") + kE2eRepo;
        for (const auto& p : get(project + "/pipelines?sha=" + sha)) {
          out.push_back({"pipeline", status_word(p.value("status", "")), p.value("web_url", "")});
        }
        for (const auto& s : get(project + "/repository/commits/" + sha + "/statuses?all=true&per_page=100")) {
          out.push_back({s.value("name", ""), status_word(s.value("status", "")),
                         s["target_url"].is_string() ? s["target_url"].get<std::string>() : ""});
        }
        break;
      }
      case FakeFlavor::kGitea:
        for (const auto& s : get(std::string("/api/v1/repos/") + kE2eRepo + "/commits/" + sha + "/statuses?limit=50")) {
          out.push_back({s.value("context", ""), status_word(s.value("status", "")), s.value("target_url", "")});
        }
        break;
    }
    return out;
  }
  // The pages of every failed check named `name` on any commit the CI ran.
  std::vector<std::string> FailedCheckPages(const std::string& name) {
    std::vector<std::string> out;
    for (const std::string& sha : fake_.CiRuns()) {
      for (const auto& c : ForgeChecks(sha)) {
        if (c.name == name && c.state == "failure") out.push_back(c.url);
      }
    }
    return out;
  }
  // Whether every check of `sha` named in `names` has a verdict on the forge.
  bool Reported(const std::string& sha, const std::vector<std::string>& names) {
    const auto checks = ForgeChecks(sha);
    for (const auto& n : names) {
      bool decided = false;
      for (const auto& c : checks) decided = decided || (c.name == n && c.state != "pending");
      if (!decided) return false;
    }
    return true;
  }

  // The batch whose commit is `commit` as the admin API's queue detail of
  // main shows it ("state", "prs", and "checks" while the CI gate holds it);
  // null when there is none.
  nlohmann::json Batch(const std::string& commit) {
    httplib::Client cli("127.0.0.1", serve_->port());
    auto r = cli.Get(std::string("/api/v1/repos/") + kE2eRepo + "/queue?branch=main");
    if (!r || r->status != 200) return nullptr;
    const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("queues")) return nullptr;
    for (const auto& queue : j["queues"]) {
      if (queue.value("branch", "") != "main" || !queue.contains("batches")) continue;
      for (const auto& b : queue["batches"]) {
        if (b.value("commit", "") == commit) return b;
      }
    }
    return nullptr;
  }
  // Whether the batch of `commit` is testing and waits on the required
  // checks `names`, none of which has a verdict yet.
  bool WaitsOnChecks(const std::string& commit, const std::vector<std::string>& names) {
    const nlohmann::json b = Batch(commit);
    if (!b.is_object() || b.value("state", "") != "testing" || !b.contains("checks")) return false;
    std::vector<std::string> pending;
    for (const auto& c : b["checks"]) {
      if (c.value("state", "") == "pending") pending.push_back(c.value("name", ""));
    }
    return pending == names;
  }

  // The sum of the /metrics series `name` whose labels include `labels`
  // (e.g. {"source", "webhook"}); 0 when there is none.
  double Metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    httplib::Client cli("127.0.0.1", serve_->port());
    auto r = cli.Get("/metrics");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    double sum = 0;
    std::stringstream ss(r->body);
    for (std::string line; std::getline(ss, line);) {
      if (line.rfind(name + "{", 0) != 0) continue;
      const std::string set = line.substr(0, line.find('}') + 1);
      bool match = true;
      for (const auto& [k, v] : labels) match = match && set.find(k + "=\"" + v + "\"") != std::string::npos;
      if (match) sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
  }
  double Verdicts(const std::string& source, const std::string& result) {
    return Metric("mergeyard_ci_verdicts_total", {{"source", source}, {"result", result}});
  }

  // Rows of the service's history (kind, pr, data), oldest first.
  std::vector<HistoryRow> History() { return HistoryIn(dir()); }
  // How many history rows of `kind` name `pr`.
  int Ends(const std::string& kind, std::int64_t pr) {
    int n = 0;
    for (const auto& row : History()) n += row.kind == kind && row.pr == pr;
    return n;
  }

  std::string Git(const std::string& args) { return GitIn(fake_.git_dir(), args); }
  std::vector<std::string> Lines(const std::string& args) {
    std::vector<std::string> out;
    std::stringstream ss(Git(args));
    for (std::string line; std::getline(ss, line);) out.push_back(line);
    return out;
  }
  std::vector<std::string> FilesOnMain() { return Lines("ls-tree --name-only refs/heads/main"); }
  // Every commit main has pointed at, oldest first.
  std::vector<std::string> MainHistory() {
    auto out = Lines("reflog show --format=%H refs/heads/main");
    std::reverse(out.begin(), out.end());
    return out;
  }
  // The commits the batch branches point at now.
  std::vector<std::string> BatchBranchCommits() {
    return Lines("for-each-ref --format=%(objectname) refs/heads/mergeyard/batch/");
  }

 private:
  // "http://127.0.0.1:P", the forge's origin.
  std::string Origin() const {
    const std::string base = fake_.base_url();
    return base.substr(0, base.find('/', std::string("http://").size()));
  }

  FakeFlavor flavor_;
  TempDir dir_;
  FakeForge fake_;
  std::unique_ptr<ServeProcess> serve_;
};

}  // namespace mergeyard::testing
