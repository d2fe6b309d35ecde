#pragma once
// Follows the log streams a REAPI engine offers for an execution
// (ExecuteOperationMetadata.stdout_stream_name and stderr_stream_name, read
// with ByteStream.Read) into a step's log, so its log link shows the output
// while the step runs on the engine. Each stream has a thread of its own and
// appends bytes as they arrive. Engines that offer none are fine: the
// caller writes the result's stdout and stderr at the end instead.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "google/bytestream/bytestream.grpc.pb.h"

namespace mergeyard::exec::reapi {

class LogFollower {
 public:
  using ContextFn = std::function<std::unique_ptr<grpc::ClientContext>()>;
  LogFollower(google::bytestream::ByteStream::Stub* stub, ContextFn context, std::string log_path)
      : stub_(stub), context_(std::move(context)), log_path_(std::move(log_path)) {}
  // Cancels what still runs and waits for it.
  ~LogFollower();

  // Starts following `name`; nothing when it is empty or followed already.
  void Follow(const std::string& name);
  // Waits up to `grace` for every stream to end, then cancels the rest.
  // True when at least one stream was followed and every one ended OK: the
  // log then holds the whole output.
  bool Finish(std::chrono::milliseconds grace);
  bool followed() const { return !streams_.empty(); }

 private:
  struct Stream {
    std::string name;
    std::unique_ptr<grpc::ClientContext> ctx;
    std::thread thread;
    std::atomic<bool> done{false};
    bool ok = false;  // written by the thread before done
  };
  void Read(Stream* s);
  void StopAll();

  google::bytestream::ByteStream::Stub* stub_;
  ContextFn context_;
  std::string log_path_;
  std::mutex log_mu_;  // one append at a time
  std::vector<std::unique_ptr<Stream>> streams_;
};

}  // namespace mergeyard::exec::reapi
