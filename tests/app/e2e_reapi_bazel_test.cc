// Bazel (Debian's bazel-bootstrap, 4.2) against `mergeyard serve`'s REAPI
// listener (DESIGN.md section 8): real Bazel clients, a real service process,
// genrule workspaces written to a temporary directory. Every case says why and
// returns at once when `bazel` is not on PATH.
//
// Each Bazel client gets its own HOME and --output_user_root, keeps its server
// running between commands (a warm server answers in well under a second) and
// shuts it down at the end of the case. Nothing needs the network: genrules
// and a Starlark rule use only the tools bundled in /usr/share/bazel.

#include <doctest/doctest.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "serve_process.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using mergeyard::testing::ServeProcess;
using mergeyard::testing::TempDir;
using nlohmann::json;

constexpr char kAdminToken[] = "bazel-e2e-admin";
constexpr char kReapiToken[] = "bazel-e2e-reapi";

// ---------------------------------------------------------------- processes

struct Ran {
  int code = -1;       // exit code; -1 when it did not exit normally
  std::string output;  // stdout and stderr, interleaved
};

// Runs `command` with /bin/sh and waits for it. Never throws (destructors
// use it).
Ran Run(const std::string& command) {
  Ran ran;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return ran;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) ran.output.append(buf, n);
  const int status = ::pclose(p);
  ran.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return ran;
}

// `s` as one single-quoted shell word.
std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

// True, after saying so, when this machine cannot run the cases.
bool SkipWithoutBazel() {
  if (OnPath("bazel")) return false;
  MESSAGE("skipped: `bazel` is not on PATH (Debian: apt-get install bazel-bootstrap)");
  return true;
}

// ---------------------------------------------------------------- files

struct File {
  std::string path;  // relative to the workspace
  std::string content;
  bool executable = false;
};

void WriteFiles(const std::string& dir, const std::vector<File>& files) {
  for (const File& f : files) {
    const fs::path path = fs::path(dir) / f.path;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << f.content;
    if (f.executable) fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  }
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every regular file at `dir`/<output> (a file, or a directory walked
// recursively), keyed by its path relative to `dir`, with its bytes.
std::map<std::string, std::string> Snapshot(const std::string& dir, const std::vector<std::string>& outputs) {
  std::map<std::string, std::string> files;
  for (const std::string& out : outputs) {
    const fs::path top = fs::path(dir) / out;
    if (fs::is_regular_file(top)) files[out] = ReadFile(top);
    if (!fs::is_directory(top)) continue;
    for (const auto& e : fs::recursive_directory_iterator(top))
      if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = ReadFile(e.path());
  }
  return files;
}

// Bazel leaves tree artifacts read-only; gives the owner write access again so
// the temporary directory can be removed by a user who is not root.
void MakeWritable(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code ignored;
    if (it->is_directory(ignored) && !it->is_symlink(ignored))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ignored);
  }
}

// ---------------------------------------------------------------- workspaces

// Four actions: a genrule, a genrule reading its output, a genrule running an
// executable tool script from the workspace over a source file and that
// output, and a Starlark rule producing a directory (REAPI output_directories).
std::vector<File> GenruleWorkspace() {
  return {
      {"WORKSPACE", ""},
      {"BUILD",
       "load(':tree.bzl', 'tree')\n"
       "genrule(name = 'greeting', outs = ['greeting.txt'], cmd = \"printf 'hello from a genrule\\\\n' > $@\")\n"
       "genrule(name = 'shout', srcs = [':greeting'], outs = ['shout.txt'], cmd = 'tr a-z A-Z < $< > $@')\n"
       "genrule(name = 'numbered', srcs = ['data.txt', ':shout'], outs = ['numbered.txt'],\n"
       "        tools = ['//tools:number.sh'], cmd = '$(location //tools:number.sh) $(SRCS) > $@')\n"
       "tree(name = 'tree', src = ':shout')\n"},
      {"data.txt", "line one\nline two\n"},
      {"tools/BUILD", "exports_files(['number.sh'])\n"},
      {"tools/number.sh",
       "#!/bin/sh\n"
       "# Prints each file's name, then its lines numbered.\n"
       "for f in \"$@\"; do echo \"== $(basename \"$f\")\"; awk '{ printf \"%d: %s\\n\", NR, $0 }' \"$f\"; done\n",
       true},
      {"tree.bzl",
       "def _tree_impl(ctx):\n"
       "    out = ctx.actions.declare_directory(ctx.label.name + '.d')\n"
       "    ctx.actions.run_shell(\n"
       "        inputs = [ctx.file.src], outputs = [out], mnemonic = 'Tree', arguments = [out.path, ctx.file.src.path],\n"
       "        command = 'mkdir -p $1/sub && cp $2 $1/copy.txt && echo nested > $1/sub/nested.txt')\n"
       "    return [DefaultInfo(files = depset([out]))]\n"
       "\n"
       "tree = rule(implementation = _tree_impl, attrs = {'src': attr.label(allow_single_file = True)})\n"},
  };
}

