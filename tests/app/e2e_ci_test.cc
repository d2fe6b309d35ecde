// External CI (`checks`, DESIGN.md section 7) end to end: a real `mergeyard
// serve` process and the local forge of each flavour running its own CI on
// the batch branches mergeyard pushes. The repository has no pipeline: the
// forge's checks `build` and `test` alone decide, failing when the tree holds
// bad.txt. Verdicts arrive by the flavour's webhooks or, when those are
// dropped, by polling; a check that never reports times out; a restart
// while a batch waits is decided by the start-up poll; an abandoned batch
// has its CI cancelled where the forge can.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <set>

#include "e2e_ci_harness.h"

using namespace mergeyard::testing;

namespace {

std::map<std::string, std::string> Files(int n, bool bad = false) {
  std::map<std::string, std::string> files = {{"f" + std::to_string(n) + ".txt", "pr " + std::to_string(n) + "\n"}};
  if (bad) files["bad.txt"] = "breaks the build (#" + std::to_string(n) + ")\n";
  return files;
}

// Pull requests #1..#n (those in `bad` adding bad.txt), each `!integrate`d.
void OpenAndQueue(CiE2e& e, int n, const std::set<int>& bad) {
  for (int i = 1; i <= n; ++i) e.OpenPull(i, Files(i, bad.count(i) > 0));
  for (int i = 1; i <= n; ++i) REQUIRE(e.Comment(i, "!integrate") == 202);
}

// Every good pull request's file is on main, no bad one's.
void CheckMain(CiE2e& e, int n, const std::set<int>& bad) {
  const auto files = e.FilesOnMain();
  for (int i = 1; i <= n; ++i) {
    CAPTURE(i);
    CHECK(Contains(files, "f" + std::to_string(i) + ".txt") == !bad.count(i));
  }
  CHECK_FALSE(Contains(files, "bad.txt"));
}

// The kick of `pr` names the failed check `name` and links that check's own
// page, as the forge's CI reported it on the batch commit.
void CheckKickLinksFailedCheck(CiE2e& e, std::int64_t pr, const std::string& name) {
  const std::string kick = e.StatusComment(pr);
  CAPTURE(kick);
  CHECK(kick.find("Failed check `" + name + "`") != std::string::npos);
  const std::string link = e.KickLink(pr);
  REQUIRE_FALSE(link.empty());
  const auto pages = e.FailedCheckPages(name);
  std::string listed;
  for (const auto& p : pages) listed += p + " ";
  CAPTURE(listed);
  CHECK(Contains(pages, link));
}

// Merged/kicked rows in the history: each pull request ended exactly once.
void CheckEndedOnce(CiE2e& e, int n, const std::set<int>& bad) {
  for (int i = 1; i <= n; ++i) {
    CAPTURE(i);
    CHECK(e.Ends("merged", i) == (bad.count(i) ? 0 : 1));
    CHECK(e.Ends("kicked", i) == (bad.count(i) ? 1 : 0));
  }
}

// --- 1. webhooks decide ---------------------------------------------------

// Three pull requests, #3 bad, in one batch: the batch fails on the CI's
// webhooks, is bisected, #1 and #2 land and #3 is kicked with the link of its
// failed `build`. Polling is too slow to matter: every verdict came by webhook.
void GoodAndBadByWebhooks(FakeFlavor flavor, bool check_runs = true, const std::string& required = "[build, test]",
                          const std::string& failing = "build") {
  CiE2eSetup setup;
  setup.config = ChecksYaml(3, required);
  setup.ci.check_runs = check_runs;
  // Verdicts that come before the batch waits are kept for it; a short CI
  // delay still lets the test watch the batch wait.
  setup.ci.delay_ms = 300;
  setup.poll_interval = "10m";
  setup.safety_poll_interval = "10m";
  CiE2e e(flavor, setup);
  const std::set<int> bad = {3};
  OpenAndQueue(e, 3, bad);
  INFO(e.serve().Log());
  REQUIRE(E2e::WaitFor([&] { return e.Merged(1) && e.Merged(2) && e.Kicked(3); }));
  CheckMain(e, 3, bad);
  CheckKickLinksFailedCheck(e, 3, failing);
  CheckEndedOnce(e, 3, bad);
  // The batch of three and #3 alone failed, #1 and #2 passed: all by webhook.
  CHECK(e.Verdicts("webhook", "fail") >= 1);
  CHECK(e.Verdicts("webhook", "pass") >= 1);
  CHECK(e.Verdicts("poll", "pass") + e.Verdicts("poll", "fail") == 0);
  CHECK(e.serve().Stop() == 0);
}

}  // namespace

