// kill -9 of `mergeyard serve` at random moments of a scenario with
// bisection, restarting it on the same data directory each time. The queue's
// history in SQLite and the fake forge's git repository are the witnesses.

#include <doctest/doctest.h>

#include <random>
#include <set>

#include "e2e_harness.h"

using namespace mergeyard::testing;

namespace {

struct Ended {
  std::map<std::int64_t, std::vector<std::string>> by_pr;  // pr -> every end recorded
  std::set<std::string> passed_commits;                    // commits of batches whose run passed
};

Ended ReadHistory(E2e& e) {
  Ended out;
  for (const auto& row : e.History()) {
    if (row.kind == "batch") {
      if (row.data.value("result", "") == "pass") out.passed_commits.insert(row.data["batch"].value("commit", ""));
    } else if (row.pr != 0) {
      out.by_pr[row.pr].push_back(row.kind);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("kill -9 at 20 random moments of a bisection scenario: every pull request ends exactly once") {
  E2e e("  target_batch_size: 4\n  max_wait: 1s\n  concurrency: 2\n  bisection_concurrency: 2\n");
  const std::set<int> bad = {3, 6};
  const int kPulls = 8;
  for (int n = 1; n <= kPulls; ++n) {
    std::map<std::string, std::string> files = {{"f" + std::to_string(n) + ".txt", "pr " + std::to_string(n) + "\n"}};
    if (bad.count(n)) files["bad.txt"] = "breaks the tests (#" + std::to_string(n) + ")\n";
    e.OpenPull(n, files);
  }
  const std::string start_tip = e.fake().Tip("main");
  for (int n = 1; n <= kPulls; ++n) REQUIRE(e.Comment(n, "!integrate") == 202);

  std::mt19937 rng(20261125);
  std::uniform_int_distribution<int> pause_ms(100, 900);
  int kills = 0;
  for (; kills < 20; ++kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    e.serve().Kill();
    REQUIRE_MESSAGE(e.serve().Start(), "restart " << kills << " failed:\n" << e.serve().Log());
  }
  INFO(e.serve().Log());
  const bool done = E2e::WaitFor([&] { return ReadHistory(e).by_pr.size() == kPulls; }, 180000);
  REQUIRE(done);
  CHECK(kills == 20);
  REQUIRE(e.serve().Stop() == 0);

  const Ended ended = ReadHistory(e);
  for (int n = 1; n <= kPulls; ++n) {
    INFO("pull request #" << n);
    REQUIRE(ended.by_pr.count(n) == 1);
    const auto& ends = ended.by_pr.at(n);
    CHECK(ends.size() == 1);  // ended exactly once
    CHECK(ends.front() == (bad.count(n) ? "kicked" : "merged"));
  }
  // The landed tree holds exactly the good pull requests.
  auto files = e.FilesOnMain();
  for (int n = 1; n <= kPulls; ++n) CHECK(Contains(files, "f" + std::to_string(n) + ".txt") == !bad.count(n));
  CHECK_FALSE(Contains(files, "bad.txt"));
  // main only moved forward, and only to commits whose run passed.
  auto history = e.MainHistory();
  auto from = std::find(history.begin(), history.end(), start_tip);
  REQUIRE(from != history.end());
  for (auto it = std::next(from); it != history.end(); ++it) {
    INFO("main moved to " << *it);
    CHECK(ended.passed_commits.count(*it) == 1);
    CHECK(e.Git("merge-base --is-ancestor " + *std::prev(it) + " " + *it + " && echo ff") == "ff");
  }
}

TEST_CASE("a second serve on the same data directory refuses to start and names the first") {
  E2e e("  target_batch_size: 1\n");
  auto port = mergeyard::app::FreeLoopbackPort();
  REQUIRE(port.ok());
  const char* binary = std::getenv("MERGEYARD_BINARY");
  mergeyard::app::ServeChild second(binary ? binary : "",
                                    {{"MERGEYARD_LISTEN", "127.0.0.1:" + std::to_string(*port)},
                                     {"MERGEYARD_DATA_DIR", e.dir() + "/data"}},
                                    e.dir() + "/second.log", *port);
  auto started = second.Start(20000);
  REQUIRE_FALSE(started.ok());
  CHECK(started.error().message.find("is in use by another mergeyard process") != std::string::npos);
  // The first one still works.
  e.OpenPull(1, {{"one.txt", "1\n"}});
  REQUIRE(e.Comment(1, "!integrate") == 202);
  CHECK(E2e::WaitFor([&] { return ReadHistory(e).by_pr.count(1) == 1; }, 60000));
}
