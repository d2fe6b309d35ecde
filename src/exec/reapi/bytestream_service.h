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
//  - Read "[<instance>/]logs/<execution>" (LogStreamName, offered as
//    ExecuteOperationMetadata.stdout_stream_name) follows an execution's
//    log: what the action writes to stdout and stderr, as it writes it,
//    between mergeyard's own lines ("[mergeyard] ..."). The stream stays
//    open while the execution is queued or running and ends (OK) with its
//    last bytes once it is over; read_offset and read_limit are honoured.
//    An unknown execution is NOT_FOUND.

#include <memory>
#include <optional>
#include <string>

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
// The resource name of `execution`'s log stream, and back (nullopt: not one).
std::string LogStreamName(const std::string& instance, const std::string& execution);
std::optional<std::string> LogStreamExecution(const std::string& name);
Result<ResourceName> ParseWriteResource(const std::string& name);

}  // namespace mergeyard::exec::reapi
