// `mergeyard serve` end to end, DESIGN.md section 2 rule 6: a batch whose run
// fails transiently stays in place (pending failure depth 1) while the batch
// stacked on it tests; that one passes, so with optimistic merging both land
// together on its commit, whose tree passed. Nothing is bisected or kicked.
//
// The failure is transient, not a property of any tree: the pipeline fails
// while a marker file exists outside the repository. Steps run in bwrap
// (`--ro-bind / /`, `--tmpfs /tmp`), so the marker lives in a directory under
// /var/tmp, which a step can read but not write. The same directory holds two
// gates the test opens in turn, so that the first batch's run fails while
// the second batch is still testing, and the second batch's run passes only
// after the marker is gone. The gates order the runs; they decide nothing.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "e2e_harness.h"

using namespace mergeyard::testing;

namespace {

// A directory outside /tmp (steps see their own empty /tmp), removed with its
// contents at scope exit, which also releases any run still held at a gate.
// A directory outside /tmp (steps run with a private /tmp), readable by the
// step whatever user it runs as.
class OutsideTmpDir {
 public:
  OutsideTmpDir() { ::chmod(dir_.path().c_str(), 0755); }
  const std::string& path() const { return dir_.path(); }
  std::string File(const std::string& name) const { return dir_.File(name); }
  void Touch(const std::string& name) const { std::ofstream(File(name)) << name << "\n"; }
  bool Remove(const std::string& name) const { return std::filesystem::remove(File(name)); }

 private:
  TempDir dir_{"/var/tmp"};
};

// The pipeline: wait at this run's gate (gate-second for a tree holding
// f2.txt, gate-first otherwise) while it exists, then fail if the runner is
// "broken" (the marker exists), else the usual checks.
std::string TransientPipeline(const OutsideTmpDir& dir) {
  const std::string d = "'" + dir.path() + "'";
  return "if [ -e f2.txt ]; then gate=gate-second; else gate=gate-first; fi\n"
         "waited=0\n"
         "while [ -e " + d + "/$gate ] && [ $waited -lt 1200 ]; do sleep 0.1; waited=$((waited+1)); done\n"
         "if [ -e " + d + "/broken ]; then echo 'FAIL: the runner is broken (transient)' >&2; exit 1; fi\n" +
         PipelineScript();
}

// The main-queue batch holding exactly `prs` in the admin API's view of the
// queue, or null.
nlohmann::json BatchOf(const nlohmann::json& queue, const nlohmann::json& prs) {
  if (!queue.is_object() || !queue.contains("batches")) return nullptr;
  for (const auto& b : queue["batches"]) {
    if (b.value("kind", "") == "main" && b["prs"] == prs) return b;
  }
  return nullptr;
}

std::string StateOf(const nlohmann::json& batch) { return batch.is_null() ? "" : batch.value("state", ""); }

}  // namespace

