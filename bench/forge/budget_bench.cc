// Forge API budget of a day of the medium tier (performance.md section 6),
// replayed through the real service (`mergeyard serve`) against the local
// forge (GitHub flavour), whose CI answers each batch after its simulated
// duration. Time is compressed by --scale: arrivals, CI durations, the
// queue's max_wait, the checks timeout and mergeyard's CI poll intervals are
// all divided by it, so the number of polls per batch is the one a real day
// would see. Repositories use `checks` only (no pipeline).
//
//   bench/forge/run.sh [BUILD_DIR] [--scale 240] [--seed 1] [--prs 400] [--mode both|webhooks|polling]
//                      [--keep DIR] [--log-level info] [--verbose]
//
// Prints, per mode (CI webhooks delivered, or dropped so that polling
// decides): pull requests merged and kicked, forge API calls per merged pull
// request by kind (read, content-creating, CI-related), and the delay from a
// CI verdict to mergeyard acting on it (landing the batch), p50 and p95, in
// real milliseconds, beside the (scaled) poll interval.
//
// Kinds: content-creating is every write a person can see (comments and
// their edits, commit statuses, labels, closing); CI-related is every call
// about CI on a batch commit (check runs, statuses, workflow runs, branch
// protection, cancelling); read is every other GET.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app/serve_child.h"
#include "base/duration.h"
#include "forge/local/local_ci.h"
#include "forge/local/local_forge.h"
#include "sim/scenario.h"

using namespace mergeyard;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  double scale = 240;
  int seed = 1;
  int prs = 400;
  std::string mode = "both";
  std::string binary;
  std::string keep;            // --keep DIR: leave the forge, the data and the log there
  std::string log_level = "warn";
};

struct Row {
  std::string mode;
  int prs = 0, merged = 0, kicked = 0, unresolved = 0;
  int read = 0, content = 0, ci = 0;
  std::map<std::string, int> by_endpoint;
  double p50_ms = NAN, p95_ms = NAN;
  int samples = 0;
  double poll_ms = 0;
  double wall_s = 0;
};

std::string Ms(double seconds) { return std::to_string(std::max<long>(1, std::lround(seconds * 1000))) + "ms"; }

// "GET /api/v3/repos/o/r/commits/abc/check-runs" -> kind and a shape without ids.
std::string Shape(const std::string& request) {
  std::string out;
  std::size_t i = 0;
  while (i < request.size()) {
    std::size_t j = request.find('/', i);
    if (j == std::string::npos) j = request.size();
    std::string part = request.substr(i, j - i);
    const bool id = !part.empty() && (std::all_of(part.begin(), part.end(), ::isdigit) ||
                                      (part.size() >= 20 && std::all_of(part.begin(), part.end(), ::isxdigit)));
    const bool user = out.ends_with("/collaborators/");
    out += id || user ? ":id" : part;
    if (j < request.size()) out += '/';
    i = j + 1;
  }
  for (const char* prefix : {"/api/v3", "/repos/acme/widgets"}) {
    if (auto at = out.find(prefix); at != std::string::npos) out.erase(at, std::strlen(prefix));
  }
  return out;
}

enum class Kind { kRead, kContent, kCi };

