#pragma once
// `mergeyard serve` as a child process (MERGEYARD_BINARY), configured by
// environment variables only, on a free loopback port, with its output in
// <dir>/serve.log. For end-to-end tests: start, stop (SIGTERM), kill -9,
// restart on the same data directory.

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mergeyard::testing {

inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class ServeProcess {
 public:
  // `env`: MERGEYARD_* settings; LISTEN and DATA_DIR are filled in.
  ServeProcess(std::string dir, std::map<std::string, std::string> env)
      : dir_(std::move(dir)), env_(std::move(env)), port_(FreePort()) {
    env_["MERGEYARD_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
    env_["MERGEYARD_DATA_DIR"] = dir_ + "/data";
  }
  ~ServeProcess() { Kill(); }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log_path() const { return dir_ + "/serve.log"; }

  // Starts the process and waits until /healthz answers. False on timeout.
  bool Start(int timeout_ms = 60000) {
    const char* binary = std::getenv("MERGEYARD_BINARY");
    if (!binary) return false;
    std::vector<std::string> envs;
    for (const auto& [k, v] : env_) envs.push_back(k + "=" + v);
    envs.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
    const char* tmp = std::getenv("TMPDIR");
    if (tmp) envs.push_back(std::string("TMPDIR=") + tmp);
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv = {const_cast<char*>(binary), const_cast<char*>("serve"), nullptr};
      std::vector<char*> envp;
      for (auto& e : envs) envp.push_back(e.data());
      envp.push_back(nullptr);
      ::execve(binary, argv.data(), envp.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      httplib::Client cli("127.0.0.1", port_);
      cli.set_connection_timeout(0, 200000);
      if (auto r = cli.Get("/healthz"); r && r->status == 200) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // SIGTERM and wait; the exit code (-1 if it had to be killed).
  int Stop(int timeout_ms = 15000) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill();
    return -1;
  }

  // kill -9, and reap.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool running() const { return pid_ > 0; }

  std::string Log() const {
    std::ifstream in(log_path());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string dir_;
  std::map<std::string, std::string> env_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace mergeyard::testing