TEST_SUITE("e2e-ci") {

TEST_CASE("checks on GitHub check runs: good pull requests land and the bad one is kicked with its check's page") {
  GoodAndBadByWebhooks(FakeFlavor::kGithub);
}

TEST_CASE("checks on GitHub commit statuses: good pull requests land and the bad one is kicked with its status's page") {
  GoodAndBadByWebhooks(FakeFlavor::kGithub, /*check_runs=*/false);
}

TEST_CASE("checks on GitLab jobs: good merge requests land and the bad one is kicked with its job's page") {
  GoodAndBadByWebhooks(FakeFlavor::kGitlab);
}

TEST_CASE("checks on GitLab `pipeline`: the whole pipeline as the required check; the kick links the pipeline") {
  GoodAndBadByWebhooks(FakeFlavor::kGitlab, true, "[pipeline]", "pipeline");
}

TEST_CASE("checks on Gitea statuses: good pull requests land and the bad one is kicked with its status's page") {
  GoodAndBadByWebhooks(FakeFlavor::kGitea);
}

// --- 2. dropped webhooks: polling decides -----------------------------------

TEST_CASE("checks with every CI webhook dropped: polling decides; the good pull request lands and the bad one is kicked") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(FlavorName(flavor));
    CiE2eSetup setup;
    setup.config = ChecksYaml(1);
    setup.ci.send_webhooks = false;
    CiE2e e(flavor, setup);
    const std::set<int> bad = {2};
    OpenAndQueue(e, 2, bad);
    INFO(e.serve().Log());
    REQUIRE(E2e::WaitFor([&] { return e.Merged(1) && e.Kicked(2); }));
    CheckMain(e, 2, bad);
    CheckKickLinksFailedCheck(e, 2, "build");
    CheckEndedOnce(e, 2, bad);
    CHECK(e.Verdicts("poll", "pass") == 1);
    CHECK(e.Verdicts("poll", "fail") == 1);
    CHECK(e.Verdicts("webhook", "pass") + e.Verdicts("webhook", "fail") == 0);
    CHECK(e.serve().Stop() == 0);
  }
}

// --- 3. a check that never reports ------------------------------------------

TEST_CASE("checks: a required check that never reports fails the batch at the timeout and its CI is cancelled") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(FlavorName(flavor));
    CiE2eSetup setup;
    setup.config = ChecksYaml(1, "[build, test]", "3s");
    setup.ci.never_report = {"test"};
    CiE2e e(flavor, setup);
    const std::string start = e.fake().Tip("main");
    OpenAndQueue(e, 1, {});
    INFO(e.serve().Log());
    REQUIRE(E2e::WaitFor([&] { return e.Kicked(1); }));
    const std::string kick = e.StatusComment(1);
    CAPTURE(kick);
    CHECK(kick.find("Required check `test` did not report within 3s") != std::string::npos);
    CHECK(e.fake().Tip("main") == start);
    CHECK(e.Ends("kicked", 1) == 1);
    CHECK(e.Verdicts("timeout", "fail") == 1);
    // `build` passed on the batch commit; `test` is still pending there.
    const auto runs = e.fake().CiRuns();
    REQUIRE(runs.size() == 1);
    bool build_passed = false, test_pending = false;
    for (const auto& c : e.ForgeChecks(runs[0])) {
      build_passed = build_passed || (c.name == "build" && c.state == "success");
      test_pending = test_pending || (c.name == "test" && c.state == "pending");
    }
    CHECK(build_passed);
    if (flavor == FakeFlavor::kGitea) {
      CHECK(test_pending);
      CHECK(e.fake().CiCancelled().empty());  // Gitea cannot cancel
    } else {
      // The failed batch's CI still ran: it was cancelled.
      REQUIRE(E2e::WaitFor([&] { return !e.fake().CiCancelled().empty(); }, 30000));
      CHECK(e.fake().CiCancelled() == runs);
    }
    CHECK(e.serve().Stop() == 0);
  }
}