const std::vector<std::string> kGenruleOutputs = {"greeting.txt", "shout.txt", "numbered.txt", "tree.d"};
const std::multiset<std::string> kGenruleMnemonics = {"Genrule", "Genrule", "Genrule", "Tree"};

// The outputs GenruleWorkspace() must produce, by path under bazel-bin.
std::map<std::string, std::string> ExpectedGenruleOutputs() {
  return {{"greeting.txt", "hello from a genrule\n"},
          {"shout.txt", "HELLO FROM A GENRULE\n"},
          {"numbered.txt", "== data.txt\n1: line one\n2: line two\n== shout.txt\n1: HELLO FROM A GENRULE\n"},
          {"tree.d/copy.txt", "HELLO FROM A GENRULE\n"},
          {"tree.d/sub/nested.txt", "nested\n"}};
}

// One genrule that takes `seconds` to run.
std::vector<File> SlowWorkspace(int seconds) {
  return {{"WORKSPACE", ""},
          {"BUILD", "genrule(name = 'slow', outs = ['slow.txt'], cmd = 'sleep " + std::to_string(seconds) +
                        "; echo slow output > $@')\n"}};
}

// ---------------------------------------------------------------- the service

// `mergeyard serve` with its REAPI listener on (token kReapiToken) and its
// admin API (token kAdminToken), in `dir` (created).
class ReapiServer {
 public:
  explicit ReapiServer(const std::string& dir) {
    fs::create_directories(dir);
    auto reapi = mergeyard::app::FreeLoopbackPort();
    REQUIRE(reapi.ok());
    reapi_port_ = *reapi;
    std::map<std::string, std::string> env = {{"MERGEYARD_REAPI_LISTEN", "127.0.0.1:" + std::to_string(reapi_port_)},
                                              {"MERGEYARD_REAPI_TOKEN", kReapiToken},
                                              {"MERGEYARD_ADMIN_TOKEN", kAdminToken},
                                              {"MERGEYARD_LOCAL_EXECUTORS", "2"}};
    do serve_ = std::make_unique<ServeProcess>(dir, env);
    while (serve_->port() == reapi_port_);
    REQUIRE_MESSAGE(serve_->Start(), "mergeyard serve did not start:\n" << serve_->Log());
  }

  // Bazel's flags for remote execution on this server, with the token.
  std::string BazelFlags() const {
    return "--remote_executor=grpc://127.0.0.1:" + std::to_string(reapi_port_) + " " +
           Quote(std::string("--remote_header=authorization=Bearer ") + kReapiToken);
  }

  // GET /api/v1/executions: the queued and running executions, then up to
  // 1000 finished ones the backend still retains.
  json Executions() const {
    httplib::Client client("127.0.0.1", serve_->port());
    auto res = client.Get("/api/v1/executions?limit=1000", {{"Authorization", std::string("Bearer ") + kAdminToken}});
    REQUIRE(res);
    REQUIRE_MESSAGE(res->status == 200, res->body);
    return json::parse(res->body).at("executions");
  }

  std::string Log() const { return serve_->Log(); }

 private:
  int reapi_port_ = 0;
  std::unique_ptr<ServeProcess> serve_;
};

// The executions in `after` whose ids are not in `before` (JSON arrays).
json NewExecutions(const json& before, const json& after) {
  std::set<std::string> seen;
  for (const json& e : before) seen.insert(e.at("execution_id").get<std::string>());
  json fresh = json::array();
  for (const json& e : after)
    if (!seen.count(e.at("execution_id").get<std::string>())) fresh.push_back(e);
  return fresh;
}

