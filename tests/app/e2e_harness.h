#pragma once
// End-to-end harness: a fake GitHub (real HTTP, real git repository) and a
// real `mergeyard serve` process pointed at it, with signed webhooks sent the
// way GitHub sends them. The repository's pipeline is a shell script that
// fails when the tree holds a file named bad.txt.

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <SQLiteCpp/SQLiteCpp.h>

#include <functional>
#include <memory>

#include "fake_forge.h"
#include "serve_process.h"
#include "temp_dir.h"

namespace mergeyard::testing {

inline constexpr const char* kE2eRepo = "acme/widgets";
inline constexpr const char* kE2eSecret = "e2e-secret";
inline constexpr const char* kE2eAdminToken = "e2e-admin";
inline constexpr const char* kE2eExecutorToken = "e2e-executor";

inline std::string PipelineScript() {
  return "set -e\n"
         "if [ -e bad.txt ]; then echo 'FAIL: bad.txt is in the tree' >&2; exit 1; fi\n"
         "echo \"ok: $(ls | wc -l) files\"\n";
}

inline std::string QueueYaml(const std::string& queue_settings) {
  return "queue:\n" + queue_settings +
         "pipeline:\n"
         "  - name: test\n"
         "    run: sh ci/test.sh\n"
         "    timeout: 2m\n";
}

// What both end-to-end harnesses read of the forge and the service.

// Pull request #n from branch pr<n> adding `files` on `fake`; returns its head.
inline std::string OpenPullOn(FakeForge& fake, std::int64_t n, const std::map<std::string, std::string>& files) {
  const std::string head = fake.Commit("pr" + std::to_string(n), files);
  FakePull p;
  p.number = n;
  p.head_branch = "pr" + std::to_string(n);
  fake.AddPull(p);
  return head;
}

// The text of mergeyard's status comment on `pr` ("" when none yet).
inline std::string StatusCommentOn(FakeForge& fake, std::int64_t pr) {
  std::string text;
  for (const auto& c : fake.Comments(pr)) {
    if (c.body.find("<!-- mergeyard:status -->") != std::string::npos) text = c.body;
  }
  return text;
}

// A row of the service's history: its kind ("batch", "merged", "kicked",
// "cancelled"), pr and data.
struct HistoryRow {
  std::string kind;
  std::int64_t pr = 0;
  nlohmann::json data;
};

// The history the service in `dir` stored, oldest first.
inline std::vector<HistoryRow> HistoryIn(const std::string& dir) {
  std::vector<HistoryRow> out;
  SQLite::Database db(dir + "/data/mergeyard.db", SQLite::OPEN_READONLY);
  db.setBusyTimeout(5000);
  SQLite::Statement q(db, "SELECT kind, pr, data_json FROM history ORDER BY id");
  while (q.executeStep()) {
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).isNull() ? 0 : q.getColumn(1).getInt64(),
                   nlohmann::json::parse(q.getColumn(2).getString())});
  }
  return out;
}

