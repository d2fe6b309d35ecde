#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "forge/payload.h"
#include "forge/signature.h"
#include "forge/webhook_headers.h"
#include "fixture.h"
#include "signed_payload.h"

using namespace mergeyard;
using namespace mergeyard::forge;
using mergeyard::testing::ReadFixture;

namespace {

using mergeyard::testing::ParseSignedBody;

// A fixture file, signed, verified and parsed.
Event ParseSigned(ForgeKind route, const std::string& file, std::map<std::string, std::string> headers) {
  return ParseSignedBody(route, ReadFixture(file), std::move(headers), file);
}

Event Github(const std::string& file, const std::string& event) {
  return ParseSigned(ForgeKind::kGithub, "github/" + file, {{"X-GitHub-Event", event}, {"X-GitHub-Delivery", "d-1"}});
}
Event Gitlab(const std::string& file, const std::string& event) {
  return ParseSigned(ForgeKind::kGitlab, "gitlab/" + file, {{"X-Gitlab-Event", event}, {"Idempotency-Key", "k-1"}});
}
Event Gitea(const std::string& file, const std::string& event, const std::string& type) {
  return ParseSigned(ForgeKind::kGitea, "gitea/" + file,
                     {{"X-Gitea-Event", event}, {"X-Gitea-Event-Type", type}, {"X-Gitea-Delivery", "g-1"}});
}
Event Forgejo(const std::string& file, const std::string& event, const std::string& type) {
  return ParseSigned(ForgeKind::kGitea, "forgejo/" + file,
                     {{"X-Forgejo-Event", event}, {"X-Forgejo-Event-Type", type},
                      {"X-Gitea-Event", event}, {"X-Gitea-Event-Type", type},
                      {"X-Forgejo-Delivery", "f-1"}, {"X-Gitea-Delivery", "f-1"}});
}

std::string IgnoredReason(const Event& e) {
  REQUIRE(std::holds_alternative<Ignored>(e));
  return std::get<Ignored>(e).reason;
}

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("the GitHub documentation test vector verifies") {
  CHECK(VerifyGithubSignature("It's a Secret to Everybody", "Hello, World!",
                              "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  CHECK_FALSE(VerifyGithubSignature("It's a Secret to Everybody", "Hello, World!",
                                    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18"));
  CHECK_FALSE(VerifyGithubSignature("It's a Secret to Everybody", "Hello, World!", ""));
  CHECK_FALSE(VerifyGithubSignature("", "Hello, World!", "sha256="));
}

TEST_CASE("GitHub comment on a pull request becomes CommentCreated with installation") {
  Event e = Github("issue_comment.created.json", "issue_comment");
  REQUIRE(std::holds_alternative<CommentCreated>(e));
  const auto& c = std::get<CommentCreated>(e);
  CHECK(c.repo.full_name == "all-contributors/all-contributors-bot");
  CHECK(c.repo.installation_id == 11111);
  CHECK(c.pr == 1);
  CHECK(c.author == "jakebolam");
  CHECK(c.comment_id == 453012966);
  CHECK_FALSE(c.author_is_bot);
  CHECK(c.body.find("@all-contributors please add") == 0);
  CHECK(c.body.find("\xF0\x9F\xA4\x96") != std::string::npos);  // the robot emoji survives
}

TEST_CASE("GitHub comments on plain issues are ignored") {
  CHECK(IgnoredReason(Github("issue_comment.created.on-issue.json", "issue_comment")) == "comment on an issue");
}

TEST_CASE("GitHub pull request events map to updated, closed and merged") {
  CHECK(IgnoredReason(Github("pull_request.opened.json", "pull_request")) == "pull request opened");
  Event sync = Github("pull_request.synchronize.json", "pull_request");
  REQUIRE(std::holds_alternative<PullRequestUpdated>(sync));
  CHECK(std::get<PullRequestUpdated>(sync).pr == 2);
  CHECK(std::get<PullRequestUpdated>(sync).head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
  CHECK(std::get<PullRequestUpdated>(sync).base_branch == "master");
  Event closed = Github("pull_request.closed.json", "pull_request");
  REQUIRE(std::holds_alternative<PullRequestClosed>(closed));
  CHECK_FALSE(std::get<PullRequestClosed>(closed).merged);
  Event merged = Github("pull_request.closed.merged.json", "pull_request");
  REQUIRE(std::holds_alternative<PullRequestClosed>(merged));
  CHECK(std::get<PullRequestClosed>(merged).merged);
  CHECK(std::get<PullRequestClosed>(merged).pr == 62);
  CHECK(std::get<PullRequestClosed>(merged).merge_commit == "473d70eb7c50a54ae62bf9b124efa1c3eb245be8");
  CHECK(std::get<PullRequestClosed>(merged).base_branch == "main");
}

TEST_CASE("GitHub pushes to branches are kept and tag deletions ignored") {
  Event push = Github("push.json", "push");
  REQUIRE(std::holds_alternative<Push>(push));
  CHECK(std::get<Push>(push).branch == "main");
  CHECK(std::get<Push>(push).after == "366701fde727cb7a9e7f21eb88264f59f6f9b89c");
  CHECK(std::get<Push>(push).repo.full_name == "woodpecker-ci/woodpecker");
  CHECK_FALSE(std::get<Push>(push).config_changed);
  CHECK(IgnoredReason(Github("push.tag-deleted.json", "push")) == "push to refs/tags/simple-tag");
}

TEST_CASE("GitHub check and status events are CI verdicts, not ignored") {
  CHECK(std::holds_alternative<CiReported>(Github("check_suite.completed.json", "check_suite")));
  CHECK(std::holds_alternative<CiReported>(Github("check_run.completed.json", "check_run")));
  CHECK(std::holds_alternative<CiReported>(Github("status.json", "status")));
}

TEST_CASE("GitLab note on a merge request becomes CommentCreated with the head") {
  Event e = Gitlab("note.merge_request.json", "Note Hook");
  REQUIRE(std::holds_alternative<CommentCreated>(e));
  const auto& c = std::get<CommentCreated>(e);
  CHECK(c.repo.full_name == "gitlab-org/gitlab-test");
  CHECK(c.repo.id == 5);
  CHECK(c.pr == 1);
  CHECK(c.body == "This MR needs work.");
  CHECK(c.author == "root");
  CHECK(c.author_id == 1);
  CHECK(c.head_sha == "562e173be03b8ff2efb05345d12df18815438a4b");
  CHECK(c.base_branch == "markdown");
}

TEST_CASE("GitLab notes on issues are ignored") {
  CHECK(IgnoredReason(Gitlab("note.issue.json", "Note Hook")) == "comment on Issue");
}

TEST_CASE("GitLab merge request hooks map by action") {
  CHECK(IgnoredReason(Gitlab("merge_request.open.json", "Merge Request Hook")) == "merge request open");
  Event up = Gitlab("merge_request.update.json", "Merge Request Hook");
  REQUIRE(std::holds_alternative<PullRequestUpdated>(up));
  CHECK(std::get<PullRequestUpdated>(up).pr == 3);
  CHECK(std::get<PullRequestUpdated>(up).head_sha == "c136499ec574e1034b24c5d306de9acda3005367");
  CHECK(std::get<PullRequestUpdated>(up).repo.full_name == "anbraten/woodpecker");
  Event merged = Gitlab("merge_request.merge.json", "Merge Request Hook");
  REQUIRE(std::holds_alternative<PullRequestClosed>(merged));
  CHECK(std::get<PullRequestClosed>(merged).merged);
  CHECK(std::get<PullRequestClosed>(merged).merge_commit == "43411b53d670203e887c4985c4e58e8e6b7c109e");
  Event closed = Gitlab("merge_request.close.json", "Merge Request Hook");
  REQUIRE(std::holds_alternative<PullRequestClosed>(closed));
  CHECK_FALSE(std::get<PullRequestClosed>(closed).merged);
}

TEST_CASE("GitLab push names the branch and the new tip") {
  Event e = Gitlab("push.json", "Push Hook");
  REQUIRE(std::holds_alternative<Push>(e));
  CHECK(std::get<Push>(e).branch == "master");
  CHECK(std::get<Push>(e).after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
  CHECK(std::get<Push>(e).repo.full_name == "mike/diaspora");
  // total_commits_count (4) is more than the commits listed (2): the file may have changed unseen
  CHECK(std::get<Push>(e).config_changed);
}

TEST_CASE("Gitea comment on a pull request carries head and base") {
  Event e = Gitea("issue_comment.created.json", "issue_comment", "pull_request_comment");
  REQUIRE(std::holds_alternative<CommentCreated>(e));
  const auto& c = std::get<CommentCreated>(e);
  CHECK(c.repo.full_name == "Aneesh-Hegde/gitea-webhook");
  CHECK(c.pr == 3);
  CHECK(c.author == "Aneesh-Hegde");
  CHECK(c.head_sha == "cabcb9513308844c015a6b3dd804c5618875b447");
  CHECK(c.base_branch == "dummy");
  CHECK(c.body == "Thanks for the fix! Could you also consider this edge case?");
}

TEST_CASE("Gitea comments on plain issues are ignored") {
  CHECK(IgnoredReason(Gitea("issue_comment.created.on-issue.json", "issue_comment", "issue_comment")) ==
        "comment on an issue");
}

TEST_CASE("Gitea pull request events map to updated, closed and merged") {
  CHECK(IgnoredReason(Gitea("pull_request.opened.json", "pull_request", "pull_request")) == "pull request opened");
  Event sync = Gitea("pull_request.synchronized.json", "pull_request", "pull_request_sync");
  REQUIRE(std::holds_alternative<PullRequestUpdated>(sync));
  CHECK(std::get<PullRequestUpdated>(sync).pr == 2);
  CHECK(std::get<PullRequestUpdated>(sync).head_sha == "788ed8d02d3b7fcfcf6386dbcbca696aa1d4dc25");
  Event closed = Gitea("pull_request.closed.json", "pull_request", "pull_request");
  REQUIRE(std::holds_alternative<PullRequestClosed>(closed));
  CHECK_FALSE(std::get<PullRequestClosed>(closed).merged);
  Event merged = Gitea("pull_request.closed.merged.json", "pull_request", "pull_request");
  REQUIRE(std::holds_alternative<PullRequestClosed>(merged));
  CHECK(std::get<PullRequestClosed>(merged).merged);
  CHECK(std::get<PullRequestClosed>(merged).merge_commit == "f2440f050054df0f8ecabcace648f1683509064c");
}

TEST_CASE("Gitea push names the branch") {
  Event e = Gitea("push.json", "push", "push");
  REQUIRE(std::holds_alternative<Push>(e));
  CHECK(std::get<Push>(e).branch == "main");
  CHECK(std::get<Push>(e).after == "29be01c073851cf0db0c6a466e396b725a670453");
  CHECK(std::get<Push>(e).repo.full_name == "Test-CI/multi-line-secrets");
}

TEST_CASE("Forgejo posts to the Gitea route and is told apart by its headers") {
  const std::string body = ReadFixture("forgejo/push.json");
  std::map<std::string, std::string> h = {{"X-Forgejo-Event", "push"}, {"X-Forgejo-Event-Type", "push"},
                                          {"X-Gitea-Event", "push"}, {"X-Forgejo-Delivery", "fd-9"},
                                          {"X-Gitea-Delivery", "fd-9"},
                                          {"X-Forgejo-Signature", HmacSha256Hex(testing::kFixtureSecret, body)}};
  const WebhookMeta meta = ReadWebhookHeaders(
      ForgeKind::kGitea, [&](const std::string& n) { return h.count(n) ? h[n] : ""; }, body);
  CHECK(meta.kind == ForgeKind::kForgejo);
  CHECK(meta.delivery_id == "fd-9");
  CHECK(VerifyWebhook(meta, testing::kFixtureSecret, body));
  Event e = Forgejo("push.json", "push", "push");
  REQUIRE(std::holds_alternative<Push>(e));
  CHECK(std::get<Push>(e).branch == "fdsafdsa");
  CHECK(std::get<Push>(e).before == "0000000000000000000000000000000000000000");
  CHECK(IgnoredReason(Forgejo("pull_request.reopened.json", "pull_request", "pull_request")) ==
        "pull request reopened");
}

TEST_CASE("GitLab without an idempotency key falls back to the event UUID, then a body hash") {
  std::map<std::string, std::string> h = {{"X-Gitlab-Event-UUID", "uuid-1"}};
  auto lookup = [&](const std::string& n) { return h.count(n) ? h[n] : std::string(); };
  CHECK(ReadWebhookHeaders(ForgeKind::kGitlab, lookup, "{}").delivery_id == "uuid-1");
  h.clear();
  const std::string a = ReadWebhookHeaders(ForgeKind::kGitlab, lookup, "{\"a\":1}").delivery_id;
  CHECK(a.rfind("sha256:", 0) == 0);
  CHECK(a != ReadWebhookHeaders(ForgeKind::kGitlab, lookup, "{\"a\":2}").delivery_id);
}

TEST_CASE("malformed bodies and unknown events are errors, not crashes") {
  auto bad = ParsePayload(ForgeKind::kGithub, "push", "{\"ref\": ");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kInvalid);
  auto arr = ParsePayload(ForgeKind::kGitlab, "Push Hook", "[1,2]");
  REQUIRE_FALSE(arr.ok());
  CHECK(arr.error().code == ErrorCode::kInvalid);
  auto unknown = ParsePayload(ForgeKind::kGithub, "sponsorship", "{}");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::kNotFound);
  auto missing = ParsePayload(ForgeKind::kGithub, "issue_comment",
                              R"({"action":"created","issue":{"pull_request":{}}})");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kInvalid);
  auto wrong_types = ParsePayload(ForgeKind::kGitea, "push", R"({"ref":7,"after":[]})");
  CHECK(wrong_types.ok());  // no string ref: not a branch push, ignored
}

TEST_CASE("a push whose commits touch the config file says so") {
  const std::string body = R"({"ref":"refs/heads/main","before":"a","after":"b",
    "repository":{"full_name":"o/r"},"commits":[{"modified":["x"]},{"added":[".mergeyard.yml"]}]})";
  auto e = ParsePayload(ForgeKind::kGithub, "push", body);
  REQUIRE(e.ok());
  CHECK(std::get<Push>(*e).config_changed);
}

