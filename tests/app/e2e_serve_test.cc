// `mergeyard serve` end to end: a fake GitHub over real HTTP with a real git
// repository, signed webhooks, real batch merges, real test runs through the
// local executor, landing by compare-and-swap on the fake's repository.

#include <doctest/doctest.h>

#include "e2e_harness.h"

using namespace mergeyard::testing;

namespace {

std::string Batches(int size, int concurrency = 1, const std::string& extra = "") {
  return "  target_batch_size: " + std::to_string(size) + "\n  max_wait: 1s\n  concurrency: " +
         std::to_string(concurrency) + "\n  bisection_concurrency: 2\n" + extra;
}

}  // namespace

TEST_CASE("six pull requests with one culprit: bisected, five land, the culprit is kicked with its log") {
  E2e e(Batches(6));
  for (int n = 1; n <= 6; ++n) {
    std::map<std::string, std::string> files = {{"f" + std::to_string(n) + ".txt", "pr " + std::to_string(n) + "\n"}};
    if (n == 4) files["bad.txt"] = "breaks the tests\n";
    e.OpenPull(n, files);
  }
  for (int n = 1; n <= 6; ++n) REQUIRE(e.Comment(n, "!integrate") == 202);
  const bool done = E2e::WaitFor([&] {
    for (int n : {1, 2, 3, 5, 6}) {
      if (!e.Merged(n)) return false;
    }
    return e.Kicked(4);
  });
  INFO(e.serve().Log());
  REQUIRE(done);
  auto files = e.FilesOnMain();
  for (int n : {1, 2, 3, 5, 6}) CHECK(Contains(files, "f" + std::to_string(n) + ".txt"));
  CHECK_FALSE(Contains(files, "f4.txt"));
  CHECK_FALSE(Contains(files, "bad.txt"));
  const std::string kicked = e.StatusComment(4);
  CHECK(kicked.find("Failed step `test` when tested alone on ") != std::string::npos);
  auto log_at = kicked.find("Log: ");
  REQUIRE(log_at != std::string::npos);
  std::string url = kicked.substr(log_at + 5, kicked.find_first_of(" \n", log_at + 5) - log_at - 5);
  REQUIRE(url.rfind(e.serve().url(), 0) == 0);
  httplib::Client cli(e.serve().url());
  auto log = cli.Get(url.substr(e.serve().url().size()));
  REQUIRE(log);
  CHECK(log->status == 200);
  CHECK(log->body.find("FAIL: bad.txt is in the tree") != std::string::npos);
  // /metrics counts what happened, in Prometheus text format.
  auto metrics = cli.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  auto series = [&](const std::string& name) {
    std::stringstream ss(metrics->body);
    for (std::string line; std::getline(ss, line);) {
      if (line.rfind(name + "{", 0) == 0) return line.substr(line.rfind(' ') + 1);
    }
    return std::string("(missing)");
  };
  CHECK(series("mergeyard_entries_merged_total") == "5");
  CHECK(series("mergeyard_bisections_started_total") != "(missing)");
  // The target moved only by fast-forward to batch commits, never force-pushed.
  auto history = e.MainHistory();
  for (size_t i = 1; i < history.size(); ++i) {
    CHECK(e.Git("merge-base --is-ancestor " + history[i - 1] + " " + history[i] + " && echo ff") == "ff");
  }
  CHECK(e.serve().Stop() == 0);
}

TEST_CASE("a pull request that conflicts with the target is refused at !integrate with the files named") {
  E2e e(Batches(1));
  e.fake().Commit("main", {{"shared.txt", "main's version\n"}});
  e.fake().Commit("pr1", {{"shared.txt", "one\n"}}, "main~1");
  FakePull p;
  p.number = 1;
  p.head_branch = "pr1";
  e.fake().AddPull(p);
  REQUIRE(e.Comment(1, "!integrate") == 202);
  REQUIRE(E2e::WaitFor([&] { return e.AllComments(1).find("does not merge cleanly") != std::string::npos; }, 30000));
  CHECK(e.AllComments(1).find("`shared.txt`") != std::string::npos);
}

