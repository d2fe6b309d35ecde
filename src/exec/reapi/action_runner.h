#pragma once
// Runs one REAPI action on an executor (exec::RemoteActionRunner):
//  1. reads the Action and Command from the CAS and lays out the input root
//     in the scratch directory: files hard-linked from a local blob store
//     (copied where a link is impossible, and executables always copied, so
//     a stored blob's mode never changes), directories and symlinks made;
//  2. creates the parents of every output path and runs the Command's
//     arguments in working_directory, sandboxed as pipeline steps are
//     (process_runner.h), with its environment variables and the Action's
//     timeout; stdout and stderr are kept apart;
//  3. uploads the outputs (output_paths, or output_files and
//     output_directories; a directory as a Tree), stdout and stderr, and
//     stores the ActionResult message, whose ExecutedActionMetadata names the
//     worker and times each phase (the Clock's NowMicros);
//     core::ActionResult.outputs_digest is its hash.
// Inputs that are not in the CAS end the run with ActionResult.error =
// kMissingInputs + their digests (execution_service.h), before anything runs.

#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "exec/reapi/cas.h"
#include "exec/scratch_pool.h"
#include "exec/step_runner.h"

namespace mergeyard::exec::reapi {

// Where an executor gets and puts blobs.
class BlobAccess {
 public:
  virtual ~BlobAccess() = default;
  // A local, read-only file holding the blob (for hard links). kNotFound
  // when the CAS does not have it.
  virtual Result<std::string> LocalFile(const rex::Digest& d) = 0;
  virtual Result<std::string> Get(const rex::Digest& d) = 0;
  virtual Result<rex::Digest> Put(std::string_view bytes) = 0;
  // Stores the file, which may become the stored blob itself (a hard
  // link): the caller must not write to it afterwards.
  virtual Result<rex::Digest> PutFile(const std::string& path) = 0;
};

// The server's own content store (the local executor).
class LocalBlobAccess final : public BlobAccess {
 public:
  explicit LocalBlobAccess(ContentStore& store) : cas_(store) {}
  Result<std::string> LocalFile(const rex::Digest& d) override;
  Result<std::string> Get(const rex::Digest& d) override { return cas_.Get(d); }
  Result<rex::Digest> Put(std::string_view bytes) override { return cas_.Put(bytes); }
  Result<rex::Digest> PutFile(const std::string& path) override;

 private:
  Cas cas_;
};

class ActionRunner final : public RemoteActionRunner {
 public:
  // Each run lays out its input root in a directory borrowed from
  // `scratch_dir` (ScratchPool), emptied once the run is over.
  ActionRunner(BlobAccess& blobs, std::string worker, bool sandbox, const Clock& clock, std::string scratch_dir)
      : blobs_(blobs), worker_(std::move(worker)), sandbox_(sandbox), clock_(clock),
        scratch_(std::move(scratch_dir), "reapi-") {}
  core::ActionResult Run(const core::Assignment& a, const std::string& log_path, const std::atomic<bool>* cancel,
                         const std::function<void()>& heartbeat) override;

 private:
  core::ActionResult RunIn(const core::Assignment& a, const std::string& scratch, const std::string& log_path,
                           const std::atomic<bool>* cancel, const std::function<void()>& heartbeat);

  BlobAccess& blobs_;
  std::string worker_;
  bool sandbox_;
  const Clock& clock_;
  ScratchPool scratch_;
};

}  // namespace mergeyard::exec::reapi