std::multiset<std::string> Names(const json& executions) {
  std::multiset<std::string> names;
  for (const json& e : executions) names.insert(e.at("name").get<std::string>());
  return names;
}

// ---------------------------------------------------------------- Bazel

// One Bazel client: HOME and --output_user_root under `root`, commands run in
// `workspace`. Its server is shut down (from the workspace, where it was
// started) when this goes away; --max_idle_secs ends it should the test die.
class Bazel {
 public:
  Bazel(std::string root, std::string workspace) : root_(std::move(root)), workspace_(std::move(workspace)) {
    fs::create_directories(root_ + "/home");
  }
  ~Bazel() {
    Command("shutdown");
    MakeWritable(root_);
  }
  Bazel(const Bazel&) = delete;
  Bazel& operator=(const Bazel&) = delete;

  // `bazel <args>` (args already shell-quoted), bounded to four minutes.
  Ran Command(const std::string& args) const {
    return Run("cd " + Quote(workspace_) + " && env HOME=" + Quote(root_ + "/home") +
               " timeout 240 bazel --output_user_root=" + Quote(root_ + "/out") + " --max_idle_secs=300 " + args);
  }

  // Builds `targets` with the spawns run on this machine, unsandboxed.
  Ran BuildLocal(const std::string& targets) const {
    return Command("build " + kQuiet + " --spawn_strategy=local " + targets);
  }

  // Builds `targets` with every spawn executed on `server`.
  Ran BuildRemote(const ReapiServer& server, const std::string& targets, const std::string& extra = "") const {
    return Command("build " + kQuiet + " " + server.BazelFlags() + " " + extra + " " + targets);
  }

  Ran Clean() const { return Command("clean"); }

  // The bazel-bin convenience symlink of the workspace.
  std::string bin() const { return workspace_ + "/bazel-bin"; }

 private:
  // /etc/bazel/bazelrc turns --sandbox_debug on, which floods the output.
  inline static const std::string kQuiet = "--color=no --curses=no --noshow_progress --nosandbox_debug";
  std::string root_;
  std::string workspace_;
};

// Bazel's closing "INFO: 5 processes: 4 remote cache hit, 1 internal." as
// {"remote cache hit": 4, "internal": 1}; empty when there is no such line.
std::map<std::string, int> Processes(const std::string& output) {
  static const std::regex line(R"(INFO: \d+ process(?:es)?: ([^\n]*)\.\n)");
  static const std::regex part(R"((\d+) ([^,]+))");
  std::map<std::string, int> kinds;
  std::smatch m;
  std::string last;
  for (auto it = output.cbegin(); std::regex_search(it, output.cend(), m, line); it = m[0].second) last = m[1];
  for (std::sregex_iterator p(last.begin(), last.end(), part), end; p != end; ++p)
    kinds[(*p)[2].str()] += std::stoi((*p)[1].str());
  return kinds;
}

// ServeProcess starts MERGEYARD_BINARY.
void RequireBinary() {
  const char* binary = std::getenv("MERGEYARD_BINARY");
  REQUIRE_MESSAGE((binary != nullptr && fs::exists(binary)), "MERGEYARD_BINARY must name the mergeyard executable");
}

}  // namespace

TEST_CASE("genrules built by Bazel on mergeyard's REAPI server give the same bytes as a local build") {
  if (SkipWithoutBazel()) return;
  RequireBinary();
  TempDir tmp;
  ReapiServer server(tmp.path() + "/server");
  const std::string ws = tmp.path() + "/ws";
  WriteFiles(ws, GenruleWorkspace());
  Bazel bazel(tmp.path() + "/bazel", ws);

  Ran local = bazel.BuildLocal("//...");
  INFO("local build:\n" << local.output);
  REQUIRE(local.code == 0);
  const auto local_outputs = Snapshot(bazel.bin(), kGenruleOutputs);
  CHECK(local_outputs == ExpectedGenruleOutputs());

  REQUIRE(bazel.Clean().code == 0);
  Ran remote = bazel.BuildRemote(server, "//...");
  INFO("remote build:\n" << remote.output << "\nserver log:\n" << server.Log());
  REQUIRE(remote.code == 0);
  CHECK(Processes(remote.output) == std::map<std::string, int>{{"internal", 1}, {"remote", 4}});
  CHECK(Snapshot(bazel.bin(), kGenruleOutputs) == local_outputs);
  // The server ran each action once, under its Bazel mnemonic.
  const json executions = server.Executions();
  CHECK(Names(executions) == kGenruleMnemonics);
  for (const json& e : executions) {
    CHECK(e.at("action_digest").get<std::string>().rfind("reapi:", 0) == 0);
    CHECK(e.at("state") == "completed");
  }
}