TEST_CASE("a pull request that conflicts only with an earlier batch goes back to waiting, then lands") {
  E2e e(Batches(1, 2));
  // Slow enough that #2 arrives while #1's batch still tests.
  e.fake().Commit("main", {{"ci/test.sh", "sleep 2\n" + PipelineScript()}});
  e.OpenPull(1, {{"shared.txt", "one\n"}, {"bad.txt", "fails\n"}});
  e.OpenPull(2, {{"shared.txt", "two\n"}});
  REQUIRE(e.Comment(1, "!integrate") == 202);
  REQUIRE(e.Comment(2, "!integrate") == 202);
  INFO(e.serve().Log());
  // #2 is built on #1's batch, conflicts with it (not with the target) and
  // waits; #1 fails and is kicked; #2 then lands on the target.
  REQUIRE(E2e::WaitFor([&] { return e.Kicked(1) && e.Merged(2); }));
  // #2 was in a batch that ended without passing (its build on #1 conflicted)
  // before the batch that landed it, and it was never kicked.
  int tries_of_2 = 0;
  bool returned_before_landing = false;
  for (const auto& row : e.History()) {
    if (row.kind == "kicked") CHECK(row.pr != 2);
    if (row.kind != "batch" || row.data["batch"]["prs"] != nlohmann::json::array({2})) continue;
    ++tries_of_2;
    if (row.data.value("result", "") != "pass") returned_before_landing = true;
  }
  CHECK(tries_of_2 >= 2);
  CHECK(returned_before_landing);
  auto files = e.FilesOnMain();
  CHECK(Contains(files, "shared.txt"));
  CHECK(e.Git("show refs/heads/main:shared.txt") == "two");
}

TEST_CASE("a push to the target by someone else while a batch tests: rebuilt, nothing force-pushed") {
  E2e e(Batches(1) + "  # slow pipeline so the push lands mid-run\n");
  // A step that takes a while, so the external push arrives while it runs.
  e.fake().Commit("main", {{"ci/test.sh", "sleep 2\n" + PipelineScript()}});
  e.OpenPull(1, {{"f1.txt", "one\n"}});
  REQUIRE(e.Comment(1, "!integrate") == 202);
  REQUIRE(E2e::WaitFor([&] { return e.Testing(1); }, 30000));
  const std::string before = e.fake().Tip("main");
  const std::string after = e.fake().Commit("main", {{"other.txt", "someone else\n"}});
  REQUIRE(e.Push("main", before, after) == 202);
  INFO(e.serve().Log());
  REQUIRE(E2e::WaitFor([&] { return e.Merged(1); }));
  auto files = e.FilesOnMain();
  CHECK(Contains(files, "other.txt"));
  CHECK(Contains(files, "f1.txt"));
  auto history = e.MainHistory();
  for (size_t i = 1; i < history.size(); ++i) {
    CHECK(e.Git("merge-base --is-ancestor " + history[i - 1] + " " + history[i] + " && echo ff") == "ff");
  }
}

TEST_CASE("!integrate cancel during a run, and a new push to a queued pull request, remove them") {
  E2e e(Batches(1));
  e.fake().Commit("main", {{"ci/test.sh", "sleep 2\n" + PipelineScript()}});
  e.OpenPull(1, {{"f1.txt", "one\n"}});
  e.OpenPull(2, {{"f2.txt", "two\n"}});
  e.OpenPull(3, {{"f3.txt", "three\n"}});
  REQUIRE(e.Comment(1, "!integrate") == 202);
  REQUIRE(E2e::WaitFor([&] { return e.Testing(1); }, 30000));
  REQUIRE(e.Comment(2, "!integrate") == 202);
  REQUIRE(e.Comment(1, "!integrate cancel") == 202);
  INFO(e.serve().Log());
  REQUIRE(E2e::WaitFor([&] { return e.StatusComment(1).find("Removed from the queue") != std::string::npos; }));
  // #2 waits behind; a new push to it takes it out.
  const std::string head = e.fake().Commit("pr2", {{"f2.txt", "two, again\n"}});
  REQUIRE(e.Synchronize(2, head) == 202);
  REQUIRE(E2e::WaitFor([&] { return e.StatusComment(2).find("Removed from the queue") != std::string::npos; }));
  REQUIRE(e.Comment(3, "!integrate") == 202);
  REQUIRE(E2e::WaitFor([&] { return e.Merged(3); }));
  auto files = e.FilesOnMain();
  CHECK_FALSE(Contains(files, "f1.txt"));
  CHECK_FALSE(Contains(files, "f2.txt"));
  CHECK(Contains(files, "f3.txt"));
}

TEST_CASE("a commenter without write permission is refused politely and nothing is queued") {
  E2e e(Batches(1));
  e.OpenPull(1, {{"f1.txt", "one\n"}});
  REQUIRE(e.Comment(1, "!integrate", "rita") == 202);
  REQUIRE(E2e::WaitFor([&] { return e.AllComments(1).find("only people with write access") != std::string::npos; },
                       30000));
  CHECK(e.StatusComment(1).empty());
}
