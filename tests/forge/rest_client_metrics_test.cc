// The REST client's Prometheus series: requests by forge, method and status
// class (retries included), retries by reason, rate-limit waits.

#include <doctest/doctest.h>

#include <sstream>

#include "base/metrics.h"
#include "fakes/fake_clients.h"
#include "forge/rest_client.h"

using namespace mergeyard;
using namespace mergeyard::forge;
using namespace mergeyard::testing;

namespace {

// The value of the sample `series` (name and labels exactly as rendered), or -1.
double Sample(const metrics::Registry& r, const std::string& series) {
  std::istringstream in(r.Render());
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("forge requests are counted by forge, method and status class, retries included") {
  ManualClock clock(1'700'000'000'000);  // moved by the sleeps
  FakeForge fake(FakeFlavor::kGitlab, "group/proj");
  metrics::Registry registry;
  RestOptions options = FastOptions(gitlab::DefaultRestOptions(fake.base_url()));
  options.metrics = &registry;
  StaticAuth auth("PRIVATE-TOKEN", fake.token());
  RestClient rest(options, &auth, clock, [&](Duration d) { clock.Advance(d); });
  gitlab::GitlabApi api(rest);

  fake.InjectFaults({{502}, {429, 2}});
  REQUIRE(api.CreateComment("group/proj", 3, "hello").ok());
  auto missing = api.GetPullRequest("group/proj", 404);
  REQUIRE_FALSE(missing.ok());

  CHECK(Sample(registry, R"(mergeyard_forge_requests_total{forge="gitlab",method="POST",status="5xx"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_requests_total{forge="gitlab",method="POST",status="4xx"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_requests_total{forge="gitlab",method="POST",status="2xx"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_requests_total{forge="gitlab",method="GET",status="4xx"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_retries_total{forge="gitlab",reason="server_error"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_retries_total{forge="gitlab",reason="rate_limited"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_rate_limit_waits_total{forge="gitlab",kind="secondary"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_rate_limit_wait_seconds_total{forge="gitlab",kind="secondary"})") == 2);
  CHECK(Sample(registry, R"(mergeyard_forge_rate_limit_rejections_total{forge="gitlab"})") == 0);
  CHECK(Sample(registry, R"(mergeyard_forge_request_duration_seconds_count{forge="gitlab"})") == 4);
  CHECK(rest.requests_sent() == 4);
}

TEST_CASE("a rate limit longer than max_wait counts as a rejection, not a wait") {
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGitea, "o/r");
  metrics::Registry registry;
  RestOptions options = FastOptions(gitea::DefaultRestOptions(fake.base_url()));
  options.metrics = &registry;
  StaticAuth auth("Authorization", "token " + fake.token());
  RestClient rest(options, &auth, clock, [](Duration) {});
  gitea::GiteaApi api(rest);
  fake.InjectFaults({{429, 3600}});
  REQUIRE_FALSE(api.CreateComment("o/r", 1, "x").ok());
  CHECK(Sample(registry, R"(mergeyard_forge_requests_total{forge="gitea",method="POST",status="4xx"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_rate_limit_rejections_total{forge="gitea"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_rate_limit_waits_total{forge="gitea",kind="secondary"})") < 1);  // none
}

TEST_CASE("an exhausted quota makes the next request wait, counted with its length") {
  ManualClock clock(1'700'000'000'000);
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  metrics::Registry registry;
  RestOptions options = FastOptions(github::DefaultRestOptions(fake.base_url()));
  options.metrics = &registry;
  StaticAuth auth("Authorization", "Bearer " + fake.token());
  RestClient rest(options, &auth, clock, [&](Duration d) { clock.Advance(d); });
  github::GithubApi api(rest, {});
  Fault limited{403};
  limited.headers = {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1700000030"}};
  fake.InjectFaults({limited});
  REQUIRE(api.CreateComment("acme/widgets", 1, "x").ok());
  // One wait, to the reset, before the retry.
  CHECK(Sample(registry, R"(mergeyard_forge_rate_limit_waits_total{forge="github",kind="primary"})") == 1);
  CHECK(Sample(registry, R"(mergeyard_forge_rate_limit_wait_seconds_total{forge="github",kind="primary"})") == 30);
  CHECK(Sample(registry, R"(mergeyard_forge_retries_total{forge="github",reason="rate_limited"})") == 1);
}

}  // TEST_SUITE
