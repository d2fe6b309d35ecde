#include "exec/git_cli_workspace.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <memory>

#include "base/log.h"
#include "exec/file_name.h"

namespace mergeyard::exec {
namespace fs = std::filesystem;

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<std::string> RunCapture(const std::vector<std::string>& argv) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Internal("pipe failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]); close(out_pipe[1]);
    return Internal("pipe failed");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store{"GIT_TERMINAL_PROMPT=0"};
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("GIT_TERMINAL_PROMPT=", 0) != 0) env_store.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Internal("fork failed");
  if (pid == 0) {
    // git dies with us: a git left running after a kill -9 would hold ref
    // locks that the next process removes as stale (git/stale_locks.h).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  std::string out, err;
  char buf[4096];
  // stderr is small; read stdout fully, then stderr (git writes little there).
  for (ssize_t n; (n = read(out_pipe[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  for (ssize_t n; (n = read(err_pipe[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(n));
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Internal(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed: " + Trim(err));
  return out;
}

GitCliWorkspace::GitCliWorkspace(RepoPathFn mirror_of, std::string work_dir, RepoPathFn fetch_url_of)
    : mirror_of_(std::move(mirror_of)), work_dir_(std::move(work_dir)),
      fetch_url_of_(std::move(fetch_url_of)) {}

Result<std::string> GitCliWorkspace::Mirror(const std::string& repo, const std::string& commit) {
  auto mirror = mirror_of_ ? mirror_of_(repo) : std::nullopt;
  if (!mirror) return NotFound("no mirror for " + repo);
  if (!fetch_url_of_) return *mirror;
  std::mutex* m;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = repo_mu_[repo];
    if (!slot) slot = std::make_unique<std::mutex>();
    m = slot.get();
  }
  std::lock_guard<std::mutex> lock(*m);
  std::error_code ec;
  if (!fs::exists(*mirror + "/HEAD", ec)) {
    fs::create_directories(*mirror, ec);
    auto init = RunCapture({"git", "init", "--quiet", "--bare", *mirror});
    if (!init) return init.error();
  }
  if (!commit.empty() && RunCapture({"git", "--git-dir=" + *mirror, "cat-file", "-e", commit + "^{commit}"}))
    return *mirror;
  auto url = fetch_url_of_(repo);
  if (!url) return NotFound("no fetch URL for " + repo);
  auto fetched = RunCapture({"git", "--git-dir=" + *mirror, "fetch", "--quiet", *url,
                             "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"});
  if (!fetched) return Transient("fetch of " + repo + " failed: " + fetched.error().message);
  if (!commit.empty() && !RunCapture({"git", "--git-dir=" + *mirror, "cat-file", "-e", commit + "^{commit}"})) {
    auto one = RunCapture({"git", "--git-dir=" + *mirror, "fetch", "--quiet", *url, commit});
    if (!one) return NotFound("commit " + commit + " not found in " + repo);
  }
  return *mirror;
}

Result<std::string> GitCliWorkspace::TreeId(const std::string& repo, const std::string& commit) {
  auto mirror = Mirror(repo, commit);
  if (!mirror) return mirror.error();
  auto out = RunCapture({"git", "--git-dir=" + *mirror, "rev-parse", "--verify", "--quiet",
                         commit + "^{tree}"});
  if (!out) return NotFound("commit " + commit + " not found in " + repo);
  return Trim(*out);
}

Result<std::string> GitCliWorkspace::PathId(const std::string& repo, const std::string& commit,
                                            const std::string& path) {
  auto mirror = Mirror(repo, commit);
  if (!mirror) return mirror.error();
  std::string p = path;
  while (!p.empty() && p.back() == '/') p.pop_back();
  auto out = RunCapture({"git", "--git-dir=" + *mirror, "rev-parse", "--verify", "--quiet",
                         commit + ":" + p});
  if (!out) return NotFound(path + " not in " + commit);
  return Trim(*out);
}

Result<std::string> GitCliWorkspace::Acquire(const std::string& repo, const std::string& commit) {
  auto mirror = Mirror(repo, commit);
  if (!mirror) return mirror.error();
  std::string dir;
  std::vector<fs::path> leftovers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& pool = free_[repo];
    if (cleaned_.insert(repo).second) leftovers = MoveLeftoversAside(repo);
    if (!pool.empty()) {
      dir = pool.back();
      pool.pop_back();
    }
  }
  if (!leftovers.empty()) RemoveLeftovers(repo, *mirror, leftovers);
  if (!dir.empty()) {
    auto co = RunCapture({"git", "-C", dir, "checkout", "--quiet", "--detach", "-f", commit});
    auto clean = co ? RunCapture({"git", "-C", dir, "clean", "-ffdxq"}) : co;
    if (co && clean) return dir;
    LOG_WARN("worktree reuse failed; adding a fresh one", {{"repo", repo}});
    std::error_code ec;
    fs::remove_all(dir, ec);
    (void)RunCapture({"git", "--git-dir=" + *mirror, "worktree", "prune"});
  }
  {
    // A name no checkout has, left over ones included (a container's
    // service has the same pid after every restart).
    std::lock_guard<std::mutex> lock(mu_);
    std::error_code ec;
    do {
      dir = work_dir_ + "/" + FileNameFor(repo) + "/wt-" + std::to_string(next_[repo]++) + "-" +
            std::to_string(getpid());
    } while (fs::exists(dir, ec));
  }
  std::error_code ec;
  fs::create_directories(fs::path(dir).parent_path(), ec);
  auto add = RunCapture({"git", "--git-dir=" + *mirror, "worktree", "add", "--quiet", "--detach",
                         "-f", dir, commit});
  if (!add) return add.error();
  return dir;
}

std::vector<fs::path> GitCliWorkspace::MoveLeftoversAside(const std::string& repo) {
  std::error_code ec;
  const fs::path parent = work_dir_ + "/" + FileNameFor(repo);
  std::vector<fs::path> moved;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("wt-", 0) != 0 && name.rfind("trash-", 0) != 0) continue;  // trash-: an interrupted removal
    fs::path aside = parent / ("trash-" + std::to_string(getpid()) + "-" + name);
    std::error_code rename_ec;
    fs::rename(it->path(), aside, rename_ec);
    moved.push_back(rename_ec ? it->path() : aside);
  }
  return moved;
}

void GitCliWorkspace::RemoveLeftovers(const std::string& repo, const std::string& mirror,
                                      const std::vector<fs::path>& leftovers) {
  int failed = 0;
  for (const auto& dir : leftovers) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    failed += ec ? 1 : 0;
  }
  (void)RunCapture({"git", "--git-dir=" + mirror, "worktree", "prune"});
  LOG_INFO("exec: removed checkouts an earlier process left",
           {{"repo", repo}, {"count", std::to_string(leftovers.size())}, {"failed", std::to_string(failed)}});
}

void GitCliWorkspace::Release(const std::string& repo, const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  free_[repo].push_back(dir);
}

std::vector<std::string> GitCliWorkspace::WarmRepos() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [repo, pool] : free_)
    if (!pool.empty()) out.push_back(repo);
  return out;
}

}  // namespace mergeyard::exec
