// The README's commands, run as a newcomer would type them (issue 6: "every
// command in the README is run by a test or by CI"). The first case lists
// each command and where it is run; a command added to the README without a
// place here fails it. Commands run in a scratch directory that links
// `build`, `config`, `tests`, `bench` and `scripts` to the real ones, so
// relative paths work and nothing is written into the source tree.

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "forge/repo_config_parser.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;

std::string SourceRoot() { return std::getenv("MERGEYARD_SOURCE_ROOT"); }
// build/src/app/mergeyard -> build
std::string BuildRoot() { return fs::path(std::getenv("MERGEYARD_BINARY")).parent_path().parent_path().parent_path(); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every command the README shows: the lines of ```sh blocks, and inline code
// spans that start with build/, bench/ or scripts/.
std::vector<std::string> ReadmeCommands() {
  const std::string readme = ReadFile(SourceRoot() + "/README.md");
  std::vector<std::string> out;
  const std::regex block("```sh\n([\\s\\S]*?)```");
  for (auto it = std::sregex_iterator(readme.begin(), readme.end(), block); it != std::sregex_iterator(); ++it) {
    std::stringstream lines((*it)[1].str());
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) out.push_back(line);
    }
  }
  const std::regex span("`((?:build|bench|scripts)/[^`]*)`");
  for (auto it = std::sregex_iterator(readme.begin(), readme.end(), span); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

// `env -u` for every MERGEYARD_* variable: a newcomer's shell has none.
std::string Unsets() {
  std::string out = "env";
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (kv.rfind("MERGEYARD_", 0) == 0) out += " -u " + kv.substr(0, kv.find('='));
  }
  return out;
}

// A scratch working directory with links to the project's directories.
class Scratch {
 public:
  Scratch() {
    fs::create_directories(dir_.path() + "/build/src/app");
    for (const char* d : {"config", "tests", "bench", "scripts"}) fs::create_directory_symlink(SourceRoot() + "/" + d, dir_.path() + "/" + d);
    fs::remove_all(dir_.path() + "/build");
    fs::create_directory_symlink(BuildRoot(), dir_.path() + "/build");
  }
  const std::string& path() const { return dir_.path(); }

  // Runs `command` with sh in the scratch directory; its exit code, output in *out.
  int Run(const std::string& command, std::string* out, const std::string& env = "") {
    const std::string full = "cd '" + path() + "' && " + Unsets() + " " + env + " sh -c '" + Escape(command) + "' 2>&1";
    FILE* p = ::popen(full.c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
    const int status = ::pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Starts `command` in the background (sh, in the scratch directory); its pid.
  pid_t Spawn(const std::string& command, const std::map<std::string, std::string>& env, const std::string& log) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      if (::chdir(path().c_str()) != 0) ::_exit(126);
      std::vector<std::string> names;
      for (char** e = environ; *e; ++e) {
        const std::string kv = *e;
        if (kv.rfind("MERGEYARD_", 0) == 0) names.push_back(kv.substr(0, kv.find('=')));
      }
      for (const auto& n : names) ::unsetenv(n.c_str());
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      const std::string redirected = "exec " + command + " >>'" + log + "' 2>&1";
      ::execl("/bin/sh", "sh", "-c", redirected.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  }

 private:
  static std::string Escape(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out;
  }
  mergeyard::testing::TempDir dir_;
};

int Stop(pid_t pid, int sig) {
  ::kill(-pid, sig);
  int status = 0;
  for (int i = 0; i < 300; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

bool WaitHealthy(int port) {
  for (int i = 0; i < 600; ++i) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_connection_timeout(0, 200000);
    if (auto r = cli.Get("/healthz"); r && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("every command in the README is run by this test, the demo test or CI") {
  // command -> where it runs
  const std::map<std::string, std::string> covered = {
      {"scripts/install-deps.sh && scripts/build.sh && build/src/app/mergeyard serve",
       "CI installs and builds; the serve case below"},
      {"scripts/install-deps.sh && scripts/test.sh", "CI (.ci/run)"},
      {"scripts/install-deps.sh && scripts/build.sh && build/src/app/mergeyard demo", "tests/app/demo_test.cc"},
      {"scripts/install-deps.sh", "CI (.ci/run)"},
      {"scripts/test.sh --suite queue", "CI (.ci/run; not from a test: it would replace the running suite's log)"},
      {"scripts/prove-dockerfile.sh", "CI (.ci/run)"},
      {"build/src/app/mergeyard simulate --scenario tests/sim/scenarios/six_one_culprit.json", "the simulate case"},
      {"build/src/app/mergeyard migrate --config config/mergeyard.example.yml", "the migrate case"},
      {"curl -s localhost:8080/api/v1/queues", "the serve case"},
      {"curl -s localhost:8080/api/v1/repos/acme/widgets/queue", "the serve case"},
      {"curl -s -X POST -H \"Authorization: Bearer $TOKEN\" localhost:8080/api/v1/repos/acme/widgets/queue/pause",
       "the serve case"},
      {"curl -s -X POST -H \"Authorization: Bearer $TOKEN\" -d '{\"pr\": 42, \"priority\": 192}' "
       "localhost:8080/api/v1/repos/acme/widgets/entries",
       "the serve case"},
      {"echo \"$MERGEYARD_EXECUTOR_TOKEN\" > executor.token", "the serve case"},
      {"build/src/app/mergeyard executor --server http://HOST:8080 --token-file executor.token", "the serve case"},
      {"build/bench/sim/bench_policies [--seeds N] [--tiers S,M,L] [--sweep] [--policy b8,c16,d1,opt,pre]", "the benchmarks case"},
      {"bench/git/run.sh", "the benchmarks case"},
      {"bench/exec/run.sh build", "the benchmarks case"},
      {"build/bench/webhook/webhook_bench [--clients 1,4,8] [--seconds 5]", "the benchmarks case"},
      {"bench/forge/run.sh", "the benchmarks case"},
      {"bench/forge/run.sh [build] [--scale 240] [--mode both] [--verbose]", "the benchmarks case"},
      {"bench/reapi/run.sh [build] [--rounds 3] [--clients 8] [--only hit\\|miss\\|cas] [--server-wrap \"perf record -o /tmp/%s.perf --\"]",
       "the benchmarks case"},
      {"MERGEYARD_REAPI_LISTEN=127.0.0.1:8980 MERGEYARD_REAPI_TOKEN=s3cret build/src/app/mergeyard serve",
       "tests/app/e2e_reapi_bazel_test.cc (these settings, with free ports)"},
      {"bazel build --remote_executor=grpc://127.0.0.1:8980 --remote_header=authorization=\"Bearer s3cret\" //...",
       "tests/app/e2e_reapi_bazel_test.cc (these flags, on its own workspace)"},
  };
  for (const auto& c : ReadmeCommands()) {
    INFO("README command: " << c);
    CHECK_MESSAGE(covered.count(c), "a README command that no test runs: add it to tests/app/readme_test.cc");
  }
}

TEST_CASE("README quick start: `mergeyard serve` on its embedded defaults, the API examples and a remote executor") {
  Scratch s;
  const std::map<std::string, std::string> env = {{"MERGEYARD_ADMIN_TOKEN", "readme-admin"},
                                                   {"MERGEYARD_EXECUTOR_TOKEN", "readme-exec"}};
  const std::string log = s.path() + "/serve.log";
  const pid_t serve = s.Spawn("build/src/app/mergeyard serve", env, log);
  REQUIRE_MESSAGE(WaitHealthy(8080), "serve did not answer on 127.0.0.1:8080:\n" << ReadFile(log));
  CHECK(fs::exists(s.path() + "/mergeyard-data/mergeyard.db"));
  CHECK(ReadFile(log).find("no forge is configured") != std::string::npos);

  std::string out;
  REQUIRE(s.Run("curl -s localhost:8080/api/v1/queues", &out) == 0);
  CHECK(nlohmann::json::parse(out).contains("queues"));
  out.clear();
  REQUIRE(s.Run("curl -s localhost:8080/api/v1/repos/acme/widgets/queue", &out) == 0);
  CHECK(nlohmann::json::parse(out, nullptr, false).is_object());
  out.clear();
  REQUIRE(s.Run("curl -s -w ' %{http_code}' -X POST -H \"Authorization: Bearer $TOKEN\" "
                "localhost:8080/api/v1/repos/acme/widgets/queue/pause",
                &out, "TOKEN=readme-admin") == 0);
  CHECK(out.find(" 401") == std::string::npos);  // the token was taken
  out.clear();
  REQUIRE(s.Run("curl -s -X POST -H \"Authorization: Bearer $TOKEN\" -d '{\"pr\": 42, \"priority\": 192}' "
                "localhost:8080/api/v1/repos/acme/widgets/entries",
                &out, "TOKEN=readme-admin") == 0);
  CHECK(nlohmann::json::parse(out, nullptr, false).is_object());  // a JSON answer (no forge: an error)

  out.clear();
  REQUIRE(s.Run("echo \"$MERGEYARD_EXECUTOR_TOKEN\" > executor.token", &out, "MERGEYARD_EXECUTOR_TOKEN=readme-exec") == 0);
  const pid_t executor = s.Spawn("build/src/app/mergeyard executor --server http://127.0.0.1:8080 --token-file executor.token",
                                 {}, s.path() + "/executor.log");
  bool registered = false;
  for (int i = 0; i < 200 && !registered; ++i) {
    httplib::Client cli("127.0.0.1", 8080);
    if (auto r = cli.Get("/api/v1/executors"); r && r->status == 200) {
      const auto answer = nlohmann::json::parse(r->body);
      for (const auto& e : answer["executors"]) {
        if (e.value("id", "") != "local") registered = true;
      }
    }
    if (!registered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_MESSAGE(registered, "the remote executor did not register:\n" << ReadFile(s.path() + "/executor.log"));
  Stop(executor, SIGTERM);
  CHECK(Stop(serve, SIGTERM) == 0);
}

TEST_CASE("README: simulate and migrate, as written") {
  Scratch s;
  std::string out;
  CHECK(s.Run("build/src/app/mergeyard simulate --scenario tests/sim/scenarios/six_one_culprit.json", &out) == 0);
  CHECK(out.find("merged") != std::string::npos);
  out.clear();
  CHECK(s.Run("build/src/app/mergeyard migrate --config config/mergeyard.example.yml", &out) == 0);
  CHECK(fs::exists(s.path() + "/mergeyard-data/mergeyard.db"));
}

TEST_CASE("README: the .mergeyard.yml reference parses, with the values it documents") {
  const std::string readme = ReadFile(SourceRoot() + "/README.md");
  std::smatch m;
  REQUIRE(std::regex_search(readme, m, std::regex("## `\\.mergeyard\\.yml`[\\s\\S]*?```yaml\n([\\s\\S]*?)```")));
  const auto parse = mergeyard::forge::ParseRepoConfig(m[1].str());
  INFO(parse.ErrorsText());
  REQUIRE(parse.ok());
  CHECK(parse.config.queue.target_batch_size == 4);
  CHECK(parse.config.queue.concurrency == 2);
  CHECK(parse.config.queue.optimistic_merging);
  CHECK(parse.config.queue.singleton_retries == 1);
  REQUIRE(parse.config.pipeline.size() == 2);
  CHECK(parse.config.pipeline[0].resources.custom.at("gpu") == 1);
  CHECK(parse.config.pipeline[0].env.at("CI") == "true");
  CHECK(parse.config.pipeline[1].inputs == std::vector<std::string>{"web/"});
  CHECK(parse.config.on_land.size() == 1);
  CHECK(parse.config.merged_label == "merged");
}

TEST_CASE("README: the benchmark commands run (small sizes) and print their tables") {
  Scratch s;
  std::string out;
  CHECK(s.Run("build/bench/sim/bench_policies --seeds 1 --tiers S", &out) == 0);
  CHECK(out.find("spec c4 b4") != std::string::npos);
  out.clear();
  CHECK(s.Run("build/bench/sim/bench_policies --seeds 1 --tiers S --policy b8,c16,d1,opt,pre", &out) == 0);
  CHECK(out.find("b8,c16,d1,opt,pre") != std::string::npos);
  CHECK(out.find("spec c4 b4") == std::string::npos);
  out.clear();
  CHECK(s.Run("bench/exec/run.sh build --n 2000", &out) == 0);
  CHECK(out.find("submits/s") != std::string::npos);
  out.clear();
  CHECK(s.Run("build/bench/webhook/webhook_bench --clients 1 --seconds 1", &out) == 0);
  CHECK(out.find("|") != std::string::npos);
  out.clear();
  CHECK(s.Run("bench/git/run.sh", &out, "RUNS=1 SIZES=300 BUILD_DIR=" + BuildRoot()) == 0);
  INFO(out);
  CHECK(out.find("same tree") != std::string::npos);
  out.clear();
  CHECK(s.Run("bench/forge/run.sh " + BuildRoot() + " --prs 3 --mode webhooks", &out) == 0);
  CHECK(out.find("| webhooks | ") != std::string::npos);
  out.clear();
  CHECK(s.Run("bench/reapi/run.sh " + BuildRoot() + " --rounds 1 --seconds 1 --misses 3 --only hit", &out) == 0);
  INFO(out);
  CHECK(out.find("cache-hit Execute") != std::string::npos);
}
