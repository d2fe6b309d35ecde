#include "sim/scenario.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

namespace mergeyard::sim {
namespace {

using nlohmann::json;

// Relative arrival weight of each hour of a weekday: about 70% of the volume
// between 09:00 and 18:00, a morning peak near 10:00 (performance.md §6).
constexpr double kHourWeights[24] = {0.35, 0.25, 0.2, 0.2, 0.2, 0.3, 0.5, 0.9, 1.6, 3.2, 4.0, 3.7,
                                     2.9,  3.0,  3.1, 2.9, 2.7, 2.4, 1.4, 1.0, 0.9, 0.8, 0.6, 0.45};

struct Workload {
  double days = 7;
  double prs_per_weekday = 400;
  double peak_ratio = 2.5;
  double weekend_factor = 0.15;
  double bad_rate = 0.05;
  double flake_rate = 0.03;
  double ci_median_s = 1200;
  double ci_sigma = 0.45;
  double hang_rate = 0.01;
  double interaction_rate = 0;
  double interaction_window_s = 0;  // ParseWorkload's default: twice ci_median_s
  struct Burst {
    double at_s = 0;
    int count = 0;
    double within_s = 60;
  };
  std::vector<Burst> bursts{{9.5 * 3600, 20, 60}};  // Monday 09:30
};

Result<Workload> ParseWorkload(const json& w) {
  Workload out;
  std::string tier = w.value("tier", "M");
  if (tier == "S") { out.prs_per_weekday = 40; out.ci_median_s = 8 * 60; }
  else if (tier == "M") { out.prs_per_weekday = 400; out.ci_median_s = 20 * 60; }
  else if (tier == "L") { out.prs_per_weekday = 4000; out.ci_median_s = 30 * 60; }
  else return Invalid("workload.tier must be S, M or L");
  out.days = w.value("days", out.days);
  out.prs_per_weekday = w.value("prs_per_weekday", out.prs_per_weekday);
  out.peak_ratio = w.value("peak_ratio", out.peak_ratio);
  out.weekend_factor = w.value("weekend_factor", out.weekend_factor);
  out.bad_rate = w.value("bad_rate", out.bad_rate);
  out.flake_rate = w.value("flake_rate", out.flake_rate);
  out.ci_median_s = w.value("ci_median_s", out.ci_median_s);
  out.ci_sigma = w.value("ci_sigma", out.ci_sigma);
  out.hang_rate = w.value("hang_rate", out.hang_rate);
  out.interaction_rate = w.value("interaction_rate", out.interaction_rate);
  out.interaction_window_s = w.value("interaction_window_s", 2 * out.ci_median_s);
  if (w.contains("bursts")) {
    out.bursts.clear();
    for (const auto& b : w.at("bursts")) {
      out.bursts.push_back({b.value("at_s", 0.0), b.value("count", 0), b.value("within_s", 60.0)});
    }
  }
  if (out.days <= 0 || out.prs_per_weekday < 0 || out.ci_median_s <= 0)
    return Invalid("workload: days, ci_median_s must be positive, prs_per_weekday not negative");
  for (double rate : {out.bad_rate, out.flake_rate, out.hang_rate, out.weekend_factor,
                      out.interaction_rate})
    if (rate < 0 || rate > 1) return Invalid("workload: rates must be within 0..1");
  if (out.interaction_window_s < 0) return Invalid("workload.interaction_window_s must not be negative");
  return out;
}

// A non-homogeneous Poisson process: exponential gaps within each hour at that
// hour's rate. Day 0 is a Monday.
std::vector<double> Arrivals(const Workload& w, std::mt19937_64& rng) {
  double sum = 0;
  for (double x : kHourWeights) sum += x;
  double peak = *std::max_element(std::begin(kHourWeights), std::end(kHourWeights));
  double mean = sum / 24;
  std::vector<double> out;
  for (int day = 0; day < static_cast<int>(std::ceil(w.days)); ++day) {
    bool weekend = day % 7 >= 5;
    double volume = w.prs_per_weekday * (weekend ? w.weekend_factor : 1.0);
    for (int hour = 0; hour < 24; ++hour) {
      double start = (day * 24 + hour) * 3600.0;
      if (start >= w.days * 86400) break;
      // Sharpen or flatten the profile so that peak/mean matches peak_ratio.
      double shaped = mean + (kHourWeights[hour] - mean) * (w.peak_ratio - 1) / (peak / mean - 1);
      double per_hour = volume * std::max(shaped, 0.02) / sum;
      if (per_hour <= 0) continue;
      std::exponential_distribution<double> gap(per_hour / 3600.0);
      for (double t = start + gap(rng); t < start + 3600; t += gap(rng)) out.push_back(t);
    }
  }
  for (const auto& b : w.bursts) {
    std::uniform_real_distribution<double> within(0, b.within_s);
    for (int i = 0; i < b.count; ++i) {
      double t = b.at_s + within(rng);
      if (t < w.days * 86400) out.push_back(t);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// With probability interaction_rate, a generated pull request fails together
// with one partner drawn among those that arrived within the window before it.
// A stream of its own, so that the rate changes nothing else.
void AddInteractions(const Workload& w, Scenario& s, size_t first) {
  if (w.interaction_rate <= 0) return;
  std::mt19937_64 rng(s.seed * 0xD1B54A32D192ED03ULL + 29);
  std::bernoulli_distribution interacts(w.interaction_rate);
  size_t window_start = first;
  for (size_t i = first; i < s.prs.size(); ++i) {
    while (s.prs[window_start].arrive_s < s.prs[i].arrive_s - w.interaction_window_s) ++window_start;
    if (!interacts(rng) || window_start == i) continue;
    std::uniform_int_distribution<size_t> pick(window_start, i - 1);
    s.prs[i].fails_with.push_back(s.prs[pick(rng)].id);
  }
}

void Generate(const Workload& w, Scenario& s) {
  std::mt19937_64 rng(s.seed * 0x9E3779B97F4A7C15ULL + 17);
  std::bernoulli_distribution bad(w.bad_rate);
  int n = 0;
  size_t first = s.prs.size();
  for (double t : Arrivals(w, rng)) {
    ScenarioPr pr;
    pr.id = "P" + std::to_string(++n);
    pr.arrive_s = std::floor(t);
    pr.bad = bad(rng);
    s.prs.push_back(std::move(pr));
  }
  AddInteractions(w, s, first);
  s.ci.duration_s = w.ci_median_s;
  s.ci.sigma = w.ci_sigma;
  s.ci.hang_rate = w.hang_rate;
  s.ci.flake_rate = w.flake_rate;
  s.generated = true;
}

Result<queue::QueueConfig> ParseConfig(const json& c) {
  queue::QueueConfig q;
  q.target_batch_size = c.value("target_batch_size", q.target_batch_size);
  q.max_wait = static_cast<Duration>(c.value("max_wait_s", q.max_wait / 1000.0) * 1000);
  q.concurrency = c.value("concurrency", q.concurrency);
  q.pending_failure_depth = c.value("pending_failure_depth", q.pending_failure_depth);
  q.optimistic_merging = c.value("optimistic_merging", q.optimistic_merging);
  std::string bisection = c.value("bisection", std::string("binary"));
  if (bisection != "binary") return Invalid("config.bisection: only \"binary\" is supported");
  q.bisection_concurrency = c.value("bisection_concurrency", q.bisection_concurrency);
  q.singleton_retries = c.value("singleton_retries", q.singleton_retries);
  q.pretest = c.value("pretest", q.pretest);
  q.pretest_bypass = c.value("pretest_bypass", q.pretest_bypass);
  if (c.contains("merge_method") &&
      !queue::ParseMergeMethod(c.at("merge_method").get<std::string>(), &q.merge_method))
    return Invalid("config.merge_method must be merge, squash or rebase");
  std::string problem = queue::Validate(q);
  if (!problem.empty()) return Invalid("config: " + problem);
  return q;
}

}  // namespace

Result<Scenario> ParseScenario(const json& j) {
  try {
    if (!j.is_object()) return Invalid("a scenario is a JSON object");
    Scenario s;
    if (j.contains("config")) {
      auto config = ParseConfig(j.at("config"));
      if (!config.ok()) return config.error();
      s.config = *config;
    }
    if (j.contains("ci")) {
      const auto& ci = j.at("ci");
      s.ci.duration_s = ci.value("duration_s", s.ci.duration_s);
      s.ci.shared_fraction = ci.value("shared_fraction", 0.0);
      s.ci.action_merging = ci.value("action_merging", true);
    }
    if (s.ci.shared_fraction < 0 || s.ci.shared_fraction > 1)
      return Invalid("ci.shared_fraction must be within 0..1");
    if (s.ci.duration_s <= 0) return Invalid("ci.duration_s must be positive");
    s.seed = j.value("seed", std::uint64_t{1});
    for (const auto& p : j.value("prs", json::array())) {
      ScenarioPr pr;
      pr.id = p.at("id").get<std::string>();
      pr.arrive_s = p.value("arrive_s", 0.0);
      pr.bad = p.value("bad", false);
      pr.fail_runs = p.value("fail_runs", std::vector<int>{});
      pr.priority = p.value("priority", 128);
      if (p.contains("ci_duration_s")) pr.ci_duration_s = p.at("ci_duration_s").get<double>();
      pr.fails_with = p.value("fails_with", std::vector<std::string>{});
      if (pr.priority < 0 || pr.priority > 255) return Invalid("prs." + pr.id + ".priority: 0..255");
      s.prs.push_back(std::move(pr));
    }
    if (j.contains("workload")) {
      auto w = ParseWorkload(j.at("workload"));
      if (!w.ok()) return w.error();
      Generate(*w, s);
      const auto& wj = j.at("workload");
      s.ci.shared_fraction = wj.value("shared_fraction", s.ci.shared_fraction);
      s.ci.action_merging = wj.value("action_merging", s.ci.action_merging);
    }
    std::vector<std::string> ids;
    for (const auto& pr : s.prs) ids.push_back(pr.id);
    std::sort(ids.begin(), ids.end());
    if (std::adjacent_find(ids.begin(), ids.end()) != ids.end())
      return Invalid("pull request ids must be unique");
    for (const auto& pr : s.prs) {
      for (const auto& other : pr.fails_with) {
        if (other == pr.id || !std::binary_search(ids.begin(), ids.end(), other))
          return Invalid("prs." + pr.id + ".fails_with: '" + other +
                         "' is not another pull request of the scenario");
      }
    }
    std::stable_sort(s.prs.begin(), s.prs.end(),
                     [](const ScenarioPr& a, const ScenarioPr& b) { return a.arrive_s < b.arrive_s; });
    return s;
  } catch (const json::exception& e) {
    return Invalid(std::string("scenario: ") + e.what());
  }
}

Result<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read scenario file " + path);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return Invalid(path + ": not valid JSON");
  return ParseScenario(j);
}

std::vector<std::vector<size_t>> FailPartners(const Scenario& s) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < s.prs.size(); ++i) index[s.prs[i].id] = i;
  std::vector<std::vector<size_t>> out(s.prs.size());
  for (size_t i = 0; i < s.prs.size(); ++i) {
    for (const auto& id : s.prs[i].fails_with) {
      size_t j = index.at(id);
      out[i].push_back(j);
      out[j].push_back(i);
    }
  }
  for (auto& partners : out) {
    std::sort(partners.begin(), partners.end());
    partners.erase(std::unique(partners.begin(), partners.end()), partners.end());
  }
  return out;
}

bool HasNoFlakes(const Scenario& s) {
  if (s.ci.flake_rate > 0) return false;
  for (const auto& pr : s.prs)
    if (!pr.fail_runs.empty()) return false;
  return true;
}

}  // namespace mergeyard::sim
