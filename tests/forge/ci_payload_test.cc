// CI webhooks (DESIGN.md section 7) parsed from the real fixtures, and each
// forge's CI vocabulary mapped onto CiState.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>

#include "fixture.h"
#include "signed_payload.h"
#include "forge/ci_check.h"
#include "forge/payload.h"

using namespace mergeyard;
using namespace mergeyard::forge;
using mergeyard::testing::ReadFixture;


namespace {

using mergeyard::testing::ParseSignedBody;

Event Github(const std::string& body, const std::string& event) {
  return ParseSignedBody(ForgeKind::kGithub, body, {{"X-GitHub-Event", event}, {"X-GitHub-Delivery", "d-1"}}, event);
}
Event Gitlab(const std::string& body, const std::string& event) {
  return ParseSignedBody(ForgeKind::kGitlab, body, {{"X-Gitlab-Event", event}, {"Idempotency-Key", "k-1"}}, event);
}
Event GiteaStatus(const std::string& body) {
  return ParseSignedBody(ForgeKind::kGitea, body,
                         {{"X-Gitea-Event", "status"}, {"X-Gitea-Event-Type", "status"}, {"X-Gitea-Delivery", "g-1"}},
                         "status");
}

CiReported Reported(const Event& e) {
  REQUIRE_MESSAGE(std::holds_alternative<CiReported>(e), Describe(e));
  return std::get<CiReported>(e);
}

std::string IgnoredReason(const Event& e) {
  REQUIRE_MESSAGE(std::holds_alternative<Ignored>(e), Describe(e));
  return std::get<Ignored>(e).reason;
}

// The fixture with `edit` applied, for variants no fixture has.
std::string Edited(const std::string& file, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(ReadFixture(file));
  edit(j);
  return j.dump();
}

// A Gitea/Forgejo `status` webhook body, shaped like Gitea's CommitStatusPayload.
std::string GiteaStatusBody(const std::string& sha, const std::string& state) {
  return nlohmann::json{
      {"id", 42}, {"sha", sha}, {"context", "ci/woodpecker/push/test"}, {"state", state},
      {"target_url", "https://ci.example.org/repos/7/pipeline/12"}, {"description", "Pipeline was successful"},
      {"commit", {{"id", sha}, {"message", "batch 3\n"}, {"url", "https://gitea.example.org/acme/widgets/commit/" + sha}}},
      {"repository", {{"id", 9}, {"name", "widgets"}, {"full_name", "acme/widgets"}, {"owner", {{"login", "acme"}}}}},
      {"sender", {{"id", 3}, {"login", "woodpecker"}}},
      {"created_at", "2024-05-01T10:00:00Z"}, {"updated_at", "2024-05-01T10:02:00Z"}}
      .dump();
}

constexpr const char* kCheckRunSha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
constexpr const char* kWorkflowSha = "3484a3fb816e0859fd6e1cea078d76385ff50625";

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("a completed GitHub check run reports its conclusion on its head commit") {
  const CiReported pass = Reported(Github(ReadFixture("github/check_run.completed.json"), "check_run"));
  CHECK(pass.repo.full_name == "Codertocat/Hello-World");
  CHECK(pass.poll_shas.empty());
  REQUIRE(pass.checks.size() == 1);
  CHECK(pass.checks[0] == CiCheck{kCheckRunSha, "Octocoders-linter", CiState::kSuccess, "success",
                                  "https://octocoders.io"});

  const CiReported fail = Reported(Github(ReadFixture("github/check_run.completed.failure.json"), "check_run"));
  REQUIRE(fail.checks.size() == 1);
  CHECK(fail.checks[0].state == CiState::kFailure);
  CHECK(fail.checks[0].conclusion == "failure");
  CHECK(fail.checks[0].sha == kCheckRunSha);
}

TEST_CASE("a GitHub check run still running is a pending check, linked to its page when it has no details") {
  const std::string body = Edited("github/check_run.completed.json", [](nlohmann::json& j) {
    j["action"] = "created";
    j["check_run"]["status"] = "in_progress";
    j["check_run"]["conclusion"] = nullptr;
    j["check_run"].erase("details_url");
  });
  const CiReported r = Reported(Github(body, "check_run"));
  REQUIRE(r.checks.size() == 1);
  CHECK(r.checks[0].state == CiState::kPending);
  CHECK(r.checks[0].conclusion == "in_progress");
  CHECK(r.checks[0].url == "https://github.com/Codertocat/Hello-World/runs/128620228");
}

TEST_CASE("a completed GitHub check suite names no check but asks for its commit to be read") {
  const CiReported r = Reported(Github(ReadFixture("github/check_suite.completed.json"), "check_suite"));
  CHECK(r.repo.full_name == "Codertocat/Hello-World");
  CHECK(r.checks.empty());
  CHECK(r.poll_shas == std::vector<std::string>{kCheckRunSha});

  const std::string requested = Edited("github/check_suite.completed.json",
                                       [](nlohmann::json& j) { j["action"] = "requested"; });
  CHECK(IgnoredReason(Github(requested, "check_suite")) == "check suite requested");
}

TEST_CASE("a GitHub status reports its context's state on its commit") {
  const CiReported r = Reported(Github(ReadFixture("github/status.json"), "status"));
  CHECK(r.repo.full_name == "Codertocat/Hello-World");
  REQUIRE(r.checks.size() == 1);
  CHECK(r.checks[0] == CiCheck{"6113728f27ae82c7b1a177c8d03f9e96e0adf246", "default", CiState::kSuccess, "success", ""});

  const std::string errored = Edited("github/status.json", [](nlohmann::json& j) {
    j["state"] = "error";
    j["target_url"] = "https://ci.example.com/build/9";
  });
  const CiReported e = Reported(Github(errored, "status"));
  CHECK(e.checks[0].state == CiState::kFailure);
  CHECK(e.checks[0].url == "https://ci.example.com/build/9");
}

TEST_CASE("a GitHub workflow run without a name is known by its workflow's name") {
  const CiReported r = Reported(Github(ReadFixture("github/workflow_run.completed.json"), "workflow_run"));
  CHECK(r.repo.full_name == "octo-org/octo-repo");
  REQUIRE(r.checks.size() == 1);
  CHECK(r.checks[0] == CiCheck{kWorkflowSha, "test", CiState::kSuccess, "success",
                               "https://github.com/octo-org/octo-repo/actions/runs/289782451"});

  const std::string named = Edited("github/workflow_run.completed.json", [](nlohmann::json& j) {
    j["workflow_run"]["name"] = "CI";
    j["workflow_run"]["status"] = "in_progress";
    j["workflow_run"]["conclusion"] = nullptr;
  });
  const CiReported n = Reported(Github(named, "workflow_run"));
  CHECK(n.checks[0].name == "CI");
  CHECK(n.checks[0].state == CiState::kPending);
}

TEST_CASE("a GitHub workflow job reports the job by its name") {
  const CiReported pass = Reported(Github(ReadFixture("github/workflow_job.completed.json"), "workflow_job"));
  REQUIRE(pass.checks.size() == 1);
  CHECK(pass.checks[0] == CiCheck{kWorkflowSha, "linters", CiState::kSuccess, "success",
                                  "https://github.com/octo-org/octo-repo/runs/1291536064"});
  const CiReported fail = Reported(Github(ReadFixture("github/workflow_job.completed.failure.json"), "workflow_job"));
  CHECK(fail.checks[0].state == CiState::kFailure);
}

TEST_CASE("a GitLab pipeline hook reports the pipeline as `pipeline` and each of its builds") {
  const CiReported r = Reported(Gitlab(ReadFixture("gitlab/pipeline.success.json"), "Pipeline Hook"));
  CHECK(r.repo.full_name == "gitlab-org/gitlab-test");
  CHECK(r.repo.id == 1);
  const std::string sha = "bcbb5ec396a2c0f828686f14fac9b80b780504f2";
  const std::string web = "http://192.168.64.1:3005/gitlab-org/gitlab-test";
  REQUIRE(r.checks.size() == 6);
  CHECK(r.checks[0] == CiCheck{sha, kGitlabPipelineCheck, CiState::kSuccess, "success", web + "/-/pipelines/31"});
  std::map<std::string, CiCheck> by_name;
  for (const auto& c : r.checks) by_name[c.name] = c;
  CHECK(by_name["test-image"] == CiCheck{sha, "test-image", CiState::kSuccess, "success", web + "/-/jobs/377"});
  CHECK(by_name["build-image"].state == CiState::kSuccess);
  CHECK(by_name["production"].state == CiState::kFailure);  // skipped: it never ran
  CHECK(by_name["staging"].state == CiState::kPending);     // created
  for (const auto& c : r.checks) CHECK(c.sha == sha);

  const std::string with_url = Edited("gitlab/pipeline.success.json", [](nlohmann::json& j) {
    j["object_attributes"]["url"] = "https://gitlab.example.com/g/p/-/pipelines/31";
    j["object_attributes"]["status"] = "running";
  });
  const CiReported u = Reported(Gitlab(with_url, "Pipeline Hook"));
  CHECK(u.checks[0].url == "https://gitlab.example.com/g/p/-/pipelines/31");
  CHECK(u.checks[0].state == CiState::kPending);

  // A retried job is listed once per try, oldest anywhere: its newest try counts.
  const std::string retried = Edited("gitlab/pipeline.success.json", [](nlohmann::json& j) {
    nlohmann::json again = j["builds"][1];  // test-image, 377, success
    again["id"] = 300;
    again["status"] = "failed";
    j["builds"].push_back(again);
    j["builds"].insert(j["builds"].begin(), again);
  });
  const CiReported t = Reported(Gitlab(retried, "Pipeline Hook"));
  CHECK(t.checks.size() == 6);
  std::vector<CiCheck> image;
  for (const auto& c : t.checks) {
    if (c.name == "test-image") image.push_back(c);
  }
  CHECK(image == std::vector<CiCheck>{{sha, "test-image", CiState::kSuccess, "success", web + "/-/jobs/377"}});
}

TEST_CASE("a GitLab job hook reports its job, under the old Build Hook header too") {
  for (const char* header : {"Job Hook", "Build Hook"}) {
    CAPTURE(header);
    const CiReported r = Reported(Gitlab(ReadFixture("gitlab/build.success.json"), header));
    CHECK(r.repo.full_name == "jsmithy2/release-tools-fake");  // from the repository's homepage
    CHECK(r.repo.id == 31537070);
    REQUIRE(r.checks.size() == 1);
    CHECK(r.checks[0] == CiCheck{"95d49d1efbd941908580e79d65e4b5ecaf4a8305", "auto_deploy:start", CiState::kSuccess,
                                 "success", "https://gitlab.com/jsmithy2/release-tools-fake/-/jobs/3580121225"});
  }
}

TEST_CASE("a Gitea or Forgejo status webhook reports its context on its commit") {
  const std::string sha = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d";
  const CiReported r = Reported(GiteaStatus(GiteaStatusBody(sha, "success")));
  CHECK(r.repo.full_name == "acme/widgets");
  REQUIRE(r.checks.size() == 1);
  CHECK(r.checks[0] == CiCheck{sha, "ci/woodpecker/push/test", CiState::kSuccess, "success",
                               "https://ci.example.org/repos/7/pipeline/12"});

  const Event forgejo = ParseSignedBody(ForgeKind::kGitea, GiteaStatusBody(sha, "warning"),
                                        {{"X-Forgejo-Event", "status"}, {"X-Forgejo-Event-Type", "status"},
                                         {"X-Gitea-Event", "status"}, {"X-Forgejo-Delivery", "f-1"}},
                                        "forgejo status");
  CHECK(Reported(forgejo).checks[0].state == CiState::kFailure);
}

TEST_CASE("CI events without a commit sha are ignored") {
  CHECK(IgnoredReason(Github(Edited("github/status.json", [](nlohmann::json& j) { j.erase("sha"); }), "status"))
            .find("sha") != std::string::npos);
  CHECK(IgnoredReason(Github(Edited("github/check_run.completed.json",
                                    [](nlohmann::json& j) { j["check_run"]["head_sha"] = ""; }),
                             "check_run"))
            .find("sha") != std::string::npos);
  CHECK(IgnoredReason(Gitlab(Edited("gitlab/pipeline.success.json",
                                    [](nlohmann::json& j) { j["object_attributes"].erase("sha"); }),
                             "Pipeline Hook"))
            .find("sha") != std::string::npos);
  CHECK(IgnoredReason(Gitlab(Edited("gitlab/build.success.json", [](nlohmann::json& j) { j["sha"] = nullptr; }),
                             "Job Hook"))
            .find("sha") != std::string::npos);
  CHECK(IgnoredReason(GiteaStatus(GiteaStatusBody("", "success"))).find("sha") != std::string::npos);
}

TEST_CASE("every CI word of each forge maps onto pending, success or failure") {
  SUBCASE("GitHub check runs and workflow runs") {
    for (const char* status : {"queued", "in_progress", "waiting", "requested", "pending", "someday"}) {
      CAPTURE(status);
      CHECK(GithubCheckRunState(status, "") == CiState::kPending);
    }
    for (const char* conclusion : {"success", "neutral", "skipped"}) {
      CAPTURE(conclusion);
      CHECK(GithubCheckRunState("completed", conclusion) == CiState::kSuccess);
    }
    for (const char* conclusion : {"failure", "cancelled", "timed_out", "action_required", "stale",
                                   "startup_failure", "", "brand_new_word"}) {
      CAPTURE(conclusion);
      CHECK(GithubCheckRunState("completed", conclusion) == CiState::kFailure);
    }
  }
  SUBCASE("GitHub and Gitea/Forgejo commit statuses") {
    CHECK(CommitStatusState("pending") == CiState::kPending);
    CHECK(CommitStatusState("success") == CiState::kSuccess);
    CHECK(CommitStatusState("skipped") == CiState::kSuccess);
    CHECK(CommitStatusState("failure") == CiState::kFailure);
    CHECK(CommitStatusState("error") == CiState::kFailure);
    CHECK(CommitStatusState("warning") == CiState::kFailure);
    CHECK(CommitStatusState("") == CiState::kPending);
    CHECK(CommitStatusState("brand_new_word") == CiState::kPending);
  }
  SUBCASE("GitLab pipelines and jobs") {
    for (const char* s : {"created", "waiting_for_resource", "preparing", "pending", "running", "scheduled",
                          "", "brand_new_word"}) {
      CAPTURE(s);
      CHECK(GitlabState(s) == CiState::kPending);
    }
    CHECK(GitlabState("success") == CiState::kSuccess);
    for (const char* s : {"failed", "canceled", "canceling", "skipped", "manual"}) {
      CAPTURE(s);
      CHECK(GitlabState(s) == CiState::kFailure);
    }
  }
  CHECK(std::string(CiStateName(CiState::kPending)) == "pending");
  CHECK(std::string(CiStateName(CiState::kSuccess)) == "success");
  CHECK(std::string(CiStateName(CiState::kFailure)) == "failure");
}

TEST_CASE("a commit's checks are the newest object of each name, in whatever order the forge lists them") {
  const nlohmann::json statuses = nlohmann::json::parse(R"([
      {"id": 5, "context": "build", "state": "failure"},
      {"id": 9, "context": "build", "state": "success", "target_url": "https://ci.example.com/9"},
      {"id": 7, "context": "test", "state": "pending"},
      {"id": 3, "context": "build", "state": "error"},
      {"id": 10, "context": "", "state": "failure"},
      {"id": 6, "context": "lint", "status": "success"},
      {"id": 6, "context": "lint", "status": "failure"}])");
  const auto checks = NewestPerName(statuses, [](const nlohmann::json& s) { return CommitStatusCheck(s, "abc"); });
  REQUIRE(checks.size() == 3);  // the nameless one is no check
  CHECK(checks[0] == CiCheck{"abc", "build", CiState::kSuccess, "success", "https://ci.example.com/9"});
  CHECK(checks[1] == CiCheck{"abc", "test", CiState::kPending, "pending", ""});
  CHECK(checks[2] == CiCheck{"abc", "lint", CiState::kSuccess, "success", ""});  // Gitea's REST word; first on ties
  const auto none = NewestPerName(statuses, [](const nlohmann::json&) -> std::optional<CiCheck> { return std::nullopt; });
  CHECK(none.empty());
  CHECK(NewestPerName(nlohmann::json::object(), [](const nlohmann::json& s) { return CommitStatusCheck(s, "abc"); })
            .empty());

  CHECK(IsCommitSha(kCheckRunSha));
  CHECK(IsCommitSha("ec26c3e"));
  CHECK_FALSE(IsCommitSha(""));
  CHECK_FALSE(IsCommitSha("EC26C3E"));
  CHECK_FALSE(IsCommitSha("main"));
}

TEST_CASE("a CI event describes itself for logs") {
  CiReported r;
  r.repo.full_name = "acme/widgets";
  r.checks.push_back({std::string(kCheckRunSha), "build", CiState::kSuccess, "success", ""});
  r.poll_shas.push_back(kWorkflowSha);
  CHECK(Describe(Event{r}) == "ci acme/widgets: build success @ec26c3e5; poll 3484a3fb");
}

}  // TEST_SUITE
