#pragma once
// The Execution service (DESIGN.md section 8): Execute and WaitExecution
// through the execution backend.
//  - The action digest in its instance is the backend digest (BackendKey):
//    a complete result in the action cache answers at once (cached_result);
//    otherwise concurrent Executes of one digest share one execution, and
//    each stream gets its result.
//  - Before anything is queued the Action, its Command and every blob of its
//    input root must be in the CAS: else FAILED_PRECONDITION with a
//    PreconditionFailure naming each missing blob.
//  - The stream carries google.longrunning.Operation messages named
//    "[<instance>/]operations/<execution>" with ExecuteOperationMetadata
//    (QUEUED, EXECUTING; stdout_stream_name: the execution's log stream,
//    bytestream_service.h) and, at the end, done with an ExecuteResponse whose
//    status says how it ended (OK with the exit code in the result;
//    DEADLINE_EXCEEDED after the action's timeout; FAILED_PRECONDITION when
//    an input vanished before it ran; UNAVAILABLE when the backend gave up).
//  - A caller that goes away (cancelled stream) leaves its wait; the
//    execution is cancelled when no caller is left (core::Backend's grace).
//  - WaitExecution on a known operation joins it again (or answers its
//    result); an unknown name is NOT_FOUND.
//  - Grouping for fair scheduling: RequestMetadata.tool_invocation_id
//    ("reapi" without one). Priority: ExecutionPolicy.priority, lower first.
//    Platform properties: "cpu"/"cores" and "memory" are resources,
//    "OSFamily" is the executor label "os" (lower case), any other property
//    must match an executor label of the same name.

#include <memory>
#include <string>

#include "exec/reapi/cas_service.h"

namespace mergeyard::exec::reapi {

// How an executor tells the server that inputs vanished: ActionResult.error
// is this prefix and the missing digests as "hash/size", space-separated.
inline constexpr char kMissingInputs[] = "missing from the CAS: ";

struct ExecutionOptions {
  Duration default_timeout = 30 * kMinute;  // an Action without a timeout
  Duration max_timeout = 24 * 60 * kMinute;
  Duration keepalive = 30 * kSecond;        // an unchanged Operation is re-sent this often
};

std::unique_ptr<rex::Execution::Service> NewExecutionService(ServiceContext ctx, ExecutionOptions options);

// The backend action for a REAPI action. kInvalid for a Command the
// executors cannot run (no arguments, absolute or escaping output paths).
Result<core::Action> CoreAction(const std::string& instance, const rex::Digest& action_digest,
                                const rex::Action& action, const rex::Command& command,
                                const rex::RequestMetadata& metadata, int policy_priority,
                                const ExecutionOptions& options);

}  // namespace mergeyard::exec::reapi
