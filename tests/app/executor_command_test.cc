// `mergeyard executor --work-dir DIR` as a process (MERGEYARD_BINARY): one
// executor per work directory, and the git lock files a killed executor left
// in its mirrors are gone before it fetches again.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <vector>

#include "temp_dir.h"

using namespace mergeyard;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts `mergeyard executor` against a server that is not there (it keeps
// retrying), its output in `log`, with HOME=<dir>/home and PATH only. An
// empty `work_dir` leaves --work-dir out.
pid_t StartExecutor(const testing::TempDir& dir, const std::string& work_dir, const std::string& log,
                    bool with_home = true) {
  const char* binary = std::getenv("MERGEYARD_BINARY");
  REQUIRE_MESSAGE(binary != nullptr, "MERGEYARD_BINARY is not set");
  std::ofstream(dir.File("token")) << "t\n";
  std::vector<std::string> args = {binary, "executor", "--server", "http://127.0.0.1:9", "--token-file",
                                   dir.File("token")};
  if (!work_dir.empty()) args.insert(args.end(), {"--work-dir", work_dir});
  std::vector<std::string> env = {std::string("PATH=") + std::getenv("PATH")};
  if (with_home) env.push_back("HOME=" + dir.File("home"));
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    for (auto& e : env) envp.push_back(e.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    execve(binary, argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

// SIGTERM, and SIGKILL if it has not exited within 20 s.
void Stop(pid_t pid) {
  kill(pid, SIGTERM);
  for (int waited = 0; waited < 20000; waited += 20) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Kills the executors a test started if it ends early (a failed REQUIRE).
struct Reaper {
  std::vector<pid_t> pids;
  pid_t operator()(pid_t pid) {
    pids.push_back(pid);
    return pid;
  }
  ~Reaper() {
    // Only children not reaped yet: their pids cannot have been reused.
    for (pid_t pid : pids) {
      if (waitpid(pid, nullptr, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  }
};

bool WaitFor(const std::function<bool()>& done, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// Whether `pid` holds the work directory `dir` (its LOCK names it) within
// `timeout_ms`.
bool HeldBy(const std::string& dir, pid_t pid, int timeout_ms = 20000) {
  return WaitFor([&] { return Slurp(dir + "/LOCK") == std::to_string(pid) + "\n"; }, timeout_ms);
}

// The exit code of `pid` once it exits (within 20 s); -1 if it did not, or
// died of a signal.
int ExitCodeOf(pid_t pid) {
  int status = 0;
  if (!WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 20000)) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// This user's real fallback work directory (no usable HOME), put back as it
// was found (private, or gone) whatever the test does to it.
struct FallbackDir {
  const std::string path = "/var/tmp/mergeyard-executor-" + std::to_string(getuid());
  const bool existed = std::filesystem::exists(path);
  ~FallbackDir() {
    std::error_code ec;
    if (existed) chmod(path.c_str(), 0700);
    else std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

TEST_SUITE("app") {

TEST_CASE("an executor removes stale git locks from its mirrors, and a second one on its work dir exits 2") {
  testing::TempDir dir;
  Reaper reap;
  const std::string work = dir.File("work");
  const std::string mirror = work + "/mirrors/acme_widgets.git";
  REQUIRE(std::system(("git init -q --bare '" + mirror + "'").c_str()) == 0);
  std::filesystem::create_directories(mirror + "/refs/heads/nested");
  for (const char* lock : {"/refs/heads/main.lock", "/refs/heads/nested/x.lock", "/packed-refs.lock"}) {
    std::ofstream(mirror + lock) << "";
  }
  std::ofstream(mirror + "/objects/keep.lock") << "";  // not a ref lock: left alone

  const pid_t first = reap(StartExecutor(dir, work, dir.File("first.log")));
  const bool cleaned = WaitFor([&] { return !std::filesystem::exists(mirror + "/refs/heads/main.lock"); }, 20000);
  CHECK_MESSAGE(cleaned, Slurp(dir.File("first.log")));
  CHECK_FALSE(std::filesystem::exists(mirror + "/refs/heads/nested/x.lock"));
  CHECK_FALSE(std::filesystem::exists(mirror + "/packed-refs.lock"));
  CHECK(std::filesystem::exists(mirror + "/objects/keep.lock"));

  const pid_t second = reap(StartExecutor(dir, work, dir.File("second.log")));
  CHECK(ExitCodeOf(second) == 2);
  CHECK(Slurp(dir.File("second.log")).find("in use by another mergeyard process (pid " + std::to_string(first)) !=
        std::string::npos);

  kill(first, SIGTERM);
  CHECK(ExitCodeOf(first) == 0);
}

TEST_CASE("executors without --work-dir share a warm default under HOME, one directory each") {
  testing::TempDir dir;
  Reaper reap;
  const std::string base = dir.File("home") + "/.cache/mergeyard/executor";
  const pid_t first = reap(StartExecutor(dir, "", dir.File("first.log")));
  REQUIRE_MESSAGE(HeldBy(base, first), Slurp(dir.File("first.log")));
  const pid_t second = reap(StartExecutor(dir, "", dir.File("second.log")));
  CHECK_MESSAGE(HeldBy(base + "-2", second), Slurp(dir.File("second.log")));
  CHECK(HeldBy(base, first, 0));
  Stop(second);
  Stop(first);
  // A restart takes the first directory again, warm.
  const pid_t again = reap(StartExecutor(dir, "", dir.File("again.log")));
  CHECK(HeldBy(base, again));
  Stop(again);
}

TEST_CASE("without HOME the fallback under /var/tmp must be the user's own, private directory") {
  testing::TempDir dir;
  Reaper reap;
  FallbackDir fallback;
  std::error_code ec;
  std::filesystem::create_directories(fallback.path, ec);
  REQUIRE(chmod(fallback.path.c_str(), 0777) == 0);  // as if someone else had made it open
  const pid_t open_dir = reap(StartExecutor(dir, "", dir.File("open.log"), /*with_home=*/false));
  CHECK(ExitCodeOf(open_dir) == 2);
  CHECK(Slurp(dir.File("open.log")).find("not a private directory") != std::string::npos);

  REQUIRE(chmod(fallback.path.c_str(), 0700) == 0);
  const pid_t private_dir = reap(StartExecutor(dir, "", dir.File("private.log"), /*with_home=*/false));
  CHECK_MESSAGE(HeldBy(fallback.path, private_dir), Slurp(dir.File("private.log")));
  Stop(private_dir);
}

TEST_CASE("with a HOME that cannot hold a cache, the executor falls back to its private /var/tmp directory") {
  testing::TempDir dir;
  Reaper reap;
  FallbackDir fallback;
  if (fallback.existed) REQUIRE(chmod(fallback.path.c_str(), 0700) == 0);
  std::ofstream(dir.File("home")) << "a file, not a directory\n";  // HOME=<dir>/home cannot hold .cache
  const pid_t executor = reap(StartExecutor(dir, "", dir.File("log")));
  CHECK_MESSAGE(HeldBy(fallback.path, executor), Slurp(dir.File("log")));
  Stop(executor);
}

}  // TEST_SUITE
