#pragma once
// JSON shapes of the execution API (DESIGN.md section 5): actions as
// submitted, results, execution views, and the executor protocol's
// assignments. Decoding reports bad input as kInvalid with a message naming
// the field; it never throws.

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "exec/core/backend.h"

namespace mergeyard::exec {

// {"command": [...], "env": {...}, "platform": {...}, "timeout_s": N,
//  "input": {"repo","commit","paths"}, "resources": {"cpu","memory","<custom>"},
//  "group": "...", "priority": N, "name": "...", "network": bool,
//  "cache_failures": bool}. input.tree is left empty (resolved by the caller).
Result<core::Action> ActionFromJson(const nlohmann::json& j);
nlohmann::json ActionToJson(const core::Action& a);

// "4GiB", "512MiB", "2G", "1000" (bytes) -> bytes.
Result<std::int64_t> ParseMemory(const nlohmann::json& v);

nlohmann::json ResourcesToJson(const core::Resources& r);
nlohmann::json ResultToJson(const core::ActionResult& r);
core::ActionResult ResultFromJson(const nlohmann::json& j);

// GET /api/v1/executions/{id}; log_url is added by the caller.
nlohmann::json ViewToJson(const core::ExecutionView& v);

nlohmann::json AssignmentToJson(const core::Assignment& a);
Result<core::Assignment> AssignmentFromJson(const nlohmann::json& j);

}  // namespace mergeyard::exec
