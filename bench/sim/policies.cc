// Queue policies side by side on the simulator's workloads (issue 2).
//
//   build/bench/sim/bench_policies [--seeds N] [--tiers S,M,L] [--sweep] [--merging]
//                                  [--interactions RATE] [--bad RATE] [--flake RATE]
//                                  [--policy SPEC]...
//
// For each tier (performance.md §6: a week of arrivals with a daily cycle and
// a Monday burst, lognormal CI durations, 5% bad and 3% flaky runs by
// default, or --bad and --flake) and each policy, runs the real engine
// through the simulator and the Oracle with the same formation settings, and
// prints p50/p95 time to merge, merged per hour, CI runs per merged pull
// request and false kicks, with the ratios to the Oracle. First it prints
// each tier's peak-hour load against the ceiling of a speculative chain. --sweep adds the medium tier at bad rates
// 2-20% and flake rates 0-10% for the speculative policies. --merging compares
// CI compute per merged pull request with the execution backend's action
// merging on and off, when a shared slow step (30% of every run, its inputs
// untouched by the pull requests) is identical across runs on the same tip.
// The "pre" policies turn on QueueConfig::pretest (see its comment).
// --interactions RATE gives every workload interaction failures (a pull
// request failing only together with one partner in flight ahead of it;
// performance.md §6 proposes 0.035); the Oracle drops the later one of each
// pair, and a kick of a pull request whose partner merged is no false kick.
// --policy SPEC (repeatable) measures the given policies instead of the
// table's: "b8,c16,d1,opt,pre,bc32,+2" (batch, concurrency, pending-failure
// depth, optimistic merging, pretest, bisection concurrency, pretest bypass).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "sim/oracle.h"
#include "sim/scenario.h"
#include "sim/simulator.h"

using namespace mergeyard;
using namespace mergeyard::sim;

namespace {

struct Policy {
  const char* name;
  int batch;
  int concurrency;
  int depth;
  bool optimistic;
  bool pretest = false;
  int bisection_concurrency = 4;
  int pretest_bypass = 0;
};

// "spec": speculative stacking (concurrency > 1); "dN": pending_failure_depth
// N with optimistic merging; "pre": pretest on (bisection_concurrency 2x the
// concurrency, at least 16), "+N": pretest_bypass N; "bcN": bisection_concurrency.
const Policy kPolicies[] = {
    {"serial", 1, 1, 0, false},
    {"batch8+bisect", 8, 1, 0, false},
    {"trunk d1", 4, 2, 1, true},
    {"trunk d2", 4, 2, 2, true},
    {"spec c4 b4", 4, 4, 0, false},
    {"spec c4 b4 d1", 4, 4, 1, true},
    {"spec c8 b2 d1", 2, 8, 1, true},
    {"spec c8 b4 d1", 4, 8, 1, true},
    {"spec c16 b8 d1", 8, 16, 1, true},
    {"spec c64 b8 d1", 8, 64, 1, true},
    {"spec c64 b8 d1 bc128", 8, 64, 1, true, false, 128},
    {"pre c4 b4 d1", 4, 4, 1, true, true, 16},
    {"pre c8 b4 d1", 4, 8, 1, true, true, 16},
    {"pre c8 b4 d1 +2", 4, 8, 1, true, true, 16, 2},
    {"pre c16 b8 d1", 8, 16, 1, true, true, 32},
    {"pre c32 b8 d1", 8, 32, 1, true, true, 64},
    {"pre c64 b8 d1", 8, 64, 1, true, true, 128},
};

// Parses a --policy SPEC; false on a malformed one.
bool ParsePolicy(const std::string& spec, Policy* out) {
  static std::deque<std::string> names;  // keeps Policy::name alive
  names.push_back(spec);
  *out = Policy{names.back().c_str(), 4, 1, 0, false};
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = std::min(spec.find(',', pos), spec.size());
    std::string part = spec.substr(pos, end - pos);
    pos = end + 1;
    auto number = [&](size_t skip) { return std::atoi(part.c_str() + skip); };
    if (part == "opt") out->optimistic = true;
    else if (part == "pre") out->pretest = true;
    else if (part.rfind("bc", 0) == 0) out->bisection_concurrency = number(2);
    else if (part.rfind("b", 0) == 0) out->batch = number(1);
    else if (part.rfind("c", 0) == 0) out->concurrency = number(1);
    else if (part.rfind("d", 0) == 0) out->depth = number(1);
    else if (part.rfind("+", 0) == 0) out->pretest_bypass = number(1);
    else return false;
  }
  // As in the table: pretest batches share the bisection slots, so "pre"
  // without "bcN" gets twice the concurrency, at least 16.
  if (out->pretest && spec.find("bc") == std::string::npos) {
    out->bisection_concurrency = std::max(16, 2 * out->concurrency);
  }
  return out->batch >= 1 && out->concurrency >= 1 && out->bisection_concurrency >= 1;
}

