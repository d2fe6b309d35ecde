#include "app/service_metrics.h"

#include "base/log.h"

namespace mergeyard::app {

std::string RenderServiceMetrics(const engine::Engine& engine, exec::ExecService*) {
  std::string out;
  out += "# HELP mergeyard_transitions_total Queue transitions committed since start.\n";
  out += "# TYPE mergeyard_transitions_total counter\n";
  out += "mergeyard_transitions_total " + std::to_string(engine.transitions()) + "\n";
  out += "# HELP mergeyard_queue_entries Live entries per queue and status.\n";
  out += "# TYPE mergeyard_queue_entries gauge\n";
  for (const auto& key : engine.Queues()) {
    auto state = engine.Snapshot(key);
    if (!state) continue;
    int waiting = 0, testing = 0;
    for (const auto& [pr, e] : state->entries) (e.status == queue::EntryStatus::kWaiting ? waiting : testing)++;
    std::string labels = "repo=\"" + JsonEscape(key.repo) + "\",branch=\"" + JsonEscape(key.branch) + "\"";
    out += "mergeyard_queue_entries{" + labels + ",status=\"waiting\"} " + std::to_string(waiting) + "\n";
    out += "mergeyard_queue_entries{" + labels + ",status=\"in_batch\"} " + std::to_string(testing) + "\n";
  }
  return out;
}

}  // namespace mergeyard::app
