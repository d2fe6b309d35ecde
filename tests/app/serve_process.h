#pragma once
// `mergeyard serve` (MERGEYARD_BINARY) as a child process for end-to-end
// tests: app::ServeChild on a free loopback port, configured by environment
// variables only, its output in <dir>/serve.log; start, stop (SIGTERM),
// kill -9, restart on the same data directory.

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "app/serve_child.h"

namespace mergeyard::testing {

class ServeProcess {
 public:
  // `env`: MERGEYARD_* settings; LISTEN and DATA_DIR are filled in.
  ServeProcess(std::string dir, std::map<std::string, std::string> env) : dir_(std::move(dir)) {
    auto port = app::FreeLoopbackPort();
    port_ = port.ok() ? *port : 0;
    env["MERGEYARD_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
    env["MERGEYARD_DATA_DIR"] = dir_ + "/data";
    const char* binary = std::getenv("MERGEYARD_BINARY");
    child_ = std::make_unique<app::ServeChild>(binary ? binary : "", std::move(env), log_path(), port_);
  }

  int port() const { return port_; }
  std::string url() const { return child_->url(); }
  std::string log_path() const { return dir_ + "/serve.log"; }

  // Starts the process and waits until /healthz answers. False on failure.
  bool Start(int timeout_ms = 60000) { return child_->Start(timeout_ms).ok(); }
  // SIGTERM and wait; the exit code (-1 if it had to be killed).
  int Stop(int timeout_ms = 15000) { return child_->Stop(timeout_ms); }
  // kill -9, and reap.
  void Kill() { child_->Kill(); }
  bool running() const { return child_->running(); }

  std::string Log() const {
    std::ifstream in(log_path());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<app::ServeChild> child_;
};

}  // namespace mergeyard::testing
