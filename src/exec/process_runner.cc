#include "exec/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace mergeyard::exec {
namespace {

std::string FindBwrap() {
  for (const char* p : {"/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

std::vector<std::string> SandboxArgv(const std::string& bwrap, const RunSpec& spec) {
  const std::string& root = spec.writable_root.empty() ? spec.workdir : spec.writable_root;
  std::vector<std::string> a = {bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                                "--tmpfs", "/tmp", "--bind", root, root,
                                "--chdir", spec.workdir, "--unshare-pid", "--unshare-ipc",
                                "--unshare-uts", "--die-with-parent"};
  if (!spec.network) a.push_back("--unshare-net");
  a.push_back("--");
  a.insert(a.end(), spec.argv.begin(), spec.argv.end());
  return a;
}

std::vector<std::string> ScrubbedEnv(const RunSpec& spec) {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", spec.workdir}, {"LANG", "C.UTF-8"},
      {"TMPDIR", "/tmp"}, {"CI", "true"}, {"MERGEYARD", "1"}};
  for (const auto& [k, v] : spec.env) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

void KillGroup(pid_t pgid, int sig) { kill(-pgid, sig); }

// `program` as execve needs it: a name without a slash is looked up on the
// step's own PATH (never the server's), as execvp would in the child.
std::string ResolveProgram(const std::string& program, const std::vector<std::string>& env) {
  if (program.find('/') != std::string::npos) return program;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& kv : env)
    if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return program;  // execve fails: exit code 127, as a shell says "not found"
}

// Waits up to `ms` for the child behind `pidfd` to exit (-1: no pidfd here,
// a plain sleep). Returns early when it exits.
void WaitForExit(int pidfd, int ms) {
  if (pidfd < 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return;
  }
  struct pollfd p = {pidfd, POLLIN, 0};
  poll(&p, 1, ms);
}

// Everything the child needs between vfork and execve, prepared before.
struct ChildPlan {
  const char* program = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int stdout_fd = -1, stderr_fd = -1;
  const char* workdir = nullptr;
  rlim_t memory_limit = 0;  // 0: none
  rlim_t cpu_seconds = 0;
};

// Starts `plan` as a child in a process group of its own; -1 with errno set
// when it cannot. A child that cannot enter its workdir exits 126; one that
// cannot exec, 127.
pid_t Spawn(const ChildPlan& plan) {
  // Signals stay blocked until the child has reset every handler to the
  // default: a kill that arrives first must not run a handler of the server
  // (or of a test harness) inside the child.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  // vfork: the child borrows the server's memory until execve instead of
  // copying its page tables (a fork of a large, many-threaded server cost
  // milliseconds per step, bench/reapi). So the child makes system calls
  // only: no allocation, no locks, no return.
  const pid_t pid = vfork();
  if (pid == 0) {
    // Its own copy of the handler table: drop the server's handlers so a
    // kill lands as a plain kill.
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setpgid(0, 0);
    dup2(plan.stdout_fd, 1);
    dup2(plan.stderr_fd, 2);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (chdir(plan.workdir) != 0) _exit(126);
    const struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    const struct rlimit files = {4096, 4096};
    setrlimit(RLIMIT_NOFILE, &files);
    if (plan.memory_limit > 0) {
      const struct rlimit as = {plan.memory_limit, plan.memory_limit};
      setrlimit(RLIMIT_AS, &as);
    }
    const struct rlimit cpu = {plan.cpu_seconds, plan.cpu_seconds};
    setrlimit(RLIMIT_CPU, &cpu);
    execve(plan.program, plan.argv, plan.envp);
    _exit(127);
  }
  const int err = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (pid > 0) setpgid(pid, pid);  // also in the parent: no race with the first kill
  errno = err;
  return pid;
}

}  // namespace

bool BwrapAvailable() {
  static const bool ok = [] {
    std::string b = FindBwrap();
    if (b.empty()) return false;
    pid_t pid = fork();
    if (pid == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execl(b.c_str(), b.c_str(), "--ro-bind", "/", "/", "--unshare-net", "--", "/bin/true",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }();
  return ok;
}

RunOutcome RunProcess(const RunSpec& spec, const Clock& clock) {
  RunOutcome out;
  bool use_bwrap = spec.sandbox && BwrapAvailable();
  out.isolation = use_bwrap ? "bwrap" : "process-group";
  {
    std::ofstream log(spec.log_path, std::ios::app);
    log << "[mergeyard] isolation: " << out.isolation
        << (use_bwrap ? (spec.network ? " (network allowed)" : " (no network)") : "")
        << "; timeout " << spec.timeout / 1000 << "s\n";
  }
  std::vector<std::string> argv = use_bwrap ? SandboxArgv(FindBwrap(), spec) : spec.argv;
  std::vector<std::string> env = ScrubbedEnv(spec);
  const std::string program = argv.empty() ? std::string() : ResolveProgram(argv[0], env);
  std::vector<char*> args, envp;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int log_fd = open(spec.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    out.error = "cannot open log " + spec.log_path;
    return out;
  }
  int out_fd = log_fd, err_fd = log_fd;
  if (!spec.stdout_path.empty()) out_fd = open(spec.stdout_path.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
  if (!spec.stderr_path.empty()) err_fd = open(spec.stderr_path.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
  auto close_fds = [&] {
    if (out_fd != log_fd && out_fd >= 0) close(out_fd);
    if (err_fd != log_fd && err_fd >= 0) close(err_fd);
    close(log_fd);
  };
  if (out_fd < 0 || err_fd < 0) {
    close_fds();
    out.error = "cannot open the step's stdout or stderr file";
    return out;
  }
  ChildPlan plan;
  plan.program = program.c_str();
  plan.argv = args.data();
  plan.envp = envp.data();
  plan.stdout_fd = out_fd;
  plan.stderr_fd = err_fd;
  plan.workdir = spec.workdir.c_str();
  plan.memory_limit = use_bwrap ? 0 : static_cast<rlim_t>(std::max<std::int64_t>(spec.memory_limit_bytes, 0));
  plan.cpu_seconds = static_cast<rlim_t>(spec.timeout / 1000 + 10) * 4;  // backstop only
  const Time start = clock.Now();
  const pid_t pid = Spawn(plan);
  if (pid < 0) {
    const int err = errno;
    close_fds();
    out.error = std::string("vfork failed: ") + std::strerror(err);
    return out;
  }
  close_fds();
  // Woken the moment the child exits (Linux >= 5.3), rather than at the next tick.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  Time last_beat = start;
  Time term_sent = 0;
  int status = 0;
  struct rusage usage {};
  for (;;) {
    pid_t r = wait4(pid, &status, WNOHANG, &usage);
    if (r == pid) break;
    Time now = clock.Now();
    bool want_stop = (spec.cancel && spec.cancel->load()) || now - start >= spec.timeout;
    if (want_stop && term_sent == 0) {
      if (spec.cancel && spec.cancel->load()) out.cancelled = true;
      else out.timed_out = true;
      KillGroup(pid, SIGTERM);
      term_sent = now;
    } else if (term_sent && now - term_sent >= spec.kill_grace) {
      KillGroup(pid, SIGKILL);
    }
    if (spec.heartbeat && now - last_beat >= spec.heartbeat_every) {
      spec.heartbeat();
      last_beat = now;
    }
    WaitForExit(pidfd, pidfd >= 0 ? 20 : 10);
  }
  if (pidfd >= 0) close(pidfd);
  KillGroup(pid, SIGKILL);  // whatever the step left behind in its group
  out.duration = clock.Now() - start;
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) out.exit_code = 128 + WTERMSIG(status);
  out.peak_memory_bytes = static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
  double cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  if (out.duration > 0) out.cpu_cores = cpu_s / (static_cast<double>(out.duration) / 1000.0);
  if (spec.on_exit) spec.on_exit();
  std::ofstream log(spec.log_path, std::ios::app);
  if (out.timed_out) log << "\n[mergeyard] timed out after " << spec.timeout / 1000 << "s; process group killed\n";
  if (out.cancelled) log << "\n[mergeyard] cancelled; process group killed\n";
  log << "[mergeyard] exit code " << out.exit_code << "\n";
  return out;
}

}  // namespace mergeyard::exec
