#pragma once
// GitHub webhook bodies (X-GitHub-Event) -> forge-neutral events.
// CI: `status`, `check_run`, `workflow_run` and `workflow_job` become
// CiReported with one check (pending until completed); `check_suite`
// `completed` carries its head SHA in poll_shas only. A CI event without a
// commit SHA is Ignored.

#include <nlohmann/json.hpp>

#include <string>

#include "base/result.h"
#include "forge/event.h"

namespace mergeyard::forge::github {

// See forge/payload.h for the error contract.
Result<Event> ParsePayload(const std::string& event, const nlohmann::json& body);

}  // namespace mergeyard::forge::github
