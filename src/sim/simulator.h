#pragma once
// Runs a scenario through the real Engine (and so the real queue::Step) on a
// virtual clock, with the World's fakes behind the ports. The invariants of
// DESIGN.md section 2 are checked after every transition; the first broken
// one stops the run with an error naming the step, and so does liveness: no
// pull request may be tested in more than SimOptions::max_own_runs batches of
// its own (a queue that loops stops there). At the end: every pull request
// ended exactly once and the queue is empty; without flakes, every good pull request
// merged and every bad one was kicked, except that of a pair that fails
// together (ScenarioPr::fails_with) never both merged, and one is kicked only
// if a partner merged.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "sim/scenario.h"

namespace mergeyard::sim {

struct PrResult {
  std::string outcome;   // merged | kicked | cancelled | "" (never ended)
  double enqueued_s = 0;
  double done_s = -1;
  bool bad = false;
  bool partner_merged = false;  // one it fails together with merged: a kick is right
};

struct BatchResult {
  std::int64_t id = 0;
  std::vector<std::string> prs;
  std::string base;      // the target branch name, or "batch:<id>" it was stacked on
  std::string kind;      // main | bisect
  std::string result;    // pass | fail | cancelled
  double start_s = 0;
  double end_s = 0;
};

struct Metrics {
  int merged = 0;
  int kicked = 0;
  int false_kicks = 0;   // good pull requests kicked (with no partner merged)
  int escapes = 0;       // bad pull requests merged
  double p50_time_to_merge_s = 0;
  double p95_time_to_merge_s = 0;
  double ci_runs_per_merged = 0;
  double ci_hours = 0;          // wall-clock hours of runs
  double ci_compute_hours = 0;  // compute hours, the shared step counted once per execution
  double makespan_s = 0;
  double merged_per_hour = 0;
};

struct SimResult {
  std::map<std::string, PrResult> prs;
  int ci_runs = 0;
  std::vector<BatchResult> batches;
  Metrics metrics;
  std::int64_t transitions = 0;
};

struct SimOptions {
  bool trace = false;        // print every transition to stderr
  bool keep_batches = true;  // record every batch (off for long benchmark runs)
  // Liveness: a pull request tested in more batches of its own than this is
  // an error. The busiest benchmark weeks (tier L, 10% flaky runs) stay far
  // below it; a queue that re-forms the same failing batch does not.
  int max_own_runs = 100;
};

Result<SimResult> Simulate(const Scenario& scenario, const SimOptions& options = {});

// The JSON shape of DESIGN.md section 5.
nlohmann::json ToJson(const SimResult& result);
// A readable summary for people.
std::string Summary(const SimResult& result);

// Percentile (0..100) of `values` by nearest rank; 0 when empty.
double Percentile(std::vector<double> values, double pct);

// Fills metrics from prs and runs.
void ComputeMetrics(SimResult& r, double ci_seconds);

}  // namespace mergeyard::sim
