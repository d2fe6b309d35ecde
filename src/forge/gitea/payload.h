#pragma once
// Gitea and Forgejo webhook bodies (X-Gitea-Event-Type) -> forge-neutral events.
// CI: `status` becomes CiReported with one check named after its context.

#include <nlohmann/json.hpp>

#include <string>

#include "base/result.h"
#include "forge/event.h"

namespace mergeyard::forge::gitea {

// See forge/payload.h for the error contract.
Result<Event> ParsePayload(const std::string& event, const nlohmann::json& body);

}  // namespace mergeyard::forge::gitea
