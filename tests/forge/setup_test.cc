#include <doctest/doctest.h>

#include "fakes/fake_forge.h"
#include "forge/setup.h"

using namespace mergeyard;
using namespace mergeyard::forge;

TEST_SUITE("forge") {

TEST_CASE("web URLs become REST base URLs for each forge") {
  CHECK(GithubApiUrl("") == "https://api.github.com");
  CHECK(GithubApiUrl("https://github.com/") == "https://api.github.com");
  CHECK(GithubApiUrl("https://ghe.example.com") == "https://ghe.example.com/api/v3");
  CHECK(GithubApiUrl("https://ghe.example.com/api/v3/") == "https://ghe.example.com/api/v3");
  CHECK(GitlabApiUrl("") == "https://gitlab.com/api/v4");
  CHECK(GitlabApiUrl("https://git.example.com/") == "https://git.example.com/api/v4");
  CHECK(GiteaApiUrl("http://127.0.0.1:3000") == "http://127.0.0.1:3000/api/v1");
}

TEST_CASE("configured forges are registered; a repository seen on one is served by it") {
  SystemClock clock;
  testing::FakeForge gitea(testing::FakeFlavor::kGitea, "o/r");
  gitea.Commit("feature", {{"x", "1\n"}});
  gitea.AddPull({1, "feature"});
  ForgeSettings s;
  s.gitea_url = gitea.base_url();
  s.gitea_token = gitea.token();
  s.gitlab_token = "glpat-unused";
  ForgeDirectory dir;
  auto clients = ConnectForges(s, clock, dir);
  REQUIRE(clients.ok());
  CHECK((*clients)->configured() == std::vector<std::string>{"gitlab", "gitea"});
  CHECK(dir.ForRepo("o/r") == nullptr);  // two forges: unknown until a webhook says
  dir.Remember("o/r", ForgeKind::kForgejo);
  ForgeApi* api = dir.ForRepo("o/r");
  REQUIRE(api != nullptr);
  CHECK(api->kind() == ForgeKind::kGitea);
  auto pr = api->GetPullRequest("o/r", 1);
  REQUIRE(pr.ok());
  CHECK(pr->head_sha == gitea.Tip("feature"));
}

TEST_CASE("an unreadable GitHub App key is a configuration error") {
  SystemClock clock;
  ForgeSettings s;
  s.github_app_id = "1";
  s.github_private_key_file = "/nonexistent/key.pem";
  ForgeDirectory dir;
  auto clients = ConnectForges(s, clock, dir);
  REQUIRE_FALSE(clients.ok());
  CHECK(clients.error().code == ErrorCode::kInvalid);
}

}  // TEST_SUITE
