#pragma once
// Blobs for `mergeyard executor` (a remote executor): a content store of its
// own under its work directory is the local cache that inputs are
// hard-linked from; what it lacks is fetched from the server's executor
// routes (GET /api/v1/blobs/<hash>, verified on arrival) and outputs are
// sent there (PUT, unless the server already has them). Thread-safe.

#include <memory>
#include <mutex>
#include <string>

#include "exec/content_store.h"
#include "exec/reapi/action_runner.h"

namespace mergeyard::exec::reapi {

class RemoteBlobAccess final : public BlobAccess {
 public:
  // `cache` must be open. `server` like "http://host:8080"; `token` is the executor token.
  RemoteBlobAccess(ContentStore& cache, std::string server, std::string token)
      : cache_(cache), local_(cache), server_(std::move(server)), token_(std::move(token)) {}

  Result<std::string> LocalFile(const rex::Digest& d) override;
  Result<std::string> Get(const rex::Digest& d) override;
  Result<rex::Digest> Put(std::string_view bytes) override;
  Result<rex::Digest> PutFile(const std::string& path) override;

 private:
  Status Fetch(const rex::Digest& d);
  Status Send(const rex::Digest& d);

  ContentStore& cache_;
  LocalBlobAccess local_;
  std::string server_, token_;
};

}  // namespace mergeyard::exec::reapi
