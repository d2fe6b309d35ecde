#include "forge/local/local_ci.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <tuple>

#include "forge/ci_check.h"
#include "forge/local/local_ci_shapes.h"

extern char** environ;

namespace mergeyard::forge {

namespace {

namespace fs = std::filesystem;

constexpr const char* kBatchRefs = "refs/heads/mergeyard/batch/";

bool IsObjectId(const std::string& s) { return (s.size() == 40 || s.size() == 64) && IsCommitSha(s); }

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Every batch branch of the bare repository with its commit, read from the
// ref files: a git process per poll would cost more than the CI itself.
std::map<std::string, std::string> BatchHeads(const std::string& git_dir) {
  std::map<std::string, std::string> heads;
  std::ifstream packed(git_dir + "/packed-refs");
  for (std::string line; std::getline(packed, line);) {
    const size_t space = line.find(' ');
    if (space == std::string::npos || line[0] == '#' || line[0] == '^') continue;
    const std::string ref = line.substr(space + 1);
    if (ref.rfind(kBatchRefs, 0) == 0 && IsObjectId(line.substr(0, space))) heads[ref] = line.substr(0, space);
  }
  const std::string loose = git_dir + "/" + kBatchRefs;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(loose, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().extension() == ".lock") continue;
    std::ifstream in(it->path());
    std::string sha;
    std::getline(in, sha);
    const std::string path = it->path().string();
    if (IsObjectId(sha) && path.size() > loose.size()) heads[kBatchRefs + path.substr(loose.size())] = sha;
  }
  return heads;
}

// Ours, plus what tells a command it runs in CI (an outer CI's values replaced).
std::vector<std::string> CommandEnv(const std::string& sha) {
  std::vector<std::string> env = {"CI=true", "CI_COMMIT_SHA=" + sha};
  for (char** e = environ; *e; ++e) {
    const std::string_view var(*e);
    if (var.rfind("CI=", 0) != 0 && var.rfind("CI_COMMIT_SHA=", 0) != 0) env.emplace_back(var);
  }
  return env;
}

// Starts `sh -c script` in `cwd` as the leader of a new process group, with
// `env` and no inherited descriptors but /dev/null; it dies with the calling
// thread. The pid, or -1.
pid_t SpawnGroup(const std::string& script, const std::string& cwd, std::vector<std::string> env) {
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const char* argv[] = {"sh", "-c", script.c_str(), nullptr};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) {
    if (pid > 0) ::setpgid(pid, pid);  // here too: a kill may come before the child ran
    return pid;
  }
  // Only async-signal-safe calls until exec.
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent || ::chdir(cwd.c_str()) != 0) ::_exit(127);
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
  }
  // Not the servers' sockets: a command left running would keep their ports.
  if (::close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  }
  ::execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
  ::_exit(127);
}

}  // namespace

LocalCi::LocalCi(Site site) : site_(std::move(site)) {}

LocalCi::~LocalCi() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (const auto& run : runs_) {
      if (run.pgid > 0) ::kill(-run.pgid, SIGKILL);
    }
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  // No thread starts once the watcher is gone.
  for (auto& [id, t] : threads_) t.join();
}

void LocalCi::Enable(LocalCiOptions options) {
  std::lock_guard<std::mutex> lock(mu_);
  options_ = std::move(options);
  if (enabled_) return;
  enabled_ = true;
  watcher_ = std::thread([this] { Watch(); });
}

void LocalCi::SetRequiredChecks(const std::string& branch, std::vector<std::string> names) {
  std::lock_guard<std::mutex> lock(mu_);
  required_[branch] = std::move(names);
}

std::vector<std::string> LocalCi::Runs() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& run : runs_) out.push_back(run.sha);
  return out;
}

std::vector<std::string> LocalCi::Cancelled() {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

std::vector<LocalCiVerdict> LocalCi::Verdicts() {
  std::lock_guard<std::mutex> lock(mu_);
  return verdicts_;
}

void LocalCi::RecordStatus(const std::string& sha, const std::string& context, const std::string& state,
                           const std::string& target_url, const std::string& description) {
  std::lock_guard<std::mutex> lock(mu_);
  checks_.push_back({NextId(), 0, sha, context, state, "", target_url, description, false});
}

void LocalCi::RecordCheckRun(std::int64_t id, const std::string& sha, const std::string& name,
                             const std::string& status, const std::string& conclusion, const std::string& url) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : checks_) {
    if (c.check_run && c.id == id) {
      if (!name.empty()) c.name = name;
      if (!status.empty()) c.status = status;
      if (!conclusion.empty()) c.conclusion = conclusion;
      if (!url.empty()) c.url = url;
      return;
    }
  }
  checks_.push_back({id, 0, sha, name, status, conclusion, url, "", true});
}

