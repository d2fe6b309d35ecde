#include <doctest/doctest.h>

#include "fakes/fake_clients.h"
#include "forge/rest_client.h"

using namespace mergeyard;
using namespace mergeyard::forge;
using namespace mergeyard::testing;

TEST_SUITE("forge") {

TEST_CASE("5xx answers are retried with growing, jittered backoff") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  fake.AddPull({1, "feature"});
  fake.Commit("feature", {{"a.txt", "a\n"}});
  ForgeClient c = ConnectTo(fake, clock);
  fake.InjectFaults({{500}, {502}, {503}});
  auto pr = c.api->GetPullRequest("acme/widgets", 1);
  REQUIRE_MESSAGE(pr.ok(), (pr.ok() ? "" : pr.error().ToString()));
  CHECK(pr->head_sha == fake.Tip("feature"));
  CHECK(c.rest->requests_sent() == 4);
  const auto waits = c.sleeps->Waits();
  REQUIRE(waits.size() == 3);
  CHECK(waits[0] >= 5);
  CHECK(waits[0] <= 10);
  CHECK(waits[2] >= 20);
  CHECK(waits[2] <= 40);
}

TEST_CASE("429 with retry-after waits what the forge asked") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGitlab, "group/proj");
  ForgeClient c = ConnectTo(fake, clock);
  fake.InjectFaults({{429, 7}});
  auto comment = c.api->CreateComment("group/proj", 3, "hello");
  REQUIRE(comment.ok());
  CHECK(c.sleeps->Waits() == std::vector<Duration>{7000});
  CHECK(fake.Comments(3).size() == 1);
}

TEST_CASE("a rate limit longer than max_wait fails as transient instead of blocking") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGitea, "o/r");
  ForgeClient c = ConnectTo(fake, clock);
  fake.InjectFaults({{429, 3600}});
  auto comment = c.api->CreateComment("o/r", 1, "x");
  REQUIRE_FALSE(comment.ok());
  CHECK(comment.error().code == ErrorCode::kTransient);
  CHECK(fake.Comments(1).empty());
}

TEST_CASE("dropped connections and slow answers are retried; persistent failure is transient") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGitea, "o/r");
  ForgeClient c = ConnectTo(fake, clock);
  fake.InjectFaults({{0, -1, 0, true}, {0, -1, 1500}});  // a drop, then slower than the 1 s read timeout
  auto comment = c.api->CreateComment("o/r", 2, "after trouble");
  REQUIRE_MESSAGE(comment.ok(), (comment.ok() ? "" : comment.error().ToString()));
  fake.InjectFaults({{500}, {500}, {500}, {500}, {500}});
  auto failed = c.api->GetPullRequest("o/r", 2);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == ErrorCode::kTransient);
}

TEST_CASE("4xx answers are final and mapped to error codes") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  ForgeClient c = ConnectTo(fake, clock);
  auto missing = c.api->GetPullRequest("acme/widgets", 99);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(c.rest->requests_sent() == 1);
  StaticAuth wrong("Authorization", "Bearer nope");
  RestClient bad(FastOptions(github::DefaultRestOptions(fake.base_url())), &wrong, clock);
  github::GithubApi api(bad, {});
  auto denied = api.GetPullRequest("acme/widgets", 1);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code == ErrorCode::kUnauthorized);
}

TEST_CASE("pagination follows Link rel=next across pages") {
  SystemClock clock;
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    FakeForge fake(flavor, "o/r");
    ForgeClient c = ConnectTo(fake, clock);
    for (int i = 0; i < 130; ++i) fake.AddUserComment(5, "bob", "comment " + std::to_string(i));
    auto comments = c.api->ListComments("o/r", 5);
    REQUIRE(comments.ok());
    REQUIRE(comments->size() == 130);
    CHECK((*comments)[0].body == "comment 0");
    CHECK((*comments)[129].body == "comment 129");
    CHECK((*comments)[129].author == "bob");
    CHECK(c.rest->requests_sent() >= 2);
  }
}

TEST_CASE("Link headers are parsed for the next page only") {
  CHECK(NextLink(R"(<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last")") ==
        "https://api.github.com/x?page=2");
  CHECK(NextLink(R"(<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel="next")") == "https://a/x?page=3");
  CHECK(NextLink(R"(<https://a/x?page=1>; rel="first")").empty());
  CHECK(NextLink("").empty());
  CHECK(UrlEncode("group/sub proj") == "group%2Fsub%20proj");
}

TEST_CASE("an exhausted primary rate limit waits until the reset, and so does the next request") {
  ManualClock clock(1'700'000'000'000);
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  std::vector<Duration> waits;
  StaticAuth auth("Authorization", "Bearer " + fake.token());
  RestClient rest(FastOptions(github::DefaultRestOptions(fake.base_url())), &auth, clock,
                  [&](Duration d) { waits.push_back(d); });
  github::GithubApi api(rest, {});
  Fault limited{403};
  limited.headers = {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1700000030"}};
  fake.InjectFaults({limited});
  REQUIRE(api.CreateComment("acme/widgets", 1, "x").ok());
  // the 403 itself, then the quota check before the retry
  REQUIRE(waits.size() == 2);
  CHECK(waits[0] == 30'000);
  CHECK(waits[1] == 30'000);
  clock.Advance(31'000);
  REQUIRE(api.CreateComment("acme/widgets", 1, "y").ok());
  CHECK(waits.size() == 2);
  Fault secondary{403};
  secondary.body = "You have exceeded a secondary rate limit";
  fake.InjectFaults({secondary});
  REQUIRE(api.CreateComment("acme/widgets", 1, "z").ok());
  REQUIRE(waits.size() == 3);
  CHECK(waits[2] >= kMinute);
  CHECK(fake.Comments(1).size() == 3);
}

}  // TEST_SUITE