Kind Classify(const std::string& shape) {
  const bool get = shape.rfind("GET ", 0) == 0;
  for (const char* ci : {"/check-runs", "/check-suites", "/actions/", "/protection", "/commits/:id/status"}) {
    if (shape.find(ci) != std::string::npos) return Kind::kCi;
  }
  if (get && shape.find("/statuses/") != std::string::npos) return Kind::kCi;
  return get ? Kind::kRead : Kind::kContent;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

// main's tip, sampled every 2 ms: (when, sha) at each change.
class TipWatcher {
 public:
  explicit TipWatcher(forge::LocalForge& forge) : path_(forge.git_dir() + "/refs/heads/main") {
    thread_ = std::thread([this] {
      std::string last;
      while (!stop_) {
        std::ifstream in(path_);
        std::string sha;
        in >> sha;
        if (sha.size() == 40 && sha != last) {
          std::lock_guard<std::mutex> lock(mu_);
          changes_.push_back({Clock::now(), sha});
          last = sha;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
  ~TipWatcher() {
    stop_ = true;
    thread_.join();
  }
  std::vector<std::pair<Clock::time_point, std::string>> Changes() {
    std::lock_guard<std::mutex> lock(mu_);
    return changes_;
  }

 private:
  std::string path_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::pair<Clock::time_point, std::string>> changes_;
  std::thread thread_;
};

// `git rev-list --first-parent from..to` in the forge's repository.
std::vector<std::string> FirstParents(const std::string& git_dir, const std::string& from, const std::string& to) {
  std::vector<std::string> out;
  const std::string cmd = "git -C '" + git_dir + "' rev-list --first-parent " + from + ".." + to + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[128];
  while (std::fgets(line, sizeof line, p)) {
    std::string sha(line);
    while (!sha.empty() && (sha.back() == '\n' || sha.back() == '\r')) sha.pop_back();
    out.push_back(sha);
  }
  ::pclose(p);
  return out;
}

// Verdict-to-landing delays (seconds). A landing moves main over one or more
// batch commits (stacked batches land together); it waited for the last of
// their verdicts, unless main itself moved later than that (then it waited
// for the previous landing, not for a verdict, and is not counted).
std::vector<double> VerdictToAction(const std::string& git_dir, const std::vector<forge::LocalCiVerdict>& verdicts,
                                    const std::vector<std::pair<Clock::time_point, std::string>>& tips) {
  std::map<std::string, Clock::time_point> passed;
  for (const auto& v : verdicts) {
    if (v.passed) passed.emplace(v.sha, v.at);
  }
  std::vector<double> out;
  for (std::size_t i = 1; i < tips.size(); ++i) {
    std::optional<Clock::time_point> last;
    for (const std::string& c : FirstParents(git_dir, tips[i - 1].second, tips[i].second)) {
      auto it = passed.find(c);
      if (it != passed.end() && (!last || it->second > *last)) last = it->second;
    }
    if (!last || tips[i - 1].first > *last) continue;
    out.push_back(std::chrono::duration<double>(tips[i].first - *last).count());
    if (std::getenv("BUDGET_DEBUG") && out.back() > 0.5)
      std::fprintf(stderr, "slow: %s verdict->land %.0f ms\n", tips[i].second.c_str(), out.back() * 1000);
  }
  return out;
}

std::string RepoYaml(double scale) {
  return "queue:\n"
         "  target_batch_size: 6\n"
         "  max_wait: " + Ms(300 / scale) + "\n"
         "  concurrency: 3\n"
         "  bisection_concurrency: 2\n"
         "checks:\n"
         "  required: [build, test]\n"
         "  timeout: " + Ms(2 * 3600 / scale) + "\n";
}

Row RunMode(const Options& o, const sim::Scenario& day, bool webhooks) {
  Row row;
  row.mode = webhooks ? "webhooks" : "polling only";
  const auto dir = !o.keep.empty() ? std::filesystem::path(o.keep) / (webhooks ? "webhooks" : "polling")
                                   : std::filesystem::temp_directory_path() /
                                         ("mergeyard-budget-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  forge::LocalForge forge(forge::LocalFlavor::kGithub, "acme/widgets", (dir / "forge.git").string());
  forge.Commit("main", {{".mergeyard.yml", RepoYaml(o.scale)}});
  std::vector<std::string> people;
  for (int i = 0; i < 40; ++i) {
    people.push_back("dev" + std::to_string(i));
    forge.SetPermission(people.back(), "write");
  }

  // CI: lognormal around 20 minutes (sigma 0.45, truncated at 4x), scaled;
  // a tree holding a bad-*.txt fails.
  forge::LocalCiOptions ci;
  ci.command = "! ls | grep -q '^bad-'";
  ci.checks = {"build", "test"};
  ci.send_webhooks = webhooks;
  auto rng = std::make_shared<std::mt19937_64>(o.seed * 7919 + 1);
  auto mu = std::make_shared<std::mutex>();
  ci.delay_for = [rng, mu, scale = o.scale](const std::string&) {
    std::lock_guard<std::mutex> lock(*mu);
    std::lognormal_distribution<double> d(std::log(1200.0), 0.45);
    return static_cast<int>(std::min(d(*rng), 4 * 1200.0) / scale * 1000);
  };
  ci.poll_ms = 10;
  forge.EnableCi(ci);

  const double poll_s = 30 / o.scale, safety_s = 300 / o.scale;
  row.poll_ms = (webhooks ? safety_s : poll_s) * 1000;
  auto port = app::FreeLoopbackPort();
  if (!port.ok()) {
    std::fprintf(stderr, "no free port\n");
    std::exit(1);
  }
  std::map<std::string, std::string> env = {
      {"MERGEYARD_LISTEN", "127.0.0.1:" + std::to_string(*port)},
      {"MERGEYARD_DATA_DIR", (dir / "data").string()},
      {"MERGEYARD_GITHUB_URL", forge.base_url() + "/api/v3"},
      {"MERGEYARD_GITHUB_TOKEN", forge.token()},
      {"MERGEYARD_GITHUB_CLONE_URL", forge.git_dir()},
      {"MERGEYARD_WEBHOOK_SECRET", "bench-secret"},
      {"MERGEYARD_ADMIN_TOKEN", "bench-admin"},
      {"MERGEYARD_EXECUTOR_TOKEN", "bench-executor"},
      {"MERGEYARD_LOCAL_EXECUTORS", "1"},
      {"MERGEYARD_LOG_LEVEL", o.log_level},
      {"MERGEYARD_CI_POLL_INTERVAL", Ms(poll_s)},
      {"MERGEYARD_CI_SAFETY_POLL_INTERVAL", Ms(safety_s)}};
  app::ServeChild serve(o.binary, env, (dir / "serve.log").string(), *port);
  if (Status st = serve.Start(); !st.ok()) {
    std::fprintf(stderr, "mergeyard serve did not start: %s\n", st.error().ToString().c_str());
    std::exit(1);
  }
  forge.SetWebhook(serve.url() + "/webhooks/github", "bench-secret");
  TipWatcher tips(forge);

  // Replay the arrivals, compressed.
  const auto start = Clock::now();
  const double first = day.prs.empty() ? 0 : day.prs.front().arrive_s;
  std::mt19937 who(o.seed);
  int n = 0;
  for (const auto& pr : day.prs) {
    if (n >= o.prs) break;
    ++n;
    const auto due = start + std::chrono::microseconds(static_cast<long>((pr.arrive_s - first) / o.scale * 1e6));
    std::this_thread::sleep_until(due);
    const std::string file = (pr.bad ? "bad-" : "f-") + std::to_string(n) + ".txt";
    forge.Commit("pr" + std::to_string(n), {{file, "pull request " + std::to_string(n) + "\n"}});
    forge::LocalPull p;
    p.number = n;
    p.head_branch = "pr" + std::to_string(n);
    forge.AddPull(p);
    forge.AddUserComment(n, people[who() % people.size()], "!integrate");
  }
  row.prs = n;

  // Wait until every pull request is merged or kicked (or nothing moves for a
  // while, scaled like a CI timeout).
  auto outcome = [&](int pr) {
    for (const auto& c : forge.Comments(pr)) {
      if (c.body.find("<!-- mergeyard:status -->") == std::string::npos) continue;
      if (c.body.find("**mergeyard: Merged**") != std::string::npos) return 1;
      if (c.body.find("**mergeyard: Kicked") != std::string::npos) return 2;
    }
    return 0;
  };
  std::size_t seen = 0;
  auto last_progress = Clock::now();
  const auto patience = std::chrono::milliseconds(static_cast<long>(3 * 3600 / o.scale * 1000));
  for (;;) {
    int done = 0;
    for (int pr = 1; pr <= n; ++pr) done += outcome(pr) != 0;
    if (done == n) break;
    const std::size_t requests = forge.Requests().size();
    if (requests != seen) {
      seen = requests;
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > patience) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // Let the reports of the last landing finish before counting.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  row.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (int pr = 1; pr <= n; ++pr) {
    const int r = outcome(pr);
    row.merged += r == 1;
    row.kicked += r == 2;
    row.unresolved += r == 0;
  }
  for (const std::string& request : forge.Requests()) {
    const std::string shape = Shape(request);
    ++row.by_endpoint[shape];
    switch (Classify(shape)) {
      case Kind::kRead: ++row.read; break;
      case Kind::kContent: ++row.content; break;
      case Kind::kCi: ++row.ci; break;
    }
  }
  auto delays = VerdictToAction(forge.git_dir(), forge.CiVerdicts(), tips.Changes());
  row.samples = static_cast<int>(delays.size());
  row.p50_ms = Percentile(delays, 0.5) * 1000;
  row.p95_ms = Percentile(delays, 0.95) * 1000;
  serve.Stop();
  if (o.keep.empty()) std::filesystem::remove_all(dir);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const char* b = std::getenv("MERGEYARD_BINARY")) o.binary = b;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    auto arg = [&](const char* name) { return !std::strcmp(argv[i], name) && i + 1 < argc; };
    if (arg("--scale")) o.scale = std::atof(argv[++i]);
    else if (arg("--seed")) o.seed = std::atoi(argv[++i]);
    else if (arg("--prs")) o.prs = std::atoi(argv[++i]);
    else if (arg("--mode")) o.mode = argv[++i];
    else if (arg("--binary")) o.binary = argv[++i];
    else if (arg("--keep")) o.keep = argv[++i];
    else if (arg("--log-level")) o.log_level = argv[++i];
    else if (!std::strcmp(argv[i], "--verbose")) verbose = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--scale 240] [--seed 1] [--prs 400] [--mode both|webhooks|polling] "
                   "[--binary build/src/app/mergeyard] [--keep DIR] [--log-level info] [--verbose]\n",
                   argv[0]);
      return 2;
    }
  }
  if (o.binary.empty() || o.scale <= 0) {
    std::fprintf(stderr, "give --binary (or MERGEYARD_BINARY) and a positive --scale\n");
    return 2;
  }
  auto day = sim::ParseScenario({{"seed", o.seed}, {"workload", {{"tier", "M"}, {"days", 1}}}});
  if (!day.ok()) {
    std::fprintf(stderr, "workload: %s\n", day.error().ToString().c_str());
    return 1;
  }
  std::vector<Row> rows;
  if (o.mode == "both" || o.mode == "webhooks") rows.push_back(RunMode(o, *day, true));
  if (o.mode == "both" || o.mode == "polling") rows.push_back(RunMode(o, *day, false));

  std::printf("forge API calls, a tier-M day (%d pull requests, time / %.0f, seed %d)\n\n",
              rows.empty() ? 0 : rows[0].prs, o.scale, o.seed);
  std::printf("| mode | merged | kicked | unresolved | calls/merged | read | content-creating | CI | "
              "verdict->action p50 | p95 | poll interval | samples | wall |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    const double m = std::max(1, r.merged);
    std::printf("| %s | %d | %d | %d | %.2f | %.2f | %.2f | %.2f | %.0f ms | %.0f ms | %.0f ms | %d | %.0f s |\n",
                r.mode.c_str(), r.merged, r.kicked, r.unresolved, (r.read + r.content + r.ci) / m, r.read / m,
                r.content / m, r.ci / m, r.p50_ms, r.p95_ms, r.poll_ms, r.samples, r.wall_s);
  }
  if (verbose) {
    for (const Row& r : rows) {
      std::printf("\n%s: calls by endpoint\n", r.mode.c_str());
      std::vector<std::pair<int, std::string>> sorted;
      for (const auto& [shape, count] : r.by_endpoint) sorted.push_back({count, shape});
      std::sort(sorted.rbegin(), sorted.rend());
      for (const auto& [count, shape] : sorted) std::printf("%7d  %s\n", count, shape.c_str());
    }
  }
  return 0;
}
