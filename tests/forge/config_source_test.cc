// forge::ForgeConfigSource: `.mergeyard.yml` is read from the target branch
// through the forge API once per target commit; a push names the commit to
// read at.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "fake_clients.h"
#include "forge/config_source.h"

using namespace mergeyard;
using namespace mergeyard::testing;

namespace {

constexpr const char* kRepo = "acme/widgets";

int FileReads(FakeForge& fake) {
  auto requests = fake.Requests();
  return static_cast<int>(std::count_if(requests.begin(), requests.end(), [](const std::string& r) {
    return r.find("/contents/.mergeyard.yml") != std::string::npos;
  }));
}

// A forge of `flavor` whose main holds .mergeyard.yml with target_batch_size
// 2 (at `first`), and the directory a ForgeConfigSource reads it through.
struct Site {
  explicit Site(FakeFlavor flavor = FakeFlavor::kGithub)
      : fake(flavor, kRepo),
        first(fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 2\n"}})),
        client(ConnectTo(fake, clock)) {
    forges.Add(client.api);
  }
  SystemClock clock;
  FakeForge fake;
  std::string first;
  ForgeClient client;
  forge::ForgeDirectory forges;
};

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("the configuration is read once per target commit, and again when the target moves") {
  Site site;
  FakeForge& fake = site.fake;
  std::map<std::string, std::string> tips = {{"acme/widgets:main", site.first}};
  forge::ForgeConfigSource configs(site.forges, [&](const std::string& repo, const std::string& branch) {
    return tips[repo + ":" + branch];
  });
  for (int i = 0; i < 3; ++i) {
    auto loaded = configs.Load(kRepo, "main");
    REQUIRE(loaded.ok());
    REQUIRE(loaded->present);
    CHECK(loaded->parse.config.queue.target_batch_size == 2);
  }
  CHECK(FileReads(fake) == 1);

  // A batch lands a change of the file: the next Load reads at the new tip.
  const std::string second = fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 5\n"}});
  tips["acme/widgets:main"] = second;
  auto loaded = configs.Load(kRepo, "main");
  REQUIRE(loaded.ok());
  CHECK(loaded->parse.config.queue.target_batch_size == 5);
  CHECK(FileReads(fake) == 2);
  CHECK(configs.LastGood(kRepo, "main")->queue.target_batch_size == 5);

  // A push names its commit: read there, though the queue's tip is older.
  const std::string third = fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 7\n"}});
  loaded = configs.Load(kRepo, "main", third);
  REQUIRE(loaded.ok());
  CHECK(loaded->parse.config.queue.target_batch_size == 7);
  CHECK(FileReads(fake) == 3);
}

TEST_CASE("an answer older than its age limit is read again at the branch: a lost push cannot keep it") {
  ManualClock time(1'700'000'000'000);
  Site site;
  FakeForge& fake = site.fake;
  const std::string tip = site.first;
  forge::ForgeConfigSource configs(site.forges);
  configs.SetTipOf([&](const std::string&, const std::string&) { return tip; }, &time, 10 * kMinute);
  REQUIRE(configs.Load(kRepo, "main").ok());
  // Someone pushes a new file; its webhook is lost: the queue's tip stays.
  fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 9\n"}});
  time.Advance(5 * kMinute);
  CHECK(configs.Load(kRepo, "main")->parse.config.queue.target_batch_size == 2);
  CHECK(FileReads(fake) == 1);
  time.Advance(6 * kMinute);
  CHECK(configs.Load(kRepo, "main")->parse.config.queue.target_batch_size == 9);
  CHECK(FileReads(fake) == 2);
}

TEST_CASE("without a known tip the branch is read every time") {
  Site site(FakeFlavor::kGitea);
  forge::ForgeConfigSource configs(site.forges);
  REQUIRE(configs.Load(kRepo, "main").ok());
  REQUIRE(configs.Load(kRepo, "main").ok());
  CHECK(FileReads(site.fake) == 2);
  CHECK(configs.parses() == 1);  // the same blob is parsed once
}

}  // TEST_SUITE
