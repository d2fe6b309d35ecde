#include <doctest/doctest.h>

#include <mutex>

#include "base/log.h"
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

// The warn lines logged while alive (text format).
class WarnLines {
 public:
  WarnLines() {
    SetLogSinkForTesting([this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      if (line.find(" warn ") != std::string::npos) lines_.push_back(line);
    });
  }
  ~WarnLines() { SetLogSinkForTesting({}); }
  std::vector<std::string> Lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

// A client of the fake whose waits move `clock` instead of sleeping.
ForgeClient Timed(FakeForge& fake, ManualClock& clock) {
  ForgeClient c = ConnectTo(fake, clock);
  c.sleeps->advance = &clock;
  return c;
}

TEST_CASE("a 429's Retry-After decides the wait, even when it says the quota is spent without a reset") {
  ManualClock clock(1'700'000'000'000);
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  ForgeClient c = Timed(fake, clock);
  Fault limited{429, 1};
  limited.headers = {{"x-ratelimit-remaining", "0"}};
  fake.InjectFaults({limited});
  WarnLines warned;
  REQUIRE(c.api->CreateComment("acme/widgets", 1, "x").ok());
  CHECK(c.sleeps->Waits() == std::vector<Duration>{1000});
  CHECK(warned.Lines().empty());  // a second is not worth a warning
  REQUIRE(c.api->CreateComment("acme/widgets", 1, "y").ok());  // the second is over: no more waiting
  CHECK(c.sleeps->Waits().size() == 1);
}

TEST_CASE("a spent quota holds back the next requests with the same credentials until its reset, no others") {
  ManualClock clock(1'700'000'000'000);
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  ForgeClient c = Timed(fake, clock);
  Fault last{0};  // served, but the quota is now spent
  last.headers = {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1700000030"}};
  fake.InjectFaults({last});
  REQUIRE(c.api->CreateComment("acme/widgets", 1, "x").ok());
  CHECK(c.sleeps->Waits().empty());
  REQUIRE(c.api->CreateComment("acme/widgets", 1, "y").ok());
  CHECK(c.sleeps->Waits() == std::vector<Duration>{30'000});

  Fault spent{403};
  spent.headers = {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1700000090"}};
  fake.InjectFaults({spent});
  REQUIRE(c.api->CreateComment("acme/widgets", 1, "z").ok());  // 403, then the wait to the reset
  CHECK(c.sleeps->Waits() == std::vector<Duration>{30'000, 60'000});

  // Other credentials (another installation) are not held back by it.
  Fault again = spent;
  again.headers["x-ratelimit-reset"] = "1700001000";
  fake.InjectFaults({again});
  StaticAuth other("Authorization", "Bearer other-installation");
  RestClient other_rest(FastOptions(github::DefaultRestOptions(fake.base_url())), &other, clock,
                        [](Duration) { FAIL("the other credentials waited"); });
  auto answered = other_rest.Send("GET", "/rate_limit", "acme/widgets");  // gets the 403 and is refused
  CHECK(!answered.ok());
  std::vector<Duration> before = c.sleeps->Waits();
  REQUIRE(c.api->CreateComment("acme/widgets", 1, "w").ok());
  CHECK(c.sleeps->Waits() == before);
}

TEST_CASE("a secondary limit without Retry-After waits a minute, and the reset is read as the forge means it") {
  ManualClock clock(1'700'000'000'000);
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  ForgeClient c = Timed(fake, clock);
  Fault secondary{403};
  secondary.body = "You have exceeded a secondary rate limit";
  fake.InjectFaults({secondary});
  WarnLines warned;
  REQUIRE(c.api->CreateComment("acme/widgets", 1, "z").ok());
  CHECK(c.sleeps->Waits() == std::vector<Duration>{kMinute});
  const auto lines = warned.Lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("rate limit") != std::string::npos);
  CHECK(lines[0].find("forge=github") != std::string::npos);
  CHECK(lines[0].find("kind=secondary") != std::string::npos);
  CHECK(lines[0].find("wait=" + FormatDuration(kMinute)) != std::string::npos);
  CHECK(fake.Comments(1).size() == 1);

  const Time now = clock.Now();
  HttpResponse r;
  r.status = 429;
  r.headers = {{"ratelimit-remaining", "0"}, {"ratelimit-reset", "1700000500"}};  // GitLab: Unix seconds
  CHECK(RateLimitOf(r, now)->until == 1'700'000'500'000);
  CHECK(RateLimitOf(r, now)->kind == "primary");
  r.headers = {{"ratelimit-remaining", "0"}, {"ratelimit-reset", "20"}};  // the IETF draft: seconds from now
  CHECK(RateLimitOf(r, now)->until == now + 20'000);
  r.headers = {{"retry-after", "Wed, 21 Oct 2026 07:28:00 GMT"}};
  CHECK(RateLimitOf(r, 1'792'567'670'000)->until == 1'792'567'680'000);
  CHECK(RateLimitOf(r, now)->kind == "secondary");
  r.status = 200;
  r.headers = {{"x-ratelimit-remaining", "4999"}};
  CHECK(!RateLimitOf(r, now));
}

}  // TEST_SUITE