LocalCiRun* LocalCi::FindRun(std::int64_t id) {
  for (auto& run : runs_) {
    if (run.id == id) return &run;
  }
  return nullptr;
}

void LocalCi::Watch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    std::vector<std::thread> ended;  // runs whose thread is done: joined here, not at the end
    for (std::int64_t id : exited_) {
      ended.push_back(std::move(threads_[id]));
      threads_.erase(id);
    }
    exited_.clear();
    lock.unlock();
    for (auto& t : ended) t.join();
    const auto heads = BatchHeads(site_.git_dir);
    lock.lock();
    for (const auto& [ref, sha] : heads) {
      if (stopping_ || seen_[ref] == sha) continue;
      seen_[ref] = sha;
      const bool ran = std::any_of(runs_.begin(), runs_.end(), [&](const LocalCiRun& r) { return r.sha == sha; });
      if (!ran) StartRun(ref, sha);
    }
    cv_.wait_for(lock, std::chrono::milliseconds(std::max(1, options_.poll_ms)), [this] { return stopping_; });
  }
}

void LocalCi::StartRun(const std::string& ref, const std::string& sha) {
  LocalCiRun run;
  run.id = NextId();
  run.sha = sha;
  run.branch = ref.substr(std::string("refs/heads/").size());
  run.options = options_;
  run.status = site_.flavor == LocalFlavor::kGithub ? "queued" : "pending";
  runs_.push_back(std::move(run));
  const std::int64_t id = runs_.back().id;
  threads_[id] = std::thread([this, id] { Execute(id); });
}

void LocalCi::Execute(std::int64_t run_id) {
  struct Exit {  // tells the watcher this thread is done, whichever way it returns
    LocalCi* ci;
    std::int64_t id;
    ~Exit() {
      std::lock_guard<std::mutex> lock(ci->mu_);
      ci->exited_.push_back(id);
    }
  } exited{this, run_id};
  std::string sha;
  LocalCiOptions o;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sha = FindRun(run_id)->sha;
    o = FindRun(run_id)->options;
  }
  Report(run_id, Outcome::kRunning);
  const int delay = o.delay_for ? o.delay_for(sha) : o.delay_ms;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, delay));
  const bool pass = CheckOutAndTest(run_id, sha, o.command);
  std::unique_lock<std::mutex> lock(mu_);
  auto interrupted = [&] { return stopping_ || FindRun(run_id)->cancel_requested; };
  cv_.wait_until(lock, deadline, interrupted);
  if (stopping_) return;
  if (!FindRun(run_id)->cancel_requested) {
    lock.unlock();
    Report(run_id, pass ? Outcome::kPassed : Outcome::kFailed);
    lock.lock();
    // Checks that never report keep the run going until it is cancelled.
    cv_.wait(lock, [&] { return interrupted() || FindRun(run_id)->finished; });
    if (stopping_ || FindRun(run_id)->finished) return;
  }
  lock.unlock();
  Report(run_id, Outcome::kCancelled);
}

bool LocalCi::CheckOutAndTest(std::int64_t run_id, const std::string& sha, const std::string& command) {
  std::string dir = (fs::temp_directory_path() / "mergeyard-localci-XXXXXX").string();
  if (!mkdtemp(dir.data())) return false;
  const std::string checkout = "git --git-dir=" + Quote(site_.git_dir) + " archive --format=tar " + sha + " | tar -xf -";
  const bool pass = RunScript(run_id, checkout, dir, sha) == 0 && RunScript(run_id, command, dir, sha) == 0;
  std::error_code ec;
  fs::remove_all(dir, ec);
  return pass;
}

