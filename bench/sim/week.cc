// One simulation, timed: a generated week of a tier (or a scenario file)
// through the real engine, for profiling the queue and checking that a
// change leaves the simulator's outputs as they were.
//
//   build/bench/sim/sim_week [--tier S|M|L] [--days D] [--seed N] [--bad R] [--flake R]
//                            [--config JSON] [--scenario FILE] [--json OUT] [--oracle]
//
// --config takes the scenario's "config" object (e.g. '{"concurrency": 16}');
// without it the policy is spec c16 b8 d1 with optimistic merging.
// --json writes the full result (DESIGN.md section 5 shape, with every batch)
// to OUT. Prints the wall time of the simulation and its metrics.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "sim/oracle.h"
#include "sim/scenario.h"
#include "sim/simulator.h"

using namespace mergeyard;
using namespace mergeyard::sim;

int main(int argc, char** argv) {
  std::string tier = "L", scenario_file, json_out;
  double days = 7, bad = 0.05, flake = 0.03;
  int seed = 1;
  bool oracle = false;
  nlohmann::json config = {{"target_batch_size", 8}, {"max_wait_s", 300}, {"concurrency", 16},
                           {"pending_failure_depth", 1}, {"optimistic_merging", true},
                           {"bisection_concurrency", 4}, {"singleton_retries", 1}};
  for (int i = 1; i < argc; ++i) {
    auto arg = [&](const char* name) { return !std::strcmp(argv[i], name) && i + 1 < argc; };
    if (arg("--tier")) tier = argv[++i];
    else if (arg("--days")) days = std::atof(argv[++i]);
    else if (arg("--seed")) seed = std::atoi(argv[++i]);
    else if (arg("--bad")) bad = std::atof(argv[++i]);
    else if (arg("--flake")) flake = std::atof(argv[++i]);
    else if (arg("--scenario")) scenario_file = argv[++i];
    else if (arg("--json")) json_out = argv[++i];
    else if (arg("--config")) {
      auto extra = nlohmann::json::parse(argv[++i], nullptr, false);
      if (extra.is_discarded() || !extra.is_object()) {
        std::fprintf(stderr, "--config takes a JSON object\n");
        return 2;
      }
      config.update(extra);
    } else if (!std::strcmp(argv[i], "--oracle")) oracle = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--tier S|M|L] [--days D] [--seed N] [--bad R] [--flake R] "
                   "[--config JSON] [--scenario FILE] [--json OUT] [--oracle]\n",
                   argv[0]);
      return 2;
    }
  }
  Result<Scenario> sc = [&]() -> Result<Scenario> {
    if (!scenario_file.empty()) return LoadScenarioFile(scenario_file);
    nlohmann::json j;
    j["seed"] = seed;
    j["config"] = config;
    j["workload"] = {{"tier", tier}, {"days", days}, {"bad_rate", bad}, {"flake_rate", flake}};
    return ParseScenario(j);
  }();
  if (!sc.ok()) {
    std::fprintf(stderr, "%s\n", sc.error().message.c_str());
    return 1;
  }
  SimOptions opt;
  opt.keep_batches = !json_out.empty();
  auto start = std::chrono::steady_clock::now();
  auto r = Simulate(*sc, opt);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  const Metrics& m = r->metrics;
  std::printf("%zu prs, %lld transitions, %.2f s wall; merged %d kicked %d (false %d) "
              "p50 %.1f min p95 %.1f min runs/merged %.3f makespan %.1f h\n",
              sc->prs.size(), static_cast<long long>(r->transitions), wall, m.merged, m.kicked,
              m.false_kicks, m.p50_time_to_merge_s / 60, m.p95_time_to_merge_s / 60,
              m.ci_runs_per_merged, m.makespan_s / 3600);
  if (oracle) {
    SimResult o = SimulateOracle(*sc);
    std::printf("oracle: p50 %.1f min p95 %.1f min runs/merged %.3f\n",
                o.metrics.p50_time_to_merge_s / 60, o.metrics.p95_time_to_merge_s / 60,
                o.metrics.ci_runs_per_merged);
  }
  if (!json_out.empty()) {
    auto j = ToJson(*r);
    j["transitions"] = r->transitions;
    std::ofstream(json_out) << j.dump(1) << "\n";
  }
  return 0;
}
