#pragma once
// The running service, wired: the SQLite store and the Engine recovered from
// it, the forge clients, the git mirrors, the execution backend with its
// local executors, the webhook listener and processor, the admin API, the
// dashboard and /metrics, all on one HTTP listener. `mergeyard serve` and the
// demo run it; it owns every thread it starts.
//
//   auto service = Service::Start(config);   // listening when it returns
//   ... service->port() ...
//   service->Stop();                          // graceful: see Stop()

#include <atomic>
#include <memory>
#include <string>

#include "app/service_config.h"
#include "base/result.h"

namespace mergeyard::app {

class Service {
 public:
  // Errors: kInvalid for a listen address or settings that cannot work,
  // kInternal when the database, the execution backend or recovery fails.
  static Result<std::unique_ptr<Service>> Start(const ServiceConfig& config);
  ~Service();  // Stop()s

  // The port actually bound (the configured one, or the one picked for :0).
  int port() const;

  // Stops taking work: the listener closes, the engine commits the
  // transition in progress and stops; queued git calls finish; runs still
  // executing are left to be re-attached or re-run by the next start.
  void Stop();

  // Blocks until Stop() was called or the engine failed (its store refused a
  // transition); true if the engine failed.
  bool WaitUntilStoppedOrFailed();
  // Wakes WaitUntilStoppedOrFailed (signal handling).
  void RequestStop();

 private:
  struct Parts;
  Service() = default;
  std::unique_ptr<Parts> parts_;
};

}  // namespace mergeyard::app