nlohmann::json ConfigOf(const Policy& p) {
  return {{"target_batch_size", p.batch}, {"max_wait_s", 300},
          {"concurrency", p.concurrency}, {"pending_failure_depth", p.depth},
          {"optimistic_merging", p.optimistic}, {"bisection_concurrency", p.bisection_concurrency},
          {"singleton_retries", 1}, {"pretest", p.pretest}, {"pretest_bypass", p.pretest_bypass}};
}

struct Row {
  double p50 = 0, p95 = 0, per_hour = 0, runs_per_merged = 0, false_kick_pct = 0;
  double o_p50 = 0, o_p95 = 0, o_runs = 0, seconds = 0;
  int merged = 0;
  bool ok = true;
  std::string error;
};

double interaction_rate = 0;  // --interactions

nlohmann::json Workload(const std::string& tier, double bad, double flake) {
  return {{"tier", tier}, {"days", 7}, {"bad_rate", bad}, {"flake_rate", flake},
          {"interaction_rate", interaction_rate}};
}

// Arrivals per hour the policy can absorb, against the week's mean rate.
bool Diverges(const Policy& p, const Scenario& sc) {
  double week_hours = 7 * 24;
  double mean_rate = sc.prs.size() / week_hours;
  double capacity = p.concurrency * p.batch / (sc.ci.duration_s / 3600);
  return capacity < 1.3 * mean_rate;
}

// CI compute hours per merged pull request over `seeds` weeks of tier M.
double ComputePerMerged(const Policy& p, bool merging, int seeds) {
  double total = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    nlohmann::json j;
    j["seed"] = seed;
    j["config"] = ConfigOf(p);
    j["workload"] = Workload("M", 0.05, 0.03);
    j["workload"]["shared_fraction"] = 0.3;
    j["workload"]["action_merging"] = merging;
    auto sc = ParseScenario(j);
    SimOptions opt;
    opt.keep_batches = false;
    auto r = Simulate(*sc, opt);
    if (!r.ok() || r->metrics.merged == 0) return -1;
    total += r->metrics.ci_compute_hours / r->metrics.merged / seeds;
  }
  return total;
}

void MergingTable(const std::vector<Policy>& policies, int seeds) {
  std::printf("\nshared slow step = 30%% of each run, tier M, 5%% bad, 3%% flaky: CI compute minutes per merged PR\n");
  std::printf("%-20s %12s %12s %10s\n", "policy", "merging off", "merging on", "saved");
  for (const Policy& p : policies) {
    if (p.concurrency < 2) continue;
    double off = ComputePerMerged(p, false, seeds), on = ComputePerMerged(p, true, seeds);
    std::printf("%-20s %12.1f %12.1f %9.1f%%\n", p.name, off * 60, on * 60,
                off > 0 ? 100 * (off - on) / off : 0);
  }
}

Row Measure(const Policy& p, const std::string& tier, double bad, double flake, int seeds) {
  Row row;
  for (int seed = 1; seed <= seeds; ++seed) {
    nlohmann::json j;
    j["seed"] = seed;
    j["config"] = ConfigOf(p);
    j["workload"] = Workload(tier, bad, flake);
    auto sc = ParseScenario(j);
    if (!sc.ok()) { row.ok = false; row.error = sc.error().message; return row; }
    if (Diverges(p, *sc)) { row.ok = false; row.error = "diverges"; return row; }
    SimOptions opt;
    opt.keep_batches = false;
    auto start = std::chrono::steady_clock::now();
    auto r = Simulate(*sc, opt);
    row.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!r.ok()) {  // the first line: a liveness error goes on with the queue's state
      row.ok = false;
      row.error = r.error().message.substr(0, std::min<size_t>(200, r.error().message.find('\n')));
      return row;
    }
    SimResult o = SimulateOracle(*sc);
    const Metrics& m = r->metrics;
    row.p50 += m.p50_time_to_merge_s / seeds;
    row.p95 += m.p95_time_to_merge_s / seeds;
    row.per_hour += m.merged_per_hour / seeds;
    row.runs_per_merged += m.ci_runs_per_merged / seeds;
    int good = 0;
    for (const auto& pr : sc->prs) good += pr.bad ? 0 : 1;
    row.false_kick_pct += good ? 100.0 * m.false_kicks / good / seeds : 0;
    row.o_p50 += o.metrics.p50_time_to_merge_s / seeds;
    row.o_p95 += o.metrics.p95_time_to_merge_s / seeds;
    row.o_runs += o.metrics.ci_runs_per_merged / seeds;
    row.merged += m.merged;
  }
  row.seconds /= seeds;
  return row;
}