int LocalCi::RunScript(std::int64_t run_id, const std::string& script, const std::string& cwd,
                       const std::string& sha) {
  const pid_t pid = SpawnGroup(script, cwd, CommandEnv(sha));
  if (pid < 0) return -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    FindRun(run_id)->pgid = pid;
    if (stopping_ || FindRun(run_id)->cancel_requested) ::kill(-pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    FindRun(run_id)->pgid = 0;
    // What the command left running in its group goes too. The group id
    // cannot be reused while any member lives, so this hits only ours.
    ::kill(-pid, SIGKILL);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool LocalCi::CancelLocked(LocalCiRun& run) {
  if (run.finished) return false;
  if (run.cancel_requested) return true;
  run.cancel_requested = true;
  cancelled_.push_back(run.sha);
  if (run.pgid > 0) ::kill(-run.pgid, SIGKILL);
  cv_.notify_all();
  return true;
}

std::pair<std::string, std::string> LocalCi::Words(bool check_run, Outcome outcome) const {
  const int o = static_cast<int>(outcome);
  if (check_run) {
    static const char* kConclusions[] = {"", "success", "failure", "cancelled"};
    return {outcome == Outcome::kRunning ? "in_progress" : "completed", kConclusions[o]};
  }
  static const char* kGitlab[] = {"running", "success", "failed", "canceled"};
  static const char* kStatus[] = {"pending", "success", "failure", "error"};
  return {site_.flavor == LocalFlavor::kGitlab ? kGitlab[o] : kStatus[o], ""};
}

LocalCiCheck LocalCi::Say(const LocalCiRun& run, const std::string& name, Outcome outcome) {
  static const char* kDescriptions[] = {"running", "passed", "failed", "cancelled"};
  const bool check_run = site_.flavor == LocalFlavor::kGithub && run.options.check_runs;
  // Check runs and GitLab jobs change in place; commit statuses are new objects.
  const bool in_place = check_run || site_.flavor == LocalFlavor::kGitlab;
  auto current = std::find_if(checks_.rbegin(), checks_.rend(),
                              [&](const LocalCiCheck& c) { return c.run_id == run.id && c.name == name; });
  LocalCiCheck c = current != checks_.rend() ? *current : LocalCiCheck{};
  std::tie(c.status, c.conclusion) = Words(check_run, outcome);
  c.run_id = run.id;
  c.sha = run.sha;
  c.name = name;
  c.description = kDescriptions[static_cast<int>(outcome)];
  c.check_run = check_run;
  if (in_place && current != checks_.rend()) {
    *current = c;
    return c;
  }
  c.id = NextId();
  if (c.url.empty()) {
    c.url = site_.web_url + (site_.flavor == LocalFlavor::kGitlab
                                 ? "/-/jobs/" + std::to_string(c.id)
                                 : "/actions/runs/" + std::to_string(run.id) +
                                       (check_run ? "/job/" + std::to_string(c.id) : ""));
  }
  checks_.push_back(c);
  return c;
}

void LocalCi::Report(std::int64_t run_id, Outcome outcome) {
  std::vector<localci::Webhook> hooks;
  bool send = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    LocalCiRun& run = *FindRun(run_id);
    if (stopping_ || run.finished) return;
    const bool started = outcome == Outcome::kRunning;
    const bool verdict = outcome == Outcome::kPassed || outcome == Outcome::kFailed;
    std::vector<LocalCiCheck> changed;
    for (const std::string& name : run.options.checks) {
      if (!started && !run.pending.count(name)) continue;
      if (verdict && run.options.never_report.count(name)) continue;
      changed.push_back(Say(run, name, outcome));
      if (started) run.pending.insert(name);
      else run.pending.erase(name);
    }
    const bool done = !started && run.pending.empty();
    if (started || done) {
      // The workflow run / pipeline speaks like a check run / a job.
      std::tie(run.status, run.conclusion) = Words(site_.flavor == LocalFlavor::kGithub, outcome);
    }
    if (done) {
      run.finished = true;
      cv_.notify_all();
    }
    if (verdict) verdicts_.push_back({run.sha, outcome == Outcome::kPassed, std::chrono::steady_clock::now()});
    std::vector<LocalCiCheck> of_run;
    for (const std::string& name : run.options.checks) {
      auto it = std::find_if(checks_.rbegin(), checks_.rend(),
                             [&](const LocalCiCheck& c) { return c.run_id == run_id && c.name == name; });
      if (it != checks_.rend()) of_run.push_back(*it);
    }
    hooks = localci::Webhooks(site_, run, changed, of_run, started, done);
    send = run.options.send_webhooks && site_.send;
  }
  if (!send) return;
  for (const auto& h : hooks) site_.send(h.event, h.body);
}

}  // namespace mergeyard::forge
