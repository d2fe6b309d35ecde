#include "api/exec_view.h"

#include "exec/action_json.h"

namespace mergeyard::api {

using nlohmann::json;

json ExecutionJson(const exec::core::ExecutionView& v, const std::string& public_url) {
  json j = exec::ViewToJson(v);
  j["log_url"] = public_url + "/api/v1/executions/" + v.id + "/log";
  return j;
}

json ExecutorJson(const exec::core::ExecutorView& v) {
  return {{"id", v.info.id},
          {"capacity", exec::ResourcesToJson(v.info.capacity)},
          {"used", exec::ResourcesToJson(v.used)},
          {"running", v.running.size()},
          {"executions", v.running},
          {"labels", v.info.labels},
          {"warm_repos", v.info.warm_repos},
          {"last_seen_ms", v.last_seen}};
}

json CountersJson(const exec::core::Backend::Stats& s) {
  return {{"submitted", s.submitted},   {"cache_hits", s.cached},
          {"merged", s.merged},         {"queued", s.queued},
          {"started", s.started},       {"hedges", s.hedges},
          {"completed", s.completed},   {"cancelled", s.cancelled},
          {"lease_expired", s.lease_expired}, {"dropped_stale", s.dropped_stale},
          {"queue_length", s.queue_length},   {"running", s.running},
          {"live_entries", s.live_entries},   {"groups", s.groups}};
}

}  // namespace mergeyard::api
