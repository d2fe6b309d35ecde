// `mergeyard demo` as a user runs it: a real process, a local forge, a real
// `mergeyard serve` child, real merges and test runs. Checks the outcome it
// prints and its exit code, not the timing-dependent narrative.

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "temp_dir.h"

namespace {

int RunCapture(const std::string& cmd, std::string* out) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool Has(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern));
}

}  // namespace

TEST_CASE("mergeyard demo lands the good pull requests, kicks the bad one, refuses the conflict, and exits 0") {
  const char* binary = std::getenv("MERGEYARD_BINARY");
  REQUIRE(binary != nullptr);
  std::string out;
  const int code = RunCapture(std::string(binary) + " demo --timeout 150", &out);
  INFO(out);
  CHECK(code == 0);
  CHECK(out.find("demo: the outcome is right.") != std::string::npos);
  // The summary: one line per pull request, expected = outcome.
  for (int pr : {1, 2, 3, 4, 5, 7, 8, 10}) {
    CHECK(Has(out, "ok #" + std::to_string(pr) + " +.*merged +merged\n"));
  }
  CHECK(Has(out, "ok #6 +Make add faster +kicked \\(test failed\\) +kicked \\(test failed\\)"));
  CHECK(Has(out, "ok #9 +.*refused \\(conflict\\) +refused \\(conflict\\)"));
  // Phase 3: the forge's CI decides; its failing check is named and linked.
  for (int pr : {11, 13}) CHECK(Has(out, "ok #" + std::to_string(pr) + " +.*merged +merged\n"));
  CHECK(Has(out, "ok #12 +Shorter subtraction +kicked \\(test failed\\) +kicked \\(test failed\\)"));
  CHECK(Has(out, "#12 KICKED: Failed check `tests`"));
  CHECK(Has(out, "FAILED at check .tests. \\(log: http://127\\.0\\.0\\.1:\\d+/demo/calculator/actions/runs/"));
  CHECK(Has(out, "the forge's CI ran [1-9][0-9]* times"));
  // What happened on the way.
  CHECK(Has(out, "#9 REFUSED at once: .*`lib/sub.sh`"));
  CHECK(Has(out, "#6 KICKED: Failed step `unit`"));
  CHECK(Has(out, "bisection half \\d+ formed: #6"));
  CHECK(Has(out, "FAILED at step 'unit' \\(log: http://127\\.0\\.0\\.1:\\d+/api/v1/executions/"));
  CHECK(Has(out, "answered from the action cache|answered from the cache"));
  CHECK(Has(out, "main [0-9a-f]{12}: the test suite passes on it"));
  CHECK(Has(out, "dashboard: http://127\\.0\\.0\\.1:\\d+/"));
  // Nothing is left behind after a successful run.
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("service log: (/\\S+)/serve\\.log")));
  CHECK_FALSE(std::filesystem::exists(m[1].str()));
}

TEST_CASE("mergeyard demo --dir keeps its files: the forge's repository, the service's data and log") {
  const char* binary = std::getenv("MERGEYARD_BINARY");
  REQUIRE(binary != nullptr);
  mergeyard::testing::TempDir tmp;
  const std::string dir = tmp.path() + "/demo";
  std::string out;
  const int code = RunCapture(std::string(binary) + " demo --timeout 150 --dir '" + dir + "'", &out);
  INFO(out);
  CHECK(code == 0);
  CHECK(std::filesystem::exists(dir + "/data/mergeyard.db"));
  CHECK(std::filesystem::exists(dir + "/serve.log"));
  CHECK(std::filesystem::exists(dir + "/forge/demo/calculator.git/HEAD"));
  // main's history holds the merged pull requests' files, and not the bad change.
  std::string tree;
  RunCapture("git -C '" + dir + "/forge/demo/calculator.git' ls-tree -r --name-only main", &tree);
  for (const char* f : {"lib/sub.sh", "lib/mul.sh", "tests/test_mirror.sh", "lib/div.sh", "lib/mod.sh",
                        "lib/pow.sh", "lib/max.sh", "lib/min.sh", "lib/abs.sh", "lib/avg.sh"}) {
    CHECK(tree.find(f) != std::string::npos);
  }
  std::string add;
  RunCapture("git -C '" + dir + "/forge/demo/calculator.git' show main:lib/add.sh", &add);
  CHECK(add.find("$1 + $2") != std::string::npos);
}