TEST_CASE("a clean rebuild on mergeyard's REAPI server is answered from its action cache without executing") {
  if (SkipWithoutBazel()) return;
  RequireBinary();
  TempDir tmp;
  ReapiServer server(tmp.path() + "/server");
  const std::string ws = tmp.path() + "/ws";
  WriteFiles(ws, GenruleWorkspace());
  Bazel bazel(tmp.path() + "/bazel", ws);

  Ran first = bazel.BuildRemote(server, "//...");
  INFO("first build:\n" << first.output);
  REQUIRE(first.code == 0);
  const json before = server.Executions();
  REQUIRE(before.size() == kGenruleMnemonics.size());

  REQUIRE(bazel.Clean().code == 0);
  Ran again = bazel.BuildRemote(server, "//...");
  INFO("build after `bazel clean`:\n" << again.output << "\nserver log:\n" << server.Log());
  REQUIRE(again.code == 0);
  CHECK(Processes(again.output) == std::map<std::string, int>{{"internal", 1}, {"remote cache hit", 4}});
  CHECK(NewExecutions(before, server.Executions()).empty());
  CHECK(Snapshot(bazel.bin(), kGenruleOutputs) == ExpectedGenruleOutputs());
}

TEST_CASE("two Bazel clients building one slow genrule at the same time share one execution on the server") {
  if (SkipWithoutBazel()) return;
  RequireBinary();
  TempDir tmp;
  ReapiServer server(tmp.path() + "/server");
  WriteFiles(tmp.path() + "/ws-a", SlowWorkspace(5));
  WriteFiles(tmp.path() + "/ws-b", SlowWorkspace(5));
  Bazel a(tmp.path() + "/bazel-a", tmp.path() + "/ws-a");
  Bazel b(tmp.path() + "/bazel-b", tmp.path() + "/ws-b");

  // Start both Bazel servers and analyse the target, running nothing, so the
  // builds below reach Execute within a moment of each other.
  auto warm_a = std::async(std::launch::async, [&] { return a.BuildRemote(server, "//:slow", "--nobuild"); });
  const Ran warm_b = b.BuildRemote(server, "//:slow", "--nobuild");
  const Ran warm = warm_a.get();
  INFO("warm-up a:\n" << warm.output << "\nwarm-up b:\n" << warm_b.output);
  REQUIRE(warm.code == 0);
  REQUIRE(warm_b.code == 0);
  const json before = server.Executions();

  auto build_a = std::async(std::launch::async, [&] { return a.BuildRemote(server, "//:slow"); });
  auto build_b = std::async(std::launch::async, [&] { return b.BuildRemote(server, "//:slow"); });
  const Ran ra = build_a.get(), rb = build_b.get();
  INFO("client a:\n" << ra.output << "\nclient b:\n" << rb.output << "\nserver log:\n" << server.Log());
  REQUIRE(ra.code == 0);
  REQUIRE(rb.code == 0);
  // Neither was a cache hit: both waited on the one execution.
  CHECK(Processes(ra.output) == std::map<std::string, int>{{"internal", 1}, {"remote", 1}});
  CHECK(Processes(rb.output) == std::map<std::string, int>{{"internal", 1}, {"remote", 1}});
  CHECK(ReadFile(a.bin() + "/slow.txt") == "slow output\n");
  CHECK(ReadFile(b.bin() + "/slow.txt") == "slow output\n");

  const json fresh = NewExecutions(before, server.Executions());
  REQUIRE(fresh.size() == 1);
  const json& run = fresh.front();
  INFO("the execution: " << run.dump(2));
  CHECK(run.at("name") == "Genrule");
  CHECK(run.at("action_digest").get<std::string>().rfind("reapi:", 0) == 0);
  CHECK(run.at("merged_submissions") == 1);
  CHECK(run.at("result").at("cached") == false);
}
