// GitLab projects in subgroups ("group/subgroup/project"): the path is one
// repository name everywhere — webhook parsing, the REST driver (which sends
// it URL-encoded as the project id), and the clone URL the git layer uses.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "fakes/fake_clients.h"
#include "forge/payload.h"
#include "forge/setup.h"

using namespace mergeyard;
using namespace mergeyard::forge;
using namespace mergeyard::testing;

namespace {

constexpr const char* kProject = "platform/backend/widgets";

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("a GitLab webhook from a project in a subgroup names the full project path") {
  nlohmann::json note = {
      {"object_kind", "note"},
      {"user", {{"id", 7}, {"username", "wendy"}}},
      {"project", {{"id", 42}, {"path_with_namespace", kProject}}},
      {"object_attributes", {{"id", 900}, {"note", "!integrate"}, {"noteable_type", "MergeRequest"}, {"action", "create"}}},
      {"merge_request", {{"iid", 3}, {"target_branch", "main"}, {"last_commit", {{"id", std::string(40, 'a')}}}}}};
  RepoRef repo;
  auto event = ParsePayload(ForgeKind::kGitlab, "Note Hook", note.dump(), &repo);
  REQUIRE(event.ok());
  CHECK(repo.full_name == kProject);
  REQUIRE(std::holds_alternative<CommentCreated>(*event));
  CHECK(std::get<CommentCreated>(*event).repo.full_name == kProject);
  CHECK(std::get<CommentCreated>(*event).pr == 3);
}

TEST_CASE("the GitLab driver reads and writes a merge request of a project in a subgroup") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGitlab, kProject);
  ForgeClient c = ConnectTo(fake, clock);
  fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 2\n"}});
  const std::string head = fake.Commit("feature", {{"f.txt", "feature\n"}});
  fake.AddPull({7, "feature"});
  fake.SetPermission("wendy", "write");

  auto pr = c.api->GetPullRequest(kProject, 7);
  REQUIRE_MESSAGE(pr.ok(), (pr.ok() ? "" : pr.error().ToString()));
  CHECK(pr->head_sha == head);
  CHECK(*c.api->GetPermission(kProject, "wendy", fake.UserId("wendy")) == Permission::kWrite);
  auto file = c.api->GetFile(kProject, ".mergeyard.yml", "main");
  REQUIRE(file.ok());
  CHECK(file->content == "queue:\n  target_batch_size: 2\n");
  REQUIRE(c.api->CreateComment(kProject, 7, "queued").ok());
  REQUIRE(fake.Comments(7).size() == 1);
  CommitStatus st;
  st.sha = head;
  st.state = StatusState::kSuccess;
  REQUIRE(c.api->SetStatus(kProject, st).ok());
  REQUIRE(fake.Statuses().size() == 1);
  CHECK(fake.Statuses()[0].sha == head);
  // A project of the same name one level up is another project.
  auto other = c.api->GetPullRequest("platform/widgets", 7);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code == ErrorCode::kNotFound);
}

TEST_CASE("the clone URL of a GitLab project in a subgroup keeps every segment") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGitlab, kProject);
  ForgeSettings s;
  s.gitlab_url = fake.base_url();  // ".../api/v4": the web origin is what precedes /api/
  s.gitlab_token = fake.token();
  ForgeDirectory dir;
  auto clients = ConnectForges(s, clock, dir);
  REQUIRE(clients.ok());
  auto access = (*clients)->GitAccessFor(kProject, ForgeKind::kGitlab);
  REQUIRE(access.ok());
  const std::string origin = fake.base_url().substr(0, fake.base_url().find("/api/"));
  CHECK(access->url == origin + "/platform/backend/widgets.git");
  CHECK(access->token == fake.token());
  CHECK(access->kind == ForgeKind::kGitlab);
}

}  // TEST_SUITE
