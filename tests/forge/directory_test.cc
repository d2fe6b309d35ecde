// forge::ForgeDirectory's LearnedObserver: what app/ saves so that a restart
// keeps which forge serves which repository.

#include <doctest/doctest.h>

#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "base/clock.h"
#include "forge/directory.h"
#include "forge/setup.h"

using namespace mergeyard;
using namespace mergeyard::forge;

namespace {

using Lesson = std::tuple<std::string, ForgeKind, std::int64_t>;

struct Recorder {
  std::mutex mu;
  std::vector<Lesson> lessons;
  ForgeDirectory::LearnedObserver Observer() {
    return [this](const std::string& repo, ForgeKind kind, std::int64_t installation) {
      std::lock_guard<std::mutex> lock(mu);
      lessons.emplace_back(repo, kind, installation);
    };
  }
};

// GitHub and GitLab configured: ForRepo needs the directory's knowledge.
// Nothing is contacted.
std::unique_ptr<ForgeClients> ConnectTwo(ForgeDirectory& dir, const Clock& clock) {
  ForgeSettings s;
  s.github_token = "ghp-unused";
  s.gitlab_token = "glpat-unused";
  auto clients = ConnectForges(s, clock, dir);
  REQUIRE(clients.ok());
  return std::move(*clients);
}

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("the learned observer fires once per change, never for a webhook that repeats what is known") {
  ForgeDirectory dir;
  Recorder rec;
  dir.OnLearned(rec.Observer());

  dir.Remember("acme/widgets", ForgeKind::kGithub);
  dir.Remember("acme/widgets", ForgeKind::kGithub);  // the same again
  CHECK(rec.lessons == std::vector<Lesson>{{"acme/widgets", ForgeKind::kGithub, 0}});

  SUBCASE("an installation id is a change the first time and when it differs") {
    dir.Remember("acme/widgets", ForgeKind::kGithub, 7);
    dir.Remember("acme/widgets", ForgeKind::kGithub, 7);
    dir.Remember("acme/widgets", ForgeKind::kGithub);  // a webhook without one keeps the known id
    dir.Remember("acme/widgets", ForgeKind::kGithub, 8);
    CHECK(rec.lessons == std::vector<Lesson>{{"acme/widgets", ForgeKind::kGithub, 0},
                                             {"acme/widgets", ForgeKind::kGithub, 7},
                                             {"acme/widgets", ForgeKind::kGithub, 8}});
  }
  SUBCASE("another forge is a change, and forgets the old forge's installation") {
    dir.Remember("acme/widgets", ForgeKind::kGithub, 7);
    dir.Remember("acme/widgets", ForgeKind::kGitlab);
    dir.Remember("acme/widgets", ForgeKind::kGitlab);
    CHECK(rec.lessons == std::vector<Lesson>{{"acme/widgets", ForgeKind::kGithub, 0},
                                             {"acme/widgets", ForgeKind::kGithub, 7},
                                             {"acme/widgets", ForgeKind::kGitlab, 0}});
  }
  SUBCASE("each repository is learned on its own") {
    dir.Remember("group/tool", ForgeKind::kGitlab);
    dir.Remember("acme/widgets", ForgeKind::kGithub);
    dir.Remember("group/tool", ForgeKind::kGitlab);
    CHECK(rec.lessons == std::vector<Lesson>{{"acme/widgets", ForgeKind::kGithub, 0},
                                             {"group/tool", ForgeKind::kGitlab, 0}});
  }
}

TEST_CASE("what was remembered before the observer was set is neither replayed nor reported again") {
  // app/ loads the saved rows first, then sets the observer that saves: a
  // webhook that repeats a loaded row must not write it again.
  ForgeDirectory dir;
  std::vector<std::pair<std::string, std::int64_t>> installations;
  dir.OnInstallation([&](const std::string& repo, std::int64_t id) { installations.emplace_back(repo, id); });
  dir.Remember("acme/widgets", ForgeKind::kGithub, 42);  // as loaded on start
  // Loading feeds the App's installation the way a webhook does.
  CHECK(installations == std::vector<std::pair<std::string, std::int64_t>>{{"acme/widgets", 42}});

  Recorder rec;
  dir.OnLearned(rec.Observer());
  CHECK(rec.lessons.empty());
  dir.Remember("acme/widgets", ForgeKind::kGithub, 42);
  dir.Remember("acme/widgets", ForgeKind::kGithub);
  CHECK(rec.lessons.empty());
  dir.Remember("acme/widgets", ForgeKind::kGithub, 43);
  CHECK(rec.lessons == std::vector<Lesson>{{"acme/widgets", ForgeKind::kGithub, 43}});
}

TEST_CASE("the learned observer runs outside the directory's lock and sees what it learned") {
  SystemClock clock;
  ForgeDirectory dir;
  auto clients = ConnectTwo(dir, clock);
  REQUIRE(dir.ForRepo("group/tool") == nullptr);  // two forges: unknown until told
  std::vector<ForgeKind> seen;
  dir.OnLearned([&](const std::string& repo, ForgeKind, std::int64_t) {
    ForgeApi* api = dir.ForRepo(repo);  // would deadlock under the lock
    REQUIRE(api != nullptr);
    seen.push_back(api->kind());
  });
  dir.Remember("group/tool", ForgeKind::kGitlab);
  dir.Remember("group/tool", ForgeKind::kGithub);
  CHECK(seen == std::vector<ForgeKind>{ForgeKind::kGitlab, ForgeKind::kGithub});
}

TEST_CASE("under concurrent webhooks the last lesson reported is what the directory knows") {
  SystemClock clock;
  ForgeDirectory dir;
  auto clients = ConnectTwo(dir, clock);
  Recorder rec;
  dir.OnLearned(rec.Observer());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&dir, t] {
      for (int i = 0; i < 300; ++i) {
        dir.Remember("acme/widgets", (i + t) % 2 ? ForgeKind::kGithub : ForgeKind::kGitlab);
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE_FALSE(rec.lessons.empty());
  // Consecutive lessons are real changes, and the last one is the final state.
  for (std::size_t i = 1; i < rec.lessons.size(); ++i) {
    CHECK(std::get<1>(rec.lessons[i]) != std::get<1>(rec.lessons[i - 1]));
  }
  ForgeApi* api = dir.ForRepo("acme/widgets");
  REQUIRE(api != nullptr);
  CHECK(std::get<1>(rec.lessons.back()) == api->kind());
}

}  // TEST_SUITE
