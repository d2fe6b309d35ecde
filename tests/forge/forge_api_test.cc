#include <doctest/doctest.h>

#include "fakes/fake_clients.h"

using namespace mergeyard;
using namespace mergeyard::forge;
using namespace mergeyard::testing;

namespace {

const char* Name(FakeFlavor f) {
  return f == FakeFlavor::kGithub ? "github" : f == FakeFlavor::kGitlab ? "gitlab" : "gitea";
}

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("every driver reads pull requests, permissions and files from the forge") {
  SystemClock clock;
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    FakeForge fake(flavor, "acme/widgets");
    ForgeClient c = ConnectTo(fake, clock);
    fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 2\n\n"}});
    const std::string head = fake.Commit("feature", {{"f.txt", "feature\n"}});
    fake.AddPull({7, "feature", "main", true, false, "carol", {"ready"}});
    auto pr = c.api->GetPullRequest("acme/widgets", 7);
    REQUIRE_MESSAGE(pr.ok(), (pr.ok() ? "" : pr.error().ToString()));
    CHECK(pr->open);
    CHECK_FALSE(pr->merged);
    CHECK(pr->draft);
    CHECK(pr->head_sha == head);
    CHECK(pr->base_branch == "main");
    CHECK(pr->author == "carol");
    CHECK(pr->mergeable == std::optional<bool>(true));
    CHECK(pr->labels == std::vector<std::string>{"ready"});

    fake.SetPermission("wendy", "write");
    fake.SetPermission("mona", "maintain");
    fake.SetPermission("rita", "read");
    CHECK(*c.api->GetPermission("acme/widgets", "wendy", fake.UserId("wendy")) == Permission::kWrite);
    CHECK(*c.api->GetPermission("acme/widgets", "mona", fake.UserId("mona")) == Permission::kWrite);
    CHECK(*c.api->GetPermission("acme/widgets", "rita", fake.UserId("rita")) == Permission::kRead);
    CHECK(*c.api->GetPermission("acme/widgets", "eve", fake.UserId("eve")) == Permission::kNone);

    auto file = c.api->GetFile("acme/widgets", ".mergeyard.yml", "main");
    REQUIRE(file.ok());
    CHECK(file->content == "queue:\n  target_batch_size: 2\n\n");  // exact bytes
    CHECK(file->blob_id.size() == 40);
    auto none = c.api->GetFile("acme/widgets", ".mergeyard.yml", "feature-without-branch");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == ErrorCode::kNotFound);
  }
}

TEST_CASE("every driver comments, edits, sets statuses, labels and closes") {
  SystemClock clock;
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    FakeForge fake(flavor, "acme/widgets");
    ForgeClient c = ConnectTo(fake, clock);
    const std::string head = fake.Commit("feature", {{"f.txt", "feature\n"}});
    fake.AddPull({3, "feature"});
    auto id = c.api->CreateComment("acme/widgets", 3, "first");
    REQUIRE(id.ok());
    REQUIRE(c.api->EditComment("acme/widgets", 3, *id, "second").ok());
    auto comments = fake.Comments(3);
    REQUIRE(comments.size() == 1);
    CHECK(comments[0].body == "second");
    CHECK(comments[0].edits == 1);
    CommitStatus st;
    st.sha = head;
    st.state = StatusState::kRunning;
    st.description = "Testing";
    st.target_url = "http://dash/x";
    REQUIRE(c.api->SetStatus("acme/widgets", st).ok());
    auto statuses = fake.Statuses();
    REQUIRE(statuses.size() == 1);
    CHECK(statuses[0].sha == head);
    CHECK(statuses[0].state == (flavor == FakeFlavor::kGitlab ? "running" : "pending"));
    CHECK(statuses[0].context == "mergeyard");
    CHECK(statuses[0].target_url == "http://dash/x");
    if (flavor != FakeFlavor::kGitlab) REQUIRE(c.api->AddLabel("acme/widgets", 3, "merged").ok());
    else REQUIRE(c.api->AddLabel("acme/widgets", 3, "merged").ok());
    CHECK(fake.Labels(3) == std::vector<std::string>{"merged"});
    REQUIRE(c.api->ClosePullRequest("acme/widgets", 3).ok());
    CHECK(fake.IsClosed(3));
    CHECK_FALSE(c.api->GetPullRequest("acme/widgets", 3)->open);
  }
}

TEST_CASE("a GitHub App reports check runs instead of commit statuses, updating one per name") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  ForgeClient c = ConnectTo(fake, clock, /*check_runs=*/true);
  const std::string head = fake.Commit("feature", {{"f.txt", "x\n"}});
  CommitStatus st;
  st.sha = head;
  st.state = StatusState::kRunning;
  st.description = "Testing in batch 4";
  st.summary = "step unit: running";
  REQUIRE(c.api->SetStatus("acme/widgets", st).ok());
  st.state = StatusState::kSuccess;
  REQUIRE(c.api->SetStatus("acme/widgets", st).ok());
  auto statuses = fake.Statuses();
  REQUIRE(statuses.size() == 2);
  CHECK(statuses[0].check_run);
  CHECK(statuses[0].state == "in_progress");
  CHECK(statuses[1].state == "completed/success");
  CHECK(statuses[1].sha == head);
  const auto reqs = fake.Requests();
  CHECK(std::count(reqs.begin(), reqs.end(), "POST /repos/acme/widgets/check-runs") == 1);
}

TEST_CASE("a merged pull request is seen as merged once the target contains its head") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGitea, "acme/widgets");
  ForgeClient c = ConnectTo(fake, clock);
  const std::string head = fake.Commit("feature", {{"f.txt", "x\n"}});
  fake.AddPull({4, "feature"});
  CHECK_FALSE(c.api->GetPullRequest("acme/widgets", 4)->merged);
  fake.SetBranch("main", head);
  CHECK(c.api->GetPullRequest("acme/widgets", 4)->merged);
}

}  // TEST_SUITE