// --- 4. a restart while a batch waits ---------------------------------------

TEST_CASE("checks: stopped while a batch waits for CI and restarted; the start-up poll lands it once") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(FlavorName(flavor));
    CiE2eSetup setup;
    setup.config = ChecksYaml(1);
    setup.ci.delay_ms = 2000;
    setup.ci.send_webhooks = false;
    // Only the poll at start-up can decide: the next would come in 10m.
    setup.poll_interval = "10m";
    setup.safety_poll_interval = "10m";
    CiE2e e(flavor, setup);
    const std::string start = e.fake().Tip("main");
    OpenAndQueue(e, 1, {});
    INFO(e.serve().Log());
    REQUIRE(E2e::WaitFor([&] { return e.fake().CiRuns().size() == 1; }, 30000));
    const std::string batch = e.fake().CiRuns()[0];
    // The batch waits on its checks, none reported yet, when mergeyard stops.
    REQUIRE(E2e::WaitFor([&] { return e.WaitsOnChecks(batch, {"build", "test"}); }, 30000));
    REQUIRE(e.serve().Stop() == 0);
    CHECK_FALSE(e.Merged(1));
    // The CI finishes while mergeyard is down, and tells no one.
    REQUIRE(E2e::WaitFor([&] { return e.Reported(batch, {"build", "test"}); }, 30000));
    REQUIRE_MESSAGE(e.serve().Start(), "mergeyard serve did not restart:\n" << e.serve().Log());
    REQUIRE(E2e::WaitFor([&] { return e.Merged(1); }, 30000));
    // The batch tested before the restart landed, once, by fast-forward.
    CHECK(e.fake().Tip("main") == batch);
    const auto moves = e.MainHistory();  // every commit main pointed at
    const auto from = std::find(moves.begin(), moves.end(), start);
    REQUIRE(from != moves.end());
    CHECK(std::vector<std::string>(from, moves.end()) == std::vector<std::string>{start, batch});
    CHECK(e.fake().CiRuns() == std::vector<std::string>{batch});      // nothing was rebuilt
    CHECK(e.Ends("merged", 1) == 1);
    CHECK(Contains(e.FilesOnMain(), "f1.txt"));
    CHECK(e.Verdicts("poll", "pass") == 1);
    CHECK(e.fake().CiCancelled().empty());
    CHECK(e.serve().Stop() == 0);
  }
}

// --- 5. an abandoned batch's CI is cancelled --------------------------------

