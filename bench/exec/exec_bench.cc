// Execution backend benchmark (issue 4). One thread ("one core"): submits
// actions, half of them duplicates of an action still in flight, to
//   core    - exec::core::Backend with an in-memory cache, driven directly;
//   service - exec::ExecService (mutex, disk action cache, executor inbox),
// with an executor that completes every assignment instantly (drained every
// `wave` submissions). Prints submissions/s, merge decisions/s (submissions
// that reached the in-flight table: queued or merged, per second of Submit
// time) and p50/p99 scheduling latency (submit -> assignment handed to the
// executor) for 1, 10 and 1,000 groups.
//
//   build-exec/bench/exec/exec_bench [--n 200000] [--wave 64]

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "exec/core/backend.h"
#include "exec/exec_service.h"

using namespace mergeyard;
using Clk = std::chrono::steady_clock;

namespace {

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Row {
  double submits_per_cpu_s = 0;
  double submits_per_s = 0, merges_per_s = 0, p50_us = 0, p99_us = 0;
  std::uint64_t merged = 0, started = 0;
};

exec::core::Action MakeAction(int i, int groups) {
  exec::core::Action a;
  a.name = "step";
  a.command = {"sh", "-c", "make test"};
  a.timeout = 60 * kSecond;
  a.has_input = true;
  a.group = "owner/repo" + std::to_string(i % groups);
  a.input.repo = a.group;
  a.input.commit = "c";
  a.input.tree = "tree" + std::to_string(i / 2);  // every second submission duplicates
  return a;
}

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

double Us(Clk::time_point a, Clk::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// Pre-built actions and digests, so the clock measures the backend only.
struct Workload {
  std::vector<exec::core::Action> actions;
  std::vector<std::string> digests;
  Workload(int n, int groups) {
    for (int i = 0; i < n; ++i) {
      actions.push_back(MakeAction(i, groups));
      digests.push_back(exec::core::ActionDigest(actions.back()));
    }
  }
};

Row BenchCore(const Workload& w, int wave) {
  exec::core::MemoryResultCache cache;
  exec::core::BackendConfig cfg;
  cfg.max_hedges = 0;
  exec::core::Backend b(cfg, cache);
  exec::core::ExecutorInfo e;
  e.id = "instant";
  e.capacity = exec::core::Resources{1e9, 0, {}};
  b.UpsertExecutor(e, 0);
  std::unordered_map<std::string, Clk::time_point> submitted;
  std::vector<double> lat;
  double submit_us = 0;
  std::uint64_t decisions = 0;
  Time now = 0;
  double c0 = CpuSeconds();
  auto t0 = Clk::now();
  for (std::size_t i = 0; i < w.actions.size(); ++i) {
    auto s0 = Clk::now();
    auto s = b.Submit(w.actions[i], w.digests[i], {}, now);
    auto s1 = Clk::now();
    submit_us += Us(s0, s1);
    if (s.status != exec::core::SubmitStatus::kCached) ++decisions;
    if (s.status == exec::core::SubmitStatus::kQueued) submitted[s.execution] = s1;
    if ((i + 1) % static_cast<std::size_t>(wave) == 0 || i + 1 == w.actions.size()) {
      now += 1;
      auto as = b.Schedule(now);
      auto t = Clk::now();
      for (auto& a : as) {
        lat.push_back(Us(submitted[a.execution], t));
        submitted.erase(a.execution);
        exec::core::ActionResult r;
        (void)b.Complete(a.lease, r, now);
      }
      b.TakeNotices();
    }
  }
  double total_s = std::chrono::duration<double>(Clk::now() - t0).count();
  Row row;
  row.submits_per_cpu_s = static_cast<double>(w.actions.size()) / (CpuSeconds() - c0);
  row.submits_per_s = static_cast<double>(w.actions.size()) / total_s;
  row.merges_per_s = static_cast<double>(decisions) / (submit_us / 1e6);
  row.p50_us = Pct(lat, 0.50);
  row.p99_us = Pct(lat, 0.99);
  row.merged = b.stats().merged;
  row.started = b.stats().started;
  return row;
}

Row BenchService(const Workload& w, int wave, const std::string& dir) {
  std::filesystem::remove_all(dir);
  SystemClock clock;
  exec::ServiceOptions o;
  o.data_dir = dir;
  o.backend.max_hedges = 0;
  o.tick = 1000;
  exec::ExecService svc(o, clock);
  if (!svc.Start()) return {};
  exec::core::ExecutorInfo e;
  e.id = "instant";
  e.capacity = exec::core::Resources{1e9, 0, {}};
  svc.RegisterExecutor(e, nullptr);
  std::unordered_map<std::string, Clk::time_point> submitted;
  std::vector<double> lat;
  double submit_us = 0;
  std::uint64_t decisions = 0;
  double c0 = CpuSeconds();
  auto t0 = Clk::now();
  for (std::size_t i = 0; i < w.actions.size(); ++i) {
    auto s0 = Clk::now();
    auto s = svc.Submit(w.actions[i], {}, nullptr);
    auto s1 = Clk::now();
    submit_us += Us(s0, s1);
    if (s.status != exec::core::SubmitStatus::kCached) ++decisions;
    if (s.status == exec::core::SubmitStatus::kQueued) submitted[s.execution] = s1;
    if ((i + 1) % static_cast<std::size_t>(wave) == 0 || i + 1 == w.actions.size()) {
      auto work = svc.PollWork("instant", 0);
      auto t = Clk::now();
      if (!work) continue;
      for (auto& a : *work) {
        auto it = submitted.find(a.execution);
        if (it != submitted.end()) {
          lat.push_back(Us(it->second, t));
          submitted.erase(it);
        }
        exec::core::ActionResult r;
        r.log_digest = "-";  // instant executor: no log to store
        (void)svc.Complete(a.lease, r);
      }
    }
  }
  double total_s = std::chrono::duration<double>(Clk::now() - t0).count();
  Row row;
  row.submits_per_cpu_s = static_cast<double>(w.actions.size()) / (CpuSeconds() - c0);
  row.submits_per_s = static_cast<double>(w.actions.size()) / total_s;
  row.merges_per_s = static_cast<double>(decisions) / (submit_us / 1e6);
  row.p50_us = Pct(lat, 0.50);
  row.p99_us = Pct(lat, 0.99);
  row.merged = svc.Stats().merged;
  row.started = svc.Stats().started;
  svc.Stop();
  std::filesystem::remove_all(dir);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 200000, wave = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--n")) n = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--wave")) wave = std::max(1, std::atoi(argv[i + 1]));
  }
  SetLogLevel(LogLevel::kWarn);
  std::printf("exec backend: %d submissions (half duplicate an in-flight action), instant executor "
              "drained every %d submissions, one thread\n\n", n, wave);
  std::printf("%-8s %7s %14s %14s %16s %10s %10s %9s %9s\n", "backend", "groups", "submits/s", "submits/cpu-s",
              "merge decis./s", "p50 us", "p99 us", "merged", "started");
  for (const char* which : {"core", "service"}) {
    for (int groups : {1, 10, 1000}) {
      Workload w(n, groups);
      Row r = std::strcmp(which, "core") == 0
                  ? BenchCore(w, wave)
                  : BenchService(w, wave, (std::filesystem::temp_directory_path() / "mergeyard-exec-bench").string());
      std::printf("%-8s %7d %14.0f %14.0f %16.0f %10.1f %10.1f %9llu %9llu\n", which, groups,
                  r.submits_per_s, r.submits_per_cpu_s,
                  r.merges_per_s, r.p50_us, r.p99_us, static_cast<unsigned long long>(r.merged),
                  static_cast<unsigned long long>(r.started));
    }
  }
  std::printf("\nsubmits/s is wall-clock; submits/cpu-s divides by the process's CPU time (all\n"
              "threads), which stays meaningful on a loaded machine. Latencies are wall-clock.\n"
              "goal: >= 20000 submissions/s on one core\n");
  return 0;
}
