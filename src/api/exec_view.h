#pragma once
// The JSON the admin API and the dashboard show for the execution backend.
//
// ExecutionJson: exec::ViewToJson's shape (GET /api/v1/executions/{id}) plus
//   "log_url" (public_url + "/api/v1/executions/{id}/log") and "kind"
//   (ExecutionKind: "reapi" for a Remote Execution API action, "step" for a
//   pipeline step). A REAPI execution's "name" is the client's action mnemonic
//   (or "reapi") and its "group" the client's invocation id.
// ExecutorJson: {"id","capacity": resources,"used": resources,"running": N,
//   "executions": [ids],"labels": {...},"warm_repos": [...],"last_seen_ms"},
//   resources = {"cpu","memory_bytes","<custom>": N...}.
// CountersJson: the backend's counters since start: {"submitted","cache_hits",
//   "merged","queued","started","hedges","completed","cancelled",
//   "lease_expired","dropped_stale","queue_length","running","live_entries","groups"}.
//   They count pipeline steps and REAPI executions alike.
// ContentStoreJson: the content store (step logs and REAPI blobs):
//   {"bytes","blobs","max_bytes" (0: no limit),"evicted_blobs","evicted_bytes",
//   "bytes_written","bytes_read"} — the last two are the CAS bytes in and out.
// ReapiCountersJson: the REAPI server's counters (exec/reapi/counters.h):
//   {"executes","cache_hits","merged","executed","hedged","missing_inputs",
//   "cancelled","ac_hits","ac_misses","ac_updates","unauthenticated"}.

#include <string>

#include <nlohmann/json.hpp>

#include "exec/content_store.h"
#include "exec/core/backend.h"
#include "exec/reapi/counters.h"

namespace mergeyard::api {

// "reapi" when the execution's digest is a REAPI action's (core::ActionDigest:
// "reapi:..."), else "step".
const char* ExecutionKind(const exec::core::ExecutionView& view);

nlohmann::json ExecutionJson(const exec::core::ExecutionView& view, const std::string& public_url);
nlohmann::json ExecutorJson(const exec::core::ExecutorView& view);
nlohmann::json CountersJson(const exec::core::Backend::Stats& stats);
nlohmann::json ContentStoreJson(const exec::ContentStore::Stats& stats);
nlohmann::json ReapiCountersJson(const exec::reapi::Counters& counters);

}  // namespace mergeyard::api