// `git <args>` in the repository `git_dir`, its output without the last newlines.
inline std::string GitIn(const std::string& git_dir, const std::string& args) {
  const std::string cmd = "git -C '" + git_dir + "' " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class E2e {
 public:
  // `extra_env`: more MERGEYARD_* settings of the service (they win).
  explicit E2e(const std::string& queue_settings, const std::map<std::string, std::string>& extra_env = {})
      : fake_(FakeFlavor::kGithub, kE2eRepo) {
    fake_.Commit("main", {{".mergeyard.yml", QueueYaml(queue_settings)}, {"ci/test.sh", PipelineScript()}});
    fake_.SetPermission("wendy", "write");
    fake_.SetPermission("rita", "read");
    std::map<std::string, std::string> env = {{"MERGEYARD_GITHUB_URL", fake_.base_url() + "/api/v3"},
                                              {"MERGEYARD_GITHUB_TOKEN", fake_.token()},
                                              {"MERGEYARD_GITHUB_CLONE_URL", fake_.git_dir()},
                                              {"MERGEYARD_WEBHOOK_SECRET", kE2eSecret},
                                              {"MERGEYARD_ADMIN_TOKEN", kE2eAdminToken},
                                              {"MERGEYARD_EXECUTOR_TOKEN", kE2eExecutorToken},
                                              {"MERGEYARD_LOCAL_EXECUTORS", "2"},
                                              {"MERGEYARD_LOG_FORMAT", "json"}};
    for (const auto& [k, v] : extra_env) env[k] = v;
    serve_ = std::make_unique<ServeProcess>(dir_.path(), env);
    REQUIRE_MESSAGE(serve_->Start(), "mergeyard serve did not start:\n" << serve_->Log());
    fake_.SetWebhook(serve_->url() + "/webhooks/github", kE2eSecret);  // the forge sends the webhooks
  }

  FakeForge& fake() { return fake_; }
  ServeProcess& serve() { return *serve_; }
  const std::string& dir() const { return dir_.path(); }

  // A pull request #n from branch pr<n> adding `files`; returns its head.
  std::string OpenPull(std::int64_t n, const std::map<std::string, std::string>& files) {
    return OpenPullOn(fake_, n, files);
  }

  // `author` comments on `pr`: the forge delivers the signed issue_comment
  // webhook. Returns its HTTP status.
  int Comment(std::int64_t pr, const std::string& text, const std::string& author = "wendy") {
    return fake_.AddUserComment(pr, author, text);
  }

  // Posts a signed push webhook for `branch` moving from `before` to `after`.
  int Push(const std::string& branch, const std::string& before, const std::string& after) {
    nlohmann::json body = {{"ref", "refs/heads/" + branch}, {"before", before}, {"after", after},
                           {"repository", {{"full_name", kE2eRepo}, {"id", 1}}},
                           {"commits", nlohmann::json::array()}};
    return Deliver("push", body.dump());
  }

  // Posts a signed pull_request "synchronize" webhook (a new head).
  int Synchronize(std::int64_t pr, const std::string& head) {
    nlohmann::json body = {{"action", "synchronize"}, {"number", pr},
                           {"pull_request", {{"number", pr}, {"state", "open"}, {"draft", false}, {"merged", false},
                                             {"head", {{"sha", head}, {"ref", "pr" + std::to_string(pr)}}},
                                             {"base", {{"ref", "main"}}}}},
                           {"repository", {{"full_name", kE2eRepo}, {"id", 1}}}};
    return Deliver("pull_request", body.dump());
  }

  int Deliver(const std::string& event, const std::string& body) { return fake_.SendWebhook(event, body); }

  // The text of mergeyard's status comment on `pr` ("" when none yet).
  std::string StatusComment(std::int64_t pr) { return StatusCommentOn(fake_, pr); }
  // Every comment mergeyard posted on `pr`, joined.
  std::string AllComments(std::int64_t pr) {
    std::string text;
    for (const auto& c : fake_.Comments(pr)) {
      if (c.author == "mergeyard-bot") text += c.body + "\n---\n";
    }
    return text;
  }

  // Whether a batch holding `pr` is testing, as the admin API shows the queue
  // (the status comment does not follow progress).
  bool Testing(std::int64_t pr, const std::string& branch = "main") {
    const nlohmann::json q = Queue(branch);
    if (!q.is_object() || !q.contains("batches")) return false;
    for (const auto& b : q["batches"]) {
      if (b.value("state", "") != "testing" || !b.contains("prs")) continue;
      for (const auto& p : b["prs"])
        if (p.is_number_integer() && p.get<std::int64_t>() == pr) return true;
    }
    return false;
  }

  bool Merged(std::int64_t pr) { return StatusComment(pr).find("**mergeyard: Merged**") != std::string::npos; }
  bool Kicked(std::int64_t pr) {
    return StatusComment(pr).find("**mergeyard: Kicked out of the queue**") != std::string::npos;
  }

  // Polls `done` every 50 ms for up to `timeout_ms`.
  static bool WaitFor(const std::function<bool()>& done, int timeout_ms = 90000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  // The queue's history as the service stored it, oldest first.
  using HistoryRow = testing::HistoryRow;
  std::vector<HistoryRow> History() { return HistoryIn(dir()); }

  // The queue of `branch` as the admin API shows it (GET
  // /api/v1/repos/{repo}/queue): entries, batches with their state ("testing",
  // "failed"...), history. Null when the service has no such queue (yet) or
  // does not answer.
  nlohmann::json Queue(const std::string& branch = "main") {
    httplib::Client cli("127.0.0.1", serve_->port());
    auto r = cli.Get(std::string("/api/v1/repos/") + kE2eRepo + "/queue?branch=" + branch);
    if (!r || r->status != 200) return nullptr;
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("queues")) return nullptr;
    for (const auto& queue : j["queues"]) {
      if (queue.value("branch", "") == branch) return queue;
    }
    return nullptr;
  }

  // `git <args>` in the fake's repository.
  std::string Git(const std::string& args) { return GitIn(fake_.git_dir(), args); }
  std::vector<std::string> FilesOnMain() {
    std::vector<std::string> out;
    std::stringstream ss(Git("ls-tree --name-only refs/heads/main"));
    for (std::string line; std::getline(ss, line);) out.push_back(line);
    return out;
  }
  // Every commit main has pointed at, oldest first (the ref's reflog).
  std::vector<std::string> MainHistory() {
    std::vector<std::string> out;
    std::stringstream ss(Git("reflog show --format=%H refs/heads/main"));
    for (std::string line; std::getline(ss, line);) out.insert(out.begin(), line);
    return out;
  }

 private:
  TempDir dir_;
  FakeForge fake_;
  std::unique_ptr<ServeProcess> serve_;
};

inline bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace mergeyard::testing