TEST_CASE("two batches with a transient failure and optimistic merging: all land") {
  OutsideTmpDir env;
  REQUIRE_FALSE(env.path().empty());
  env.Touch("broken");
  env.Touch("gate-first");
  env.Touch("gate-second");
  E2e e("  target_batch_size: 1\n  max_wait: 1s\n  concurrency: 2\n  bisection_concurrency: 2\n"
        "  pending_failure_depth: 1\n  optimistic_merging: true\n");
  const std::string start = e.fake().Commit("main", {{"ci/test.sh", TransientPipeline(env)}});
  e.OpenPull(1, {{"f1.txt", "one\n"}});
  e.OpenPull(2, {{"f2.txt", "two\n"}});
  INFO(e.serve().Log());
  REQUIRE(e.Comment(1, "!integrate") == 202);
  // #1 is queued before #2, so #1's batch is the first and #2's stacks on it.
  REQUIRE(E2e::WaitFor([&] { return !e.StatusComment(1).empty(); }, 30000));
  REQUIRE(e.Comment(2, "!integrate") == 202);

  // Both batches test, #2's stacked on #1's; both runs wait at their gates.
  const nlohmann::json one = {1}, two = {2};
  nlohmann::json q;
  INFO("the queue last seen: " << q.dump());
  REQUIRE(E2e::WaitFor([&] {
    q = e.Queue();
    return StateOf(BatchOf(q, one)) == "testing" && StateOf(BatchOf(q, two)) == "testing";
  }, 60000));
  const nlohmann::json first = BatchOf(q, one), second = BatchOf(q, two);
  CHECK(second.value("parent", 0) == first.value("id", 0));
  CHECK(e.Git("merge-base --is-ancestor " + first.value("commit", "") + " " + second.value("commit", "") +
              " && echo stacked") == "stacked");

  // The first run fails (the runner is broken). With depth 1 the failed batch
  // stays in place: nothing is kicked or bisected while #2's batch tests.
  REQUIRE(env.Remove("gate-first"));
  REQUIRE(E2e::WaitFor([&] {
    q = e.Queue();
    return StateOf(BatchOf(q, one)) == "failed";
  }, 60000));
  CHECK(StateOf(BatchOf(q, two)) == "testing");
  CHECK(q["bisections"].empty());
  CHECK_FALSE(e.Kicked(1));
  // It failed for the transient reason, in the pipeline's step.
  const nlohmann::json failed = BatchOf(q, one);
  CHECK(failed.value("failed_step", "") == "test");
  const std::string log_url = failed.value("log_url", "");
  REQUIRE(log_url.rfind(e.serve().url(), 0) == 0);
  httplib::Client cli(e.serve().url());
  auto run_log = cli.Get(log_url.substr(e.serve().url().size()));
  REQUIRE(run_log);
  CHECK(run_log->body.find("FAIL: the runner is broken (transient)") != std::string::npos);

  // The runner recovers, then the second run goes on and passes.
  REQUIRE(env.Remove("broken"));
  REQUIRE(env.Remove("gate-second"));
  REQUIRE(E2e::WaitFor([&] { return e.Merged(1) && e.Merged(2); }));
  CHECK_FALSE(e.Kicked(1));
  CHECK_FALSE(e.Kicked(2));

  // History: #1's batch ended failed, #2's passed, and both pull requests
  // were merged in #2's batch commit — the failure was covered, not retried.
  std::map<std::string, std::string> result_of;  // commit -> batch result
  std::map<std::int64_t, std::string> landed_in;
  int batches = 0;
  for (const auto& row : e.History()) {
    CHECK(row.kind != "kicked");
    if (row.kind == "batch") {
      ++batches;
      CHECK(row.data["batch"].value("kind", "") == "main");  // no bisection node
      result_of[row.data["batch"].value("commit", "")] = row.data.value("result", "");
    }
    if (row.kind == "merged") landed_in[row.pr] = row.data.value("commit", "");
  }
  CHECK(batches == 2);
  CHECK(result_of[first.value("commit", "")] == "fail");
  CHECK(result_of[second.value("commit", "")] == "pass");
  CHECK(landed_in[1] == second.value("commit", ""));
  CHECK(landed_in[2] == second.value("commit", ""));

  // main moved once, straight to the second batch's commit: a tree that
  // passed. The first batch's commit, whose run failed, was never the target.
  auto history = e.MainHistory();
  auto from = std::find(history.begin(), history.end(), start);
  REQUIRE(from != history.end());
  const std::vector<std::string> moves(std::next(from), history.end());
  CHECK(moves == std::vector<std::string>{second.value("commit", "")});
  for (const auto& sha : moves) CHECK(result_of[sha] == "pass");
  CHECK_FALSE(Contains(history, first.value("commit", "")));
  auto files = e.FilesOnMain();
  CHECK(Contains(files, "f1.txt"));
  CHECK(Contains(files, "f2.txt"));
  CHECK(e.serve().Stop() == 0);
}
