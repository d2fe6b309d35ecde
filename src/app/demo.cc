#include "app/demo.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/demo_repo.h"
#include "app/demo_watch.h"
#include "app/serve_child.h"
#include "forge/local/local_forge.h"

namespace mergeyard::app {

namespace {

constexpr const char* kRepo = "demo/calculator";
constexpr const char* kCommenter = "dana";

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>(rd() & 0xff));
    out += b;
  }
  return out;
}

// A new directory for the demo. Not under /tmp: test steps run with a
// private /tmp, and the flaky test must see the marker file.
Result<std::string> MakeDemoDir(const std::string& wanted) {
  std::error_code ec;
  if (!wanted.empty()) {
    std::filesystem::create_directories(wanted, ec);
    if (ec) return Internal("cannot create " + wanted + ": " + ec.message());
    return std::filesystem::absolute(wanted).string();
  }
  for (const std::string& base : {std::string("/var/tmp"), std::filesystem::temp_directory_path().string()}) {
    std::string templ = base + "/mergeyard-demo-XXXXXX";
    if (::mkdtemp(templ.data())) return templ;
  }
  return Internal("cannot create a directory under /var/tmp or the temporary directory");
}

// "a\n- `x`\n- `y`" -> "a `x` `y`"
std::string OneLine(std::string text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      if (text.compare(i + 1, 2, "- ") == 0) i += 2;
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

class Demo {
 public:
  Demo(DemoOptions options, std::string dir) : o_(std::move(options)), dir_(std::move(dir)) {}
  int Run();

 private:
  Status Setup();
  // Opens pull request `p` on a branch from `base`.
  void Open(const DemoPull& p, const std::string& base);
  bool PhaseThree();
  Status StartService();
  void Introduce();
  void Comment(const DemoPull& p);
  // Polls (printing progress) until `done` or the deadline; false on timeout.
  bool WaitUntil(const std::function<bool()>& done, const std::string& what);
  void OnProgress();
  bool Ended(const std::vector<std::int64_t>& prs) const;
  std::string RefusalOf(std::int64_t pr);
  bool MainPassesTests(std::string* output);
  bool Summarize();

  DemoOptions o_;
  std::string dir_;
  std::string marker_;
  std::vector<DemoPull> pulls_;
  std::unique_ptr<forge::LocalForge> forge_;
  std::unique_ptr<ServeChild> serve_;
  std::unique_ptr<DemoWatch> watch_;
  std::chrono::steady_clock::time_point deadline_;
};

Status Demo::Setup() {
  marker_ = dir_ + "/mirror-down";
  std::ofstream(marker_) << "the package mirror is down\n";
  pulls_ = DemoPulls(marker_);
  auto forge = forge::LocalForge::Open(forge::LocalFlavor::kGithub, kRepo, dir_ + "/forge/" + kRepo + ".git");
  if (!forge.ok()) return forge.error();
  forge_ = std::move(*forge);
  try {
    forge_->Commit("main", DemoMainFiles());
    forge_->SetPermission(kCommenter, "write");
    // Every branch starts from this main, as if all were opened at once.
    const std::string base = forge_->Tip("main");
    for (const auto& p : pulls_) {
      if (p.phase < 3) Open(p, base);
    }
  } catch (const std::exception& e) {
    return Internal(std::string("setting up the sample repository: ") + e.what());
  }
  return Ok();
}

void Demo::Open(const DemoPull& p, const std::string& base) {
  static const char* const kAuthors[] = {"ana", "ben", "chen", "dev", "eli"};
  const std::string branch = "pr/" + std::to_string(p.number);
  forge_->Commit(branch, p.files, base);
  forge::LocalPull pull;
  pull.number = p.number;
  pull.head_branch = branch;
  pull.author = kAuthors[p.number % 5];
  forge_->AddPull(pull);
}

bool Demo::PhaseThree() {
  std::printf("\n-- phase 3: the team's own CI decides (checks instead of mergeyard's pipeline)\n");
  std::error_code ec;
  std::filesystem::remove(marker_, ec);  // the mirror is up for good now
  // The forge runs tests/run.sh on every push to mergeyard/batch/** and
  // reports the check `tests`, by check run and webhook, as GitHub Actions does.
  forge::LocalCiOptions ci;
  ci.command = "sh tests/run.sh";
  ci.checks = {"tests"};
  forge_->EnableCi(ci);
  try {
    const std::string before = forge_->Tip("main");
    const std::string after = forge_->Commit("main", {{".mergeyard.yml", DemoChecksConfig()}});
    const nlohmann::json push = {
        {"ref", "refs/heads/main"}, {"before", before}, {"after", after},
        {"commits", {{{"id", after}, {"added", nlohmann::json::array()}, {"removed", nlohmann::json::array()},
                      {"modified", {".mergeyard.yml"}}}}},
        {"repository", {{"full_name", kRepo}, {"id", 1}}}};
    const int status = forge_->SendWebhook("push", push.dump());
    watch_->Say("main's .mergeyard.yml now requires the check `tests` from the forge's CI, and has no pipeline" +
                std::string(status == 200 || status == 202 ? "" : " (push webhook answered " + std::to_string(status) + ")"));
    for (const auto& p : pulls_) {
      if (p.phase == 3) Open(p, after);
    }
  } catch (const std::exception& e) {
    watch_->Say(std::string("cannot change the sample repository: ") + e.what());
    return false;
  }
  std::vector<std::int64_t> prs;
  for (const auto& p : pulls_) {
    if (p.phase == 3) {
      Comment(p);
      prs.push_back(p.number);
    }
  }
  const bool ok = WaitUntil([&] { return Ended(prs); }, "phase 3 to end");
  watch_->Say("the forge's CI ran " + std::to_string(forge_->CiRuns().size()) +
              " times, once per batch commit; mergeyard's executors ran nothing in this phase");
  return ok;
}

Status Demo::StartService() {
  auto self = SelfExecutable();
  if (!self.ok()) return self.error();
  int port = o_.port;
  if (port == 0) {
    auto free = FreeLoopbackPort();
    if (!free.ok()) return free.error();
    port = *free;
  }
  const std::string secret = RandomHex(16);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::map<std::string, std::string> env = {
      {"MERGEYARD_LISTEN", "127.0.0.1:" + std::to_string(port)},
      {"MERGEYARD_PUBLIC_URL", url},
      {"MERGEYARD_DATA_DIR", dir_ + "/data"},
      {"MERGEYARD_GITHUB_URL", forge_->base_url()},
      {"MERGEYARD_GITHUB_TOKEN", forge_->token()},
      {"MERGEYARD_GITHUB_CLONE_URL", forge_->git_dir()},
      {"MERGEYARD_WEBHOOK_SECRET", secret},
      {"MERGEYARD_ADMIN_TOKEN", RandomHex(16)},
      {"MERGEYARD_LOCAL_EXECUTORS", "2"}};
  serve_ = std::make_unique<ServeChild>(*self, env, dir_ + "/serve.log", port);
  if (Status st = serve_->Start(); !st.ok()) return st;
  forge_->SetWebhook(url + "/webhooks/github", secret);
  watch_ = std::make_unique<DemoWatch>(url, kRepo, stdout);
  return Ok();
}

void Demo::Introduce() {
  std::printf("mergeyard demo\n\n");
  std::printf("  sample repository  %s (a calculator in sh, with tests), on a local forge\n", kRepo);
  std::printf("  mergeyard serve    %s  (log: %s)\n", serve_->url().c_str(), serve_->log_path().c_str());
  std::printf("  dashboard          %s/  <- open it to watch\n", serve_->url().c_str());
  std::printf("  queue settings     batches of 3, max wait 4s, 2 batches testing at once,\n"
              "                     pending-failure depth 1 with optimistic merging, binary bisection\n\n");
  std::printf("  pull requests:\n");
  for (const auto& p : pulls_) {
    std::printf("    #%-3lld %-28s %s\n", static_cast<long long>(p.number), p.title.c_str(), p.kind.c_str());
  }
  std::printf("\n");
  std::fflush(stdout);
}

void Demo::Comment(const DemoPull& p) {
  const int status = forge_->AddUserComment(p.number, kCommenter, "!integrate");
  watch_->Say("@" + std::string(kCommenter) + " commented `!integrate` on #" + std::to_string(p.number) + " (" +
              p.title + ")" + (status == 200 || status == 202 ? "" : ": webhook answered " + std::to_string(status)));
}

void Demo::OnProgress() {
  // The flaky test fails until its first failure has been seen: then the
  // "mirror" comes back, as flaky services do.
  if (watch_->progress().in_failed_batch.count(3) && std::filesystem::exists(marker_)) {
    std::filesystem::remove(marker_);
    watch_->Say("(the package mirror is back up: #3's test passes from now on)");
  }
}

bool Demo::WaitUntil(const std::function<bool()>& done, const std::string& what) {
  while (std::chrono::steady_clock::now() < deadline_) {
    (void)watch_->Poll();  // a missed poll is made up by the next one
    OnProgress();
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  watch_->Say("timed out waiting for " + what);
  return false;
}

bool Demo::Ended(const std::vector<std::int64_t>& prs) const {
  for (auto pr : prs) {
    if (!watch_->progress().ended.count(pr)) return false;
  }
  return true;
}

std::string Demo::RefusalOf(std::int64_t pr) {
  for (const auto& c : forge_->Comments(pr)) {
    if (c.author != kCommenter && c.body.find("does not merge cleanly") != std::string::npos) return c.body;
  }
  return "";
}

int Demo::Run() {
  if (Status st = Setup(); !st.ok()) {
    std::fprintf(stderr, "mergeyard demo: %s\n", st.error().ToString().c_str());
    return 2;
  }
  if (Status st = StartService(); !st.ok()) {
    std::fprintf(stderr, "mergeyard demo: %s\n", st.error().ToString().c_str());
    return 2;
  }
  Introduce();
  if (dir_.rfind("/tmp/", 0) == 0) {
    std::printf("note: test steps get a private /tmp, so #3's flaky test cannot see its marker under %s\n"
                "      and will not fail; use --dir elsewhere (e.g. /var/tmp/demo) to watch it fail.\n\n",
                dir_.c_str());
  }
  deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(o_.timeout_s);
  const auto& pr = pulls_;
  std::printf("-- phase 1: a flaky test, a pending failure and optimistic merging\n");
  for (int i : {0, 1, 2}) Comment(pr[i]);
  bool ok = WaitUntil([&] { return watch_->progress().batches > 0; }, "the first batch");
  for (int i : {3, 4}) Comment(pr[i]);
  ok = ok && WaitUntil([&] { return Ended({1, 2, 3, 4, 5}); }, "phase 1 to end");
  std::printf("\n-- phase 2: a change that breaks a test, bisection, and a conflict\n");
  for (int i : {5, 6, 7}) Comment(pr[i]);
  ok = ok && WaitUntil([&] { return watch_->progress().batches > 0; }, "a batch");
  Comment(pr[8]);
  std::string refusal;
  ok = ok && WaitUntil([&] { return !(refusal = RefusalOf(9)).empty(); }, "#9's answer");
  if (ok) watch_->Say("#9 REFUSED at once: " + OneLine(refusal));
  Comment(pr[9]);
  ok = ok && WaitUntil([&] { return Ended({6, 7, 8, 10}); }, "phase 2 to end");
  ok = ok && PhaseThree();
  std::printf("\n");
  return Summarize() && ok ? 0 : 1;
}

bool Demo::MainPassesTests(std::string* output) {
  const std::string check = dir_ + "/main-check";
  std::filesystem::remove_all(check);
  std::filesystem::create_directories(check);
  const std::string cmd = "git -C '" + forge_->git_dir() + "' archive main | tar -x -C '" + check +
                          "' && cd '" + check + "' && sh tests/run.sh 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return false;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  return ::pclose(p) == 0;
}

bool Demo::Summarize() {
  bool right = true;
  std::printf("-- summary\n\n    PR   %-28s %-22s %s\n", "title", "expected", "outcome");
  for (const auto& p : pulls_) {
    const auto& ended = watch_->progress().ended;
    std::string got = ended.count(p.number) ? ended.at(p.number) : "still open";
    if (got == "kicked") got = "kicked (test failed)";
    if (p.expected == DemoOutcome::kRefusedConflict && !RefusalOf(p.number).empty() && !ended.count(p.number)) {
      got = "refused (conflict)";
    }
    const bool match = got == DemoOutcomeName(p.expected);
    right = right && match;
    std::printf("  %s #%-3lld %-28s %-22s %s\n", match ? "ok" : "XX", static_cast<long long>(p.number),
                p.title.c_str(), DemoOutcomeName(p.expected), got.c_str());
  }
  std::string tests;
  std::error_code ec;
  std::filesystem::remove(marker_, ec);  // the mirror is up by now, whatever the sandbox saw
  const bool green = MainPassesTests(&tests);
  right = right && green;
  const auto& pr = watch_->progress();
  std::printf("\n  main %s: the test suite %s on it\n", forge_->Tip("main").substr(0, 12).c_str(),
              green ? "passes" : "FAILS");
  std::printf("  %lld batches and bisection halves, %lld step executions, %lld answered from the action cache,"
              " %lld merged into a running execution\n",
              static_cast<long long>(pr.batches), static_cast<long long>(pr.runs_started),
              static_cast<long long>(pr.cache_hits), static_cast<long long>(pr.merged));
  std::printf("  dashboard: %s/   service log: %s\n\n", serve_->url().c_str(), serve_->log_path().c_str());
  std::printf("%s\n", right ? "demo: the outcome is right." : "demo: the outcome is WRONG (see above).");
  std::fflush(stdout);
  return right;
}

}  // namespace

int RunDemo(const DemoOptions& options) {
  auto dir = MakeDemoDir(options.dir);
  if (!dir.ok()) {
    std::fprintf(stderr, "mergeyard demo: %s\n", dir.error().ToString().c_str());
    return 2;
  }
  int code = 2;
  {
    Demo demo(options, *dir);
    code = demo.Run();
    if (code == 0 && options.stay) {
      std::printf("serving until Ctrl-C ...\n");
      std::fflush(stdout);
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      sigprocmask(SIG_BLOCK, &set, nullptr);
      int sig = 0;
      sigwait(&set, &sig);
    }
  }  // stops the service, then the forge
  if (code == 0 && !options.keep && options.dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
  } else {
    std::printf("demo files kept in %s\n", dir->c_str());
  }
  return code;
}

}  // namespace mergeyard::app
