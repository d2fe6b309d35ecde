#include "app/demo_repo.h"

namespace mergeyard::app {

namespace {

// The queue is tuned for a demo: batches of three, a short wait, two batches
// testing at once, one pending failure with optimistic merging.
const char* kMergeyardYml = R"(# mergeyard's settings for this repository (read from main only).
queue:
  target_batch_size: 3
  max_wait: 4s
  concurrency: 2
  pending_failure_depth: 1
  optimistic_merging: true
  bisection: binary
  bisection_concurrency: 2
  singleton_retries: 1
  merge_method: merge
pipeline:
  - name: unit
    run: sh tests/run.sh
    timeout: 1m
  - name: docs
    run: sh tools/check_docs.sh
    inputs: [docs/]
    timeout: 1m
)";

// Phase 3: the same queue, tested by the forge's own CI instead of mergeyard's
// executors.
const char* kMergeyardChecksYml = R"(# mergeyard's settings for this repository (read from main only).
# The team's CI runs tests/run.sh on every push to mergeyard/batch/**
# and reports the check `tests`; mergeyard waits for it.
queue:
  target_batch_size: 3
  max_wait: 4s
  concurrency: 2
  bisection: binary
  bisection_concurrency: 2
  merge_method: merge
checks:
  required: [tests]
  timeout: 2m
)";

const char* kRunTests = R"(#!/bin/sh
# Runs every tests/test_*.sh; fails when one of them fails. (The sleep
# stands for a suite that takes a while, so the queue has time to stack.)
sleep 1
status=0
for t in tests/test_*.sh; do
  if sh "$t"; then echo "PASS $t"; else echo "FAIL $t"; status=1; fi
done
exit $status
)";

const char* kTestLib = R"(# Test helpers: loads the calculator and compares results.
for f in lib/*.sh; do . "./$f"; done
check() {
  expected=$1; shift
  got=$("$@")
  if [ "$got" != "$expected" ]; then echo "  $*: expected $expected, got $got"; exit 1; fi
}
)";

const char* kCheckDocs = R"(#!/bin/sh
# Checks the documentation: no TODO left, every page has a title.
sleep 1
for f in docs/*.md; do
  head -n 1 "$f" | grep -q '^# ' || { echo "$f: no title"; exit 1; }
done
if grep -n TODO docs/*.md; then exit 1; fi
echo "docs ok"
)";

std::string Test(const std::string& checks) { return ". tests/lib.sh\n" + checks; }

}  // namespace

std::string DemoChecksConfig() { return kMergeyardChecksYml; }

FileMap DemoMainFiles() {
  return {{"README.md", "# calculator\n\nA calculator in POSIX sh: mergeyard's demo repository.\n"},
          {".mergeyard.yml", kMergeyardYml},
          {"lib/add.sh", "add() { echo $(($1 + $2)); }\n"},
          {"tests/run.sh", kRunTests},
          {"tests/lib.sh", kTestLib},
          {"tests/test_add.sh", Test("check 5 add 2 3\ncheck 0 add -4 4\ncheck -7 add -3 -4\n")},
          {"tools/check_docs.sh", kCheckDocs},
          {"docs/guide.md", "# Guide\n\nSource lib/*.sh and call add, sub, ...\n"}};
}

std::vector<DemoPull> DemoPulls(const std::string& flaky_marker) {
  const std::string mirror_test =
      "# Fetches the package index from the mirror. (In the demo a marker file\n"
      "# stands for the mirror being down: the test is flaky, not the change.)\n"
      "if [ -e '" + flaky_marker + "' ]; then echo '  mirror: connection reset by peer'; exit 1; fi\n"
      "echo '  mirror: index fetched'\n";
  std::vector<DemoPull> p = {
      {1, "Add subtraction", "good",
       {{"lib/sub.sh", "sub() { echo $(($1 - $2)); }\n"}, {"tests/test_sub.sh", Test("check 1 sub 3 2\ncheck -5 sub 0 5\n")}}},
      {2, "Add multiplication", "good",
       {{"lib/mul.sh", "mul() { echo $(($1 * $2)); }\n"}, {"tests/test_mul.sh", Test("check 6 mul 2 3\ncheck 0 mul 0 9\n")}}},
      {3, "Check the package mirror", "flaky test", {{"tests/test_mirror.sh", mirror_test}}},
      {4, "Add integer division", "good",
       {{"lib/div.sh", "div() { [ \"$2\" -ne 0 ] || { echo 'division by zero' >&2; return 1; }; echo $(($1 / $2)); }\n"},
        {"tests/test_div.sh", Test("check 3 div 7 2\ncheck -2 div -4 2\n")}}},
      {5, "Add modulo", "good",
       {{"lib/mod.sh", "mod() { echo $(($1 % $2)); }\n"}, {"tests/test_mod.sh", Test("check 1 mod 7 3\n")}}},
      {6, "Make add faster", "breaks a test", {{"lib/add.sh", "add() { echo $(($1 | $2)); }  # bitwise: faster!\n"}}},
      {7, "Add power", "good",
       {{"lib/pow.sh", "pow() { r=1; i=0; while [ $i -lt $2 ]; do r=$((r * $1)); i=$((i + 1)); done; echo $r; }\n"},
        {"tests/test_pow.sh", Test("check 8 pow 2 3\ncheck 1 pow 5 0\n")}}},
      {8, "Add max", "good",
       {{"lib/max.sh", "max() { if [ $1 -ge $2 ]; then echo $1; else echo $2; fi; }\n"},
        {"tests/test_max.sh", Test("check 4 max 4 2\ncheck 9 max 1 9\n")}}},
      {9, "Subtraction with expr", "conflicts",
       {{"lib/sub.sh", "sub() { expr \"$1\" - \"$2\"; }\n"}, {"tests/test_sub.sh", Test("check 2 sub 5 3\n")}}},
      {10, "Add min", "good",
       {{"lib/min.sh", "min() { if [ $1 -le $2 ]; then echo $1; else echo $2; fi; }\n"},
        {"tests/test_min.sh", Test("check 2 min 4 2\ncheck -1 min -1 9\n")}}},
      {11, "Add absolute value", "good",
       {{"lib/abs.sh", "abs() { if [ $1 -lt 0 ]; then echo $((0 - $1)); else echo $1; fi; }\n"},
        {"tests/test_abs.sh", Test("check 3 abs -3\ncheck 4 abs 4\n")}}},
      {12, "Shorter subtraction", "breaks a test", {{"lib/sub.sh", "sub() { echo $(($1 + $2)); }  # shorter!\n"}}},
      {13, "Add average", "good",
       {{"lib/avg.sh", "avg() { echo $((($1 + $2) / 2)); }\n"}, {"tests/test_avg.sh", Test("check 3 avg 2 4\n")}}},
  };
  for (auto& pull : p) pull.phase = pull.number <= 5 ? 1 : pull.number <= 10 ? 2 : 3;
  p[5].expected = DemoOutcome::kKickedFailure;
  p[8].expected = DemoOutcome::kRefusedConflict;
  p[11].expected = DemoOutcome::kKickedFailure;
  return p;
}

const char* DemoOutcomeName(DemoOutcome o) {
  switch (o) {
    case DemoOutcome::kMerged: return "merged";
    case DemoOutcome::kKickedFailure: return "kicked (test failed)";
    case DemoOutcome::kRefusedConflict: return "refused (conflict)";
  }
  return "";
}

}  // namespace mergeyard::app
