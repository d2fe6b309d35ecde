#pragma once
// A simulation scenario (DESIGN.md section 5, "Scenario format"), and the
// workload generator that extends it. All times in a scenario are seconds.
//
// Extension: a "workload" object generates pull requests in addition to (or
// instead of) "prs":
//   "workload": {"tier": "S"|"M"|"L",          // presets from performance.md §6
//                "days": 7, "prs_per_weekday": 400, "peak_ratio": 2.5,
//                "weekend_factor": 0.15, "bad_rate": 0.05, "flake_rate": 0.03,
//                "ci_median_s": 1200, "ci_sigma": 0.45, "hang_rate": 0.01,
//                "bursts": [{"at_s": 34200, "count": 20, "within_s": 60}],
//                "shared_fraction": 0.3, "action_merging": true,
//                "interaction_rate": 0.035, "interaction_window_s": 2400}
// "ci" also takes "shared_fraction" and "action_merging" (see CiModel).
// "config" also takes "pretest" and "pretest_bypass" (see queue::QueueConfig).
// Any explicit key overrides the tier's preset. Generated pull requests are
// named P1, P2, ... in arrival order. With a workload, run durations are drawn
// per run from a lognormal (median ci_median_s, sigma ci_sigma, truncated at
// 4x the median; hang_rate of runs hang to a 3x-median timeout) and every run
// fails with probability flake_rate, all from the scenario's seed.
//
// Interaction failures (additive): a pull request's "fails_with" lists ids of
// pull requests it fails together with: a run fails when its tree holds both
// (the target's history counts: once one has landed, every tree holding the
// other fails). The relation is symmetric; each passes alone. A workload's
// "interaction_rate" (default 0; performance.md §6 proposes 0.035) gives each
// generated pull request, with that probability, one partner drawn uniformly
// from the pull requests that arrived in the interaction_window_s before it
// (default twice ci_median_s, roughly those still in flight), from a random
// stream of its own: the same seed gives the same arrivals, bad pull requests
// and run durations whatever the rate.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "queue/config.h"

namespace mergeyard::sim {

struct ScenarioPr {
  std::string id;
  double arrive_s = 0;
  bool bad = false;
  std::vector<int> fail_runs;            // 1-based ordinals of runs holding it that fail
  int priority = 128;
  std::optional<double> ci_duration_s;   // overrides the duration of runs holding it
  std::vector<std::string> fails_with;   // ids it fails together with (see above)
};

struct CiModel {
  double duration_s = 3600;   // fixed duration, or the median when sigma > 0
  double sigma = 0;           // lognormal sigma; 0 = fixed
  double hang_rate = 0;       // runs that hang until a 3x-median timeout
  double flake_rate = 0;      // probability that any run fails spuriously
  // A shared slow step: this fraction of every run is an action whose inputs
  // no pull request touches, so its digest is the same for every run on the
  // same target tip. With action_merging the execution backend runs it once
  // per tip (later runs join it or hit the cache); without, every run pays it.
  double shared_fraction = 0;
  bool action_merging = true;
};

struct Scenario {
  queue::QueueConfig config;
  CiModel ci;
  std::uint64_t seed = 1;
  std::vector<ScenarioPr> prs;   // sorted by arrival; ties keep the file's order
  bool generated = false;
};

// Parses (and generates) a scenario. Errors name the offending key.
Result<Scenario> ParseScenario(const nlohmann::json& j);
Result<Scenario> LoadScenarioFile(const std::string& path);

// True when no run can fail except by holding a bad pull request or an
// interacting pair, so every good pull request must merge and every bad one
// must be kicked, save the pairs: once one of a pair lands the other must be
// kicked, and never may both land.
bool HasNoFlakes(const Scenario& s);

// The "fails_with" relation made symmetric: for each pull request (index in
// `s.prs`), the indexes of the pull requests it fails together with, ascending.
std::vector<std::vector<size_t>> FailPartners(const Scenario& s);

}  // namespace mergeyard::sim
