#pragma once
// The REAPI gRPC server of `mergeyard serve` (DESIGN.md section 8):
// Capabilities, Execution, ActionCache, ContentAddressableStorage and
// ByteStream in front of an ExecService and its content store.
//
//   reapi::ServerOptions o;
//   o.listen = "127.0.0.1:8980";          // port 0 picks a free port
//   o.token = "...";                      // empty: no auth
//   auto server = reapi::Server::Start(o, exec_service);   // Result<unique_ptr>
//   (*server)->port(); ... (*server)->Stop();
//
// Executions are run by the ExecService's executors; an executor runs a REAPI
// action through ReapiActionRunner (action_runner.h).

#include <memory>
#include <string>

#include "base/result.h"
#include "exec/exec_service.h"
#include "exec/reapi/counters.h"
#include "exec/reapi/execution_service.h"

namespace grpc {
class Server;
}

namespace mergeyard::exec::reapi {

struct ServerOptions {
  std::string listen;              // host:port
  std::string token;               // bearer token; empty: no auth
  std::string tls_cert_file;       // both set: TLS
  std::string tls_key_file;
  std::int64_t max_batch_bytes = 4 << 20;
  ExecutionOptions execution;
};

class Server {
 public:
  // Also tunes this process's malloc to keep freed memory (see server.cc).
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, ExecService& exec);
  ~Server();
  int port() const { return port_; }
  // Stops accepting calls and ends those in flight (within a second).
  void Stop();
  const Counters& counters() const { return counters_; }
  Cas& cas() { return *cas_; }

 private:
  Server() = default;
  struct Services;
  std::unique_ptr<Cas> cas_;
  Counters counters_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace mergeyard::exec::reapi
