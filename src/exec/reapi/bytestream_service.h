#pragma once
// google.bytestream.ByteStream over the CAS, for blobs of any size.
//  - Read "[<instance>/]blobs/<hash>/<size>[/...]": read_offset and
//    read_limit honoured (0: to the end), streamed in 1 MiB chunks; an
//    offset past the end is OUT_OF_RANGE, an absent blob NOT_FOUND.
//  - Write "[<instance>/]uploads/<uuid>/blobs/<hash>/<size>[/...]":
//    resumable. A write that breaks off keeps what was committed;
//    QueryWriteStatus tells how much, and a later Write continues at that
//    write_offset. finish_write verifies SHA-256 and size (INVALID_ARGUMENT
//    and the data dropped on a mismatch). A blob already stored is answered
//    at once with its full size.
//  - compressed-blobs resources are INVALID_ARGUMENT (no compressor is
//    advertised).

#include <memory>

#include "exec/reapi/cas_service.h"
#include "google/bytestream/bytestream.grpc.pb.h"

namespace mergeyard::exec::reapi {

std::unique_ptr<google::bytestream::ByteStream::Service> NewByteStreamService(ServiceContext ctx);

// A parsed resource name. For reads `upload` is empty.
struct ResourceName {
  std::string instance, upload;
  rex::Digest digest;
};
// kInvalid with the reason when the name is not a blob (read) or upload (write) name.
Result<ResourceName> ParseReadResource(const std::string& name);
Result<ResourceName> ParseWriteResource(const std::string& name);

}  // namespace mergeyard::exec::reapi
