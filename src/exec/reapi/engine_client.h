#pragma once
// Sends pipeline steps to an external REAPI engine (Buildbarn, BuildBuddy,
// NativeLink, or another mergeyard): `reapi_remote`, `reapi_instance` and
// the token in the service configuration (DESIGN.md section 8).
//
// It is the runner of an executor of this service's backend (see
// ExecStackOptions::reapi_remote), so mergeyard's own action cache, merging
// and fair scheduling still come first; what reaches it runs remotely:
//  - the step's checkout (the batch commit's git tree, read from the bare
//    mirror) becomes the input root. File digests are remembered per git
//    object, and FindMissingBlobs decides what is uploaded, so a tree the
//    engine already has costs no upload;
//  - the Command is the step's argv (`sh -c <run>`) with its environment;
//    its resources (cpu, memory, custom) and platform become platform
//    properties;
//  - the step's timeout is the Action's; the lease is renewed while the
//    engine works; a cancelled lease cancels the Execute call;
//  - the engine's log streams (stdout_stream_name, stderr_stream_name) are
//    followed into the step's log while it runs (log_follower.h); from an
//    engine that offers none, or when a stream breaks, stdout and stderr
//    are written to the log when the step ends;
//  - a missing-input answer (evicted between upload and run) is retried
//    once after uploading again.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/result.h"
#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "exec/core/backend.h"
#include "exec/git_cli_workspace.h"
#include "exec/reapi/cas.h"
#include "google/bytestream/bytestream.grpc.pb.h"

namespace grpc {
class Channel;
}

namespace mergeyard::exec::reapi {

class LogFollower;

struct EngineClientOptions {
  std::string remote;     // "grpc://host:port", "grpcs://host:port" (TLS) or "host:port"
  std::string instance;   // the engine's instance name
  std::string token;      // sent as "authorization: Bearer <token>"; empty: none
  RepoPathFn mirror_of;   // repo -> bare mirror holding the batch commits
};

class EngineClient {
 public:
  // kInvalid for a malformed `remote`. Connects lazily.
  static Result<std::unique_ptr<EngineClient>> Create(EngineClientOptions options);

  // Runs one step assignment remotely (the StepRunnerFn contract of
  // local_executor.h): an infrastructure failure is result.error.
  core::ActionResult Run(const core::Assignment& a, const std::string& log_path,
                         const std::atomic<bool>* cancel, const std::function<void()>& heartbeat);

  // Uploads what the engine lacks of `commit`'s tree; the input root's digest.
  Result<rex::Digest> UploadTree(const std::string& repo, const std::string& commit);

  struct Stats {
    std::uint64_t uploaded_blobs = 0, uploaded_bytes = 0, executes = 0;
  };
  Stats stats();

 private:
  EngineClient() = default;
  struct Tree;
  std::unique_ptr<grpc::ClientContext> Context(const std::string& invocation = "",
                                              const std::string& mnemonic = "");
  Status HashBlobs(const std::string& mirror, Tree& tree);
  Result<rex::Digest> BuildDirectories(Tree& tree);
  Status UploadMissing(const std::string& mirror, Tree& tree);
  Status UploadBytes(const std::vector<std::pair<rex::Digest, std::string>>& blobs);
  Status WriteStream(const rex::Digest& d, const std::string& bytes);
  Result<std::string> ReadBlob(const rex::Digest& d);
  Result<rex::ExecuteResponse> Execute(const rex::Digest& action, const core::Assignment& a,
                                       const std::atomic<bool>* cancel, const std::function<void()>& heartbeat,
                                       LogFollower& logs);

  EngineClientOptions o_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rex::ContentAddressableStorage::Stub> cas_;
  std::unique_ptr<rex::Execution::Stub> exec_;
  std::unique_ptr<google::bytestream::ByteStream::Stub> bytestream_;
  std::mutex mu_;
  std::unordered_map<std::string, rex::Digest> blob_digests_;  // git blob id -> SHA-256 digest
  Stats stats_;
};

}  // namespace mergeyard::exec::reapi
