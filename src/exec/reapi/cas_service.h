#pragma once
// ContentAddressableStorage, ActionCache and Capabilities over gRPC
// (DESIGN.md section 8). Every method checks the bearer token first.
//  - FindMissingBlobs, BatchUpdateBlobs (each blob's SHA-256 and size
//    verified; a mismatch is that blob's INVALID_ARGUMENT), BatchReadBlobs
//    (a blob absent is that blob's NOT_FOUND), GetTree (breadth-first pages;
//    a missing root is NOT_FOUND).
//  - GetActionResult answers only a complete result: one whose outputs are
//    all still in the CAS, else NOT_FOUND (the client then executes).
//  - UpdateActionResult stores a client's result (exit code 0 only enter
//    the cache; others are answered but not kept).

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "exec/exec_service.h"
#include "exec/reapi/cas.h"
#include "exec/reapi/counters.h"

namespace mergeyard::exec::reapi {

struct ServiceContext {
  ExecService* exec = nullptr;
  Cas* cas = nullptr;
  Counters* counters = nullptr;
  std::string token;                       // empty: no auth
  std::int64_t max_batch_bytes = 4 << 20;  // advertised BatchUpdate/BatchRead limit
};

// CheckToken (grpc_status.h) with the refusal counted.
grpc::Status Authorize(const ServiceContext& c, const grpc::ServerContext& ctx);

std::unique_ptr<rex::ContentAddressableStorage::Service> NewCasService(ServiceContext ctx);
std::unique_ptr<rex::ActionCache::Service> NewActionCacheService(ServiceContext ctx);
std::unique_ptr<rex::Capabilities::Service> NewCapabilitiesService(ServiceContext ctx);

// The backend digest (cache key) of an action digest in an instance.
std::string BackendKey(const std::string& instance, const rex::Digest& action_digest);
// The stored REAPI ActionResult a backend result points at (outputs_digest).
Result<rex::ActionResult> StoredResult(Cas& cas, const core::ActionResult& r);
// What a cache answer may give: the stored ActionResult of a passing result
// whose outputs are all still in the CAS. nullopt otherwise (no result, a
// failure, or something evicted): the action must run.
std::optional<rex::ActionResult> CompleteResult(Cas& cas, const std::optional<core::ActionResult>& r);

}  // namespace mergeyard::exec::reapi
