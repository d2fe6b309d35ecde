#include "exec/reapi/grpc_status.h"

#include <openssl/crypto.h>

#include "google/rpc/error_details.pb.h"

namespace mergeyard::exec::reapi {

grpc::StatusCode GrpcCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalid: return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorCode::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case ErrorCode::kConflict: return grpc::StatusCode::ABORTED;
    case ErrorCode::kTransient: return grpc::StatusCode::UNAVAILABLE;
    case ErrorCode::kUnauthorized: return grpc::StatusCode::UNAUTHENTICATED;
    case ErrorCode::kForbidden: return grpc::StatusCode::PERMISSION_DENIED;
    case ErrorCode::kInternal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

const char* StatusCodeName(int code) {
  static const char* const kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                       "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                       "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

std::string Describe(const std::string& what, const grpc::Status& s) {
  return what + ": " + StatusCodeName(s.error_code()) + ": " + s.error_message();
}

grpc::Status ToGrpc(const Error& e) { return grpc::Status(GrpcCode(e.code), e.message); }

google::rpc::Status RpcStatus(grpc::StatusCode code, const std::string& message) {
  google::rpc::Status s;
  s.set_code(static_cast<int>(code));
  s.set_message(message);
  return s;
}

google::rpc::Status ToRpc(const grpc::Status& s) {
  google::rpc::Status out;
  if (!s.error_details().empty() && out.ParseFromString(s.error_details())) return out;
  return RpcStatus(s.error_code(), s.error_message());
}

google::rpc::Status MissingBlobsRpc(const std::vector<rex::Digest>& missing) {
  google::rpc::PreconditionFailure failure;
  std::string message = "missing from the CAS:";
  for (const auto& d : missing) {
    auto* v = failure.add_violations();
    v->set_type("MISSING");
    v->set_subject("blobs/" + DigestString(d));
    if (failure.violations_size() <= 5) message += " " + DigestString(d);
  }
  if (missing.size() > 5) message += " and " + std::to_string(missing.size() - 5) + " more";
  google::rpc::Status s = RpcStatus(grpc::StatusCode::FAILED_PRECONDITION, message);
  s.add_details()->PackFrom(failure);
  return s;
}

grpc::Status MissingBlobs(const std::vector<rex::Digest>& missing) {
  google::rpc::Status s = MissingBlobsRpc(missing);
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, s.message(), s.SerializeAsString());
}

grpc::Status CheckToken(const grpc::ServerContext& ctx, const std::string& token) {
  if (token.empty()) return grpc::Status::OK;
  const std::string want = "Bearer " + token;
  auto range = ctx.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    const auto& got = it->second;
    if (got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0)
      return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      "a REAPI bearer token is required (authorization: Bearer <reapi_token>)");
}

}  // namespace mergeyard::exec::reapi
