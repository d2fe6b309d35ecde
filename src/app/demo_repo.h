#pragma once
// The sample repository of `mergeyard demo` and its pull requests: a tiny
// calculator in POSIX sh with a test suite, and the pull requests the demo
// opens, each with the outcome a correct merge queue gives it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mergeyard::app {

using FileMap = std::map<std::string, std::string>;  // path -> content

enum class DemoOutcome { kMerged, kKickedFailure, kRefusedConflict };

struct DemoPull {
  std::int64_t number = 0;
  std::string title;
  std::string kind;        // "good", "breaks a test", "conflicts", "flaky test"
  FileMap files;           // what the pull request changes, on its own branch from main
  DemoOutcome expected = DemoOutcome::kMerged;
  int phase = 1;           // 1 shows optimistic merging, 2 bisection, 3 the forge's CI deciding
};

// The first commit of `main`: the calculator, its tests and .mergeyard.yml.
// `flaky_marker`: an absolute path; the flaky pull request's test fails while
// a file exists there (it stands for a package mirror that is down).
FileMap DemoMainFiles();

// `.mergeyard.yml` of phase 3: the same queue, with `checks` instead of a pipeline.
std::string DemoChecksConfig();

// The pull requests, in the order they are opened. Those of phases 1 and 2
// branch from the first `main` (the conflicting one clashes with one that
// lands first); those of phase 3 from `main` as phase 3 begins.
std::vector<DemoPull> DemoPulls(const std::string& flaky_marker);

const char* DemoOutcomeName(DemoOutcome o);

}  // namespace mergeyard::app