// The load against the ceiling of a speculative chain (performance.md §5):
// a chain resolves at most 1/p(bad) pull requests per CI run, however it
// batches, so past that rate at the peak hour it falls behind until evening.
void PrintLoad(const std::string& tier, double bad, double flake) {
  nlohmann::json j;
  j["seed"] = 1;
  j["workload"] = Workload(tier, bad, flake);
  auto sc = ParseScenario(j);
  if (!sc.ok() || sc->prs.empty()) return;
  size_t peak = 0;
  for (size_t i = 0, k = 0; i < sc->prs.size(); ++i) {
    while (sc->prs[i].arrive_s - sc->prs[k].arrive_s >= 3600) ++k;
    peak = std::max(peak, i - k + 1);
  }
  const double runs_per_hour = 3600 / sc->ci.duration_s;
  std::printf("tier %s: peak hour %zu arrivals = %.1f per median CI run; a speculative chain resolves at most "
              "1/p = %.0f per run (%.0f/h)\n",
              tier.c_str(), peak, peak / runs_per_hour, bad > 0 ? 1 / bad : 0.0,
              bad > 0 ? runs_per_hour / bad : 0.0);
}

void Header() {
  std::printf("%-5s %-5s %-6s %-20s %9s %9s %9s %10s %9s %9s %9s %9s %9s %8s\n", "tier", "bad",
              "flake", "policy", "p50 min", "p95 min", "merged/h", "runs/merged", "false %",
              "orcl p50", "orcl p95", "p95/orcl", "runs/orcl", "sim s");
}

void Print(const std::string& tier, double bad, double flake, const char* name, const Row& r) {
  if (!r.ok) {
    std::printf("%-5s %-5.2f %-6.2f %-20s %s\n", tier.c_str(), bad, flake, name, r.error.c_str());
    return;
  }
  std::printf("%-5s %-5.2f %-6.2f %-20s %9.1f %9.1f %9.1f %10.2f %9.3f %9.1f %9.1f %9.2f %9.2f %8.2f\n",
              tier.c_str(), bad, flake, name, r.p50 / 60, r.p95 / 60, r.per_hour,
              r.runs_per_merged, r.false_kick_pct, r.o_p50 / 60, r.o_p95 / 60,
              r.o_p95 > 0 ? r.p95 / r.o_p95 : 0,
              r.o_runs > 0 ? r.runs_per_merged / r.o_runs : 0, r.seconds);
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 3;
  std::vector<std::string> tiers{"S", "M", "L"};
  bool sweep = false;
  bool merging = false;
  double bad = 0.05, flake = 0.03;
  std::vector<Policy> policies(std::begin(kPolicies), std::end(kPolicies));
  std::vector<Policy> chosen;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seeds") && i + 1 < argc) seeds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--tiers") && i + 1 < argc) {
      tiers.clear();
      for (char* t = std::strtok(argv[++i], ","); t; t = std::strtok(nullptr, ",")) tiers.push_back(t);
    } else if (!std::strcmp(argv[i], "--sweep")) sweep = true;
    else if (!std::strcmp(argv[i], "--merging")) merging = true;
    else if (!std::strcmp(argv[i], "--interactions") && i + 1 < argc) interaction_rate = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--bad") && i + 1 < argc) bad = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--flake") && i + 1 < argc) flake = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--policy") && i + 1 < argc && ParsePolicy(argv[i + 1], &chosen.emplace_back())) ++i;
    else {
      std::fprintf(stderr,
                   "usage: %s [--seeds N] [--tiers S,M,L] [--sweep] [--merging] [--interactions RATE]"
                   " [--bad RATE] [--flake RATE] [--policy b8,c16,d1,opt,pre,bc32,+2]...\n",
                   argv[0]);
      return 2;
    }
  }
  if (!chosen.empty()) policies = chosen;
  std::printf("a week per run, %d seed(s); oracle = same batch size, concurrency, max wait and CI durations;"
              " interaction rate %.3f\n", seeds, interaction_rate);
  for (const auto& tier : tiers) PrintLoad(tier, bad, flake);
  Header();
  for (const auto& tier : tiers) {
    for (const Policy& p : policies) Print(tier, bad, flake, p.name, Measure(p, tier, bad, flake, seeds));
  }
  if (sweep) {
    for (double bad : {0.02, 0.05, 0.10, 0.20}) {
      for (double flake : {0.0, 0.03, 0.10}) {
        for (const Policy& p : policies) {
          if (p.concurrency < 4) continue;
          Print("M", bad, flake, p.name, Measure(p, "M", bad, flake, seeds));
        }
      }
    }
  }
  if (merging) MergingTable(policies, seeds);
  return 0;
}
