#pragma once
// `mergeyard serve` as a child process: configured by MERGEYARD_* environment
// variables only, listening on a loopback port chosen before it starts, with
// its output in a log file. `mergeyard demo` runs the real service this way.

#include <sys/types.h>

#include <map>
#include <string>

#include "base/result.h"

namespace mergeyard::app {

// A port on 127.0.0.1 that was free a moment ago (bound, then released).
Result<int> FreeLoopbackPort();

// The path of the running executable (/proc/self/exe).
Result<std::string> SelfExecutable();

class ServeChild {
 public:
  ServeChild(std::string binary, std::map<std::string, std::string> env, std::string log_path, int port)
      : binary_(std::move(binary)), env_(std::move(env)), log_path_(std::move(log_path)), port_(port) {}
  ~ServeChild() { Kill(); }
  ServeChild(const ServeChild&) = delete;
  ServeChild& operator=(const ServeChild&) = delete;

  // Starts `binary serve` with `env` (plus PATH, HOME and TMPDIR of this
  // process) and waits until GET /healthz answers 200. Errors: the process
  // exited (kInternal, with the log's last lines) or did not answer in time
  // (kTransient).
  Status Start(int timeout_ms = 60000);
  // SIGTERM, then waits up to `timeout_ms` for a graceful exit; kills it if
  // it does not come. The exit code, or -1.
  int Stop(int timeout_ms = 20000);
  // kill -9 and reap.
  void Kill();

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& log_path() const { return log_path_; }

 private:
  std::string binary_;
  std::map<std::string, std::string> env_;
  std::string log_path_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace mergeyard::app
