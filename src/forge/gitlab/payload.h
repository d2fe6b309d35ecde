#pragma once
// GitLab webhook bodies (X-Gitlab-Event) -> forge-neutral events.
// CI: `Pipeline Hook` becomes CiReported with the pipeline (named "pipeline")
// and each of its builds; `Job Hook` (older GitLab: `Build Hook`) with its
// one job. Events are told apart by the header, like every other GitLab event.

#include <nlohmann/json.hpp>

#include <string>

#include "base/result.h"
#include "forge/event.h"

namespace mergeyard::forge::gitlab {

// See forge/payload.h for the error contract.
Result<Event> ParsePayload(const std::string& event, const nlohmann::json& body);

}  // namespace mergeyard::forge::gitlab