namespace {

// #1 and #2 test together on a slow CI run; #2 leaves the batch (`leave`);
// the batch is rebuilt with #1 alone (its CI fast), which lands. The
// abandoned batch's branch is deleted and its CI cancelled where the forge can
// (GitHub, GitLab). `why`, when given, is what #2's status comment says.
void AbandonedBatch(FakeFlavor flavor, const std::function<void(CiE2e&)>& leave, const std::string& why = "") {
  CiE2eSetup setup;
  setup.config = ChecksYaml(2, "[build, test]", "60s", "1s");
  auto runs = std::make_shared<std::atomic<int>>(0);
  setup.ci.delay_for = [runs](const std::string&) { return (*runs)++ == 0 ? 60000 : 200; };
  CiE2e e(flavor, setup);
  OpenAndQueue(e, 2, {});
  INFO(e.serve().Log());
  INFO("comments on #2:\n" << e.AllComments(2));
  REQUIRE(E2e::WaitFor([&] { return e.fake().CiRuns().size() == 1; }, 30000));
  const std::string slow = e.fake().CiRuns()[0];
  REQUIRE(E2e::WaitFor([&] { return e.WaitsOnChecks(slow, {"build", "test"}); }, 30000));
  REQUIRE(e.Batch(slow)["prs"] == nlohmann::json::array({1, 2}));
  leave(e);
  REQUIRE(E2e::WaitFor([&] { return e.Merged(1) && e.Ends("cancelled", 2) == 1; }));
  if (!why.empty()) {
    CHECK(E2e::WaitFor([&] { return e.Removed(2); }, 15000));
    CHECK(e.StatusComment(2).find(why) != std::string::npos);
  }
  const auto files = e.FilesOnMain();
  CHECK(Contains(files, "f1.txt"));
  CHECK_FALSE(Contains(files, "f2.txt"));
  CHECK(e.Ends("merged", 1) == 1);
  CHECK(e.Ends("merged", 2) == 0);
  const auto ran = e.fake().CiRuns();
  REQUIRE(ran.size() == 2);
  CHECK(e.fake().Tip("main") == ran[1]);  // #1's rebuilt batch landed
  // The abandoned batch's branch is gone.
  CHECK(E2e::WaitFor([&] { return !Contains(e.BatchBranchCommits(), slow); }, 30000));
  if (flavor == FakeFlavor::kGitea) {
    CHECK(e.fake().CiCancelled().empty());     // nothing to cancel on Gitea
    CHECK_FALSE(e.Reported(slow, {"build"}));  // its run goes on
  } else {
    // Only the abandoned batch's run was cancelled; the forge says so.
    REQUIRE(E2e::WaitFor([&] { return !e.fake().CiCancelled().empty(); }, 30000));
    CHECK(e.fake().CiCancelled() == std::vector<std::string>{slow});
    CHECK(E2e::WaitFor([&] { return e.Reported(slow, {"build", "test"}); }, 30000));
  }
  CHECK(e.serve().Stop() == 0);
}

void CancelByComment(CiE2e& e) { REQUIRE(e.Comment(2, "!integrate cancel") == 202); }

}  // namespace

TEST_CASE("checks on GitHub: `!integrate cancel` abandons a batch waiting on CI; its workflow run is cancelled") {
  AbandonedBatch(FakeFlavor::kGithub, CancelByComment);
}

TEST_CASE("checks on GitHub: new commits abandon a batch waiting on CI; its workflow run is cancelled") {
  AbandonedBatch(
      FakeFlavor::kGithub,
      [](CiE2e& e) {
        const std::string head = e.fake().Commit("pr2", {{"f2.txt", "pr 2, again\n"}});
        const nlohmann::json body = {
            {"action", "synchronize"}, {"number", 2},
            {"pull_request", {{"number", 2}, {"state", "open"}, {"draft", false}, {"merged", false},
                              {"head", {{"sha", head}, {"ref", "pr2"}}}, {"base", {{"ref", "main"}}}}},
            {"repository", {{"full_name", kE2eRepo}, {"id", 1}}}};
        REQUIRE(e.fake().SendWebhook("pull_request", body.dump()) == 202);
      },
      "New commits were pushed");
}

TEST_CASE("checks on GitLab: `!integrate cancel` abandons a batch waiting on CI; its pipeline is cancelled") {
  AbandonedBatch(FakeFlavor::kGitlab, CancelByComment);
}

TEST_CASE("checks on Gitea: `!integrate cancel` abandons a batch waiting on CI; nothing to cancel and nothing breaks") {
  AbandonedBatch(FakeFlavor::kGitea, CancelByComment);
}

// The engine's report of the removal is the answer to the cancel: nothing
// the command wrote overtakes it.
TEST_CASE("`!integrate cancel` of a batch waiting on CI leaves the status comment saying it was removed") {
  AbandonedBatch(FakeFlavor::kGithub, CancelByComment, "Cancelled by @wendy");
}

}  // TEST_SUITE