TEST_CASE("every fixture file parses without error under the header its name implies") {
  int files = 0;
  for (const char* forge_dir : {"github", "gitlab", "gitea", "forgejo"}) {
    const auto dir = std::filesystem::path(mergeyard::testing::FixturesDir()) / "webhooks" / forge_dir;
    REQUIRE(std::filesystem::is_directory(dir));
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.path().extension() != ".json") continue;
      CAPTURE(name);
      const std::string event = name.substr(0, name.find('.'));
      const std::string f = std::string(forge_dir) + "/" + name;
      const std::string body = ReadFixture(f);
      Result<Event> parsed = Invalid("unset");
      if (std::string(forge_dir) == "github") {
        parsed = ParsePayload(ForgeKind::kGithub, event, body);
      } else if (std::string(forge_dir) == "gitlab") {
        const std::map<std::string, std::string> hooks = {
            {"note", "Note Hook"}, {"merge_request", "Merge Request Hook"}, {"push", "Push Hook"},
            {"pipeline", "Pipeline Hook"}, {"build", "Job Hook"}};
        REQUIRE(hooks.count(event));
        parsed = ParsePayload(ForgeKind::kGitlab, hooks.at(event), body);
      } else {
        std::string type = event;
        if (name.find("synchronized") != std::string::npos) type = "pull_request_sync";
        if (event == "issue_comment" && name.find("on-issue") == std::string::npos) type = "pull_request_comment";
        parsed = ParsePayload(forge_dir == std::string("forgejo") ? ForgeKind::kForgejo : ForgeKind::kGitea, type, body);
      }
      CHECK_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().ToString()));
      ++files;
    }
  }
  CHECK(files == 33);
}

}  // TEST_SUITE
