#pragma once
// The JSON the admin API and the dashboard show for the execution backend.
//
// ExecutionJson: exec::ViewToJson's shape (GET /api/v1/executions/{id}) plus
//   "log_url" (public_url + "/api/v1/executions/{id}/log").
// ExecutorJson: {"id","capacity": resources,"used": resources,"running": N,
//   "executions": [ids],"labels": {...},"warm_repos": [...],"last_seen_ms"},
//   resources = {"cpu","memory_bytes","<custom>": N...}.
// CountersJson: the backend's counters since start: {"submitted","cache_hits",
//   "merged","queued","started","hedges","completed","cancelled",
//   "lease_expired","dropped_stale","queue_length","running","live_entries","groups"}.

#include <string>

#include <nlohmann/json.hpp>

#include "exec/core/backend.h"

namespace mergeyard::api {

nlohmann::json ExecutionJson(const exec::core::ExecutionView& view, const std::string& public_url);
nlohmann::json ExecutorJson(const exec::core::ExecutorView& view);
nlohmann::json CountersJson(const exec::core::Backend::Stats& stats);

}  // namespace mergeyard::api
