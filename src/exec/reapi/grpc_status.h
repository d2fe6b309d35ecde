#pragma once
// Turning mergeyard errors into the gRPC statuses REAPI clients act on, and
// the bearer-token check every REAPI method starts with.

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "exec/reapi/cas.h"
#include "google/rpc/status.pb.h"

namespace mergeyard::exec::reapi {

// kInvalid -> INVALID_ARGUMENT, kNotFound -> NOT_FOUND, kTransient ->
// UNAVAILABLE, kUnauthorized -> UNAUTHENTICATED, kForbidden ->
// PERMISSION_DENIED, kConflict -> ABORTED, kInternal -> INTERNAL.
grpc::StatusCode GrpcCode(ErrorCode code);
// "NOT_FOUND", "UNAUTHENTICATED"...
const char* StatusCodeName(int code);
// "<what>: <CODE NAME>: <message>", for errors a person reads.
std::string Describe(const std::string& what, const grpc::Status& s);
grpc::Status ToGrpc(const Error& e);
google::rpc::Status ToRpc(const grpc::Status& s);
google::rpc::Status RpcStatus(grpc::StatusCode code, const std::string& message);

// FAILED_PRECONDITION carrying a google.rpc.PreconditionFailure with one
// violation {type "MISSING", subject "blobs/<hash>/<size>"} per digest, as
// REAPI asks for inputs that are not in the CAS.
grpc::Status MissingBlobs(const std::vector<rex::Digest>& missing);
google::rpc::Status MissingBlobsRpc(const std::vector<rex::Digest>& missing);

// OK when `token` is empty or the call carries "authorization: Bearer
// <token>" (compared in constant time); UNAUTHENTICATED otherwise.
grpc::Status CheckToken(const grpc::ServerContext& ctx, const std::string& token);

}  // namespace mergeyard::exec::reapi
