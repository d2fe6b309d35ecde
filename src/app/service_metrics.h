#pragma once
// The text of GET /metrics for the service (Prometheus exposition format).

#include <string>

#include "engine/engine.h"
#include "exec/exec_service.h"

namespace mergeyard::app {

// `exec` may be null.
std::string RenderServiceMetrics(const engine::Engine& engine, exec::ExecService* exec);

}  // namespace mergeyard::app
