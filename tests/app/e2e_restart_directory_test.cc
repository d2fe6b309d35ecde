// `mergeyard serve` with two forges configured (a fake GitHub and a fake
// GitLab) learns from a webhook which forge serves a repository, and still
// knows it after a restart, before any new webhook arrives: the admin API
// finds the pull request, the pipeline's git fetch finds the remote and the
// reporter finds where to report. A webhook that repeats what is known does
// not write to the database again.

#include <doctest/doctest.h>
#include <httplib.h>

#include <string>
#include <utility>

#include "e2e_harness.h"

using namespace mergeyard::testing;

namespace {

// POST /api/v1/repos/acme/widgets/entries: the HTTP status and the error code
// of the answer ("" when none).
std::pair<int, std::string> AdminEnqueue(const ServeProcess& serve, std::int64_t pr) {
  httplib::Client cli("127.0.0.1", serve.port());
  httplib::Headers h = {{"Authorization", std::string("Bearer ") + kE2eAdminToken}};
  auto r = cli.Post(std::string("/api/v1/repos/") + kE2eRepo + "/entries", h,
                    nlohmann::json{{"pr", pr}}.dump(), "application/json");
  if (!r) return {-1, ""};
  auto body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  std::string code;
  if (body.is_object() && body.contains("error")) code = body["error"].value("code", "");
  return {r->status, code};
}

struct SavedRow {
  std::string forge;
  std::int64_t installation_id = -1;
  std::int64_t updated_at = -1;
};

// The forge_repos row of the e2e repository (forge "" when there is none).
SavedRow SavedForge(const std::string& db_path) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  db.setBusyTimeout(5000);
  SQLite::Statement q(db, "SELECT forge, installation_id, updated_at FROM forge_repos WHERE repo = ?");
  q.bind(1, kE2eRepo);
  if (!q.executeStep()) return {};
  return {q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getInt64()};
}

bool AllDeliveriesDone(const std::string& db_path, int expected) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  db.setBusyTimeout(5000);
  return db.execAndGet("SELECT count(*) FROM webhook_deliveries WHERE state = 'done'").getInt() == expected;
}

bool Merged(FakeForge& fake, std::int64_t pr) {
  for (const auto& c : fake.Comments(pr)) {
    if (c.body.find("**mergeyard: Merged**") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("with two forges, a restart keeps which forge serves a repository: no new webhook is needed") {
  TempDir dir;
  FakeForge github(FakeFlavor::kGithub, kE2eRepo);
  FakeForge gitlab(FakeFlavor::kGitlab, "group/tool");  // configured, never used
  github.Commit("main", {{".mergeyard.yml", QueueYaml("  target_batch_size: 1\n  max_wait: 1s\n")},
                         {"ci/test.sh", PipelineScript()}});
  github.SetPermission("wendy", "write");
  for (std::int64_t n : {1, 2}) {
    github.Commit("pr" + std::to_string(n), {{"f" + std::to_string(n) + ".txt", "pr " + std::to_string(n) + "\n"}});
    FakePull pull;
    pull.number = n;
    pull.head_branch = "pr" + std::to_string(n);
    github.AddPull(pull);
  }
  ServeProcess serve(dir.path(), {{"MERGEYARD_GITHUB_URL", github.base_url() + "/api/v3"},
                                  {"MERGEYARD_GITHUB_TOKEN", github.token()},
                                  {"MERGEYARD_GITHUB_CLONE_URL", github.git_dir()},
                                  {"MERGEYARD_GITLAB_URL", gitlab.base_url()},
                                  {"MERGEYARD_GITLAB_TOKEN", gitlab.token()},
                                  {"MERGEYARD_GITLAB_CLONE_URL", gitlab.git_dir()},
                                  {"MERGEYARD_WEBHOOK_SECRET", kE2eSecret},
                                  {"MERGEYARD_ADMIN_TOKEN", kE2eAdminToken},
                                  {"MERGEYARD_LOCAL_EXECUTORS", "1"}});
  const std::string db_path = dir.path() + "/data/mergeyard.db";
  REQUIRE_MESSAGE(serve.Start(), "mergeyard serve did not start:\n" << serve.Log());
  INFO(serve.Log());

  // Two forges and no webhook yet: nobody knows where acme/widgets lives.
  CHECK(AdminEnqueue(serve, 1) == std::pair<int, std::string>{422, "no_forge"});
  CHECK(SavedForge(db_path).forge.empty());

  // A webhook from GitHub teaches it; #1 lands.
  github.SetWebhook(serve.url() + "/webhooks/github", kE2eSecret);
  REQUIRE(github.AddUserComment(1, "wendy", "!integrate") == 202);
  REQUIRE(E2e::WaitFor([&] { return Merged(github, 1); }, 60000));
  const SavedRow saved = SavedForge(db_path);
  CHECK(saved.forge == "github");
  CHECK(saved.installation_id == 0);
  const std::string tip_before_restart = github.Tip("main");

  REQUIRE(serve.Stop() == 0);
  REQUIRE_MESSAGE(serve.Start(), "mergeyard serve did not restart:\n" << serve.Log());

  // No webhook since the restart: the admin API finds #2 on GitHub, the
  // engine fetches it and lands it, the reporter reports it there.
  CHECK(AdminEnqueue(serve, 2) == std::pair<int, std::string>{202, ""});
  REQUIRE(E2e::WaitFor([&] { return Merged(github, 2); }, 60000));
  CHECK(github.Tip("main") != tip_before_restart);

  // A webhook that repeats what is known is processed without a new write.
  REQUIRE(github.AddUserComment(2, "wendy", "thanks") == 202);
  REQUIRE(E2e::WaitFor([&] { return AllDeliveriesDone(db_path, 2); }, 30000));
  const SavedRow again = SavedForge(db_path);
  CHECK(again.forge == "github");
  CHECK(again.updated_at == saved.updated_at);
  CHECK(serve.Stop() == 0);
}
