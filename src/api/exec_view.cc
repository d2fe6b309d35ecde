#include "api/exec_view.h"

#include "exec/action_json.h"

namespace mergeyard::api {

using nlohmann::json;

const char* ExecutionKind(const exec::core::ExecutionView& v) {
  return v.digest.starts_with("reapi:") ? "reapi" : "step";
}

json ExecutionJson(const exec::core::ExecutionView& v, const std::string& public_url) {
  json j = exec::ViewToJson(v);
  j["kind"] = ExecutionKind(v);
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

json ContentStoreJson(const exec::ContentStore::Stats& s) {
  return {{"bytes", s.bytes},
          {"blobs", s.blobs},
          {"max_bytes", s.max_bytes},
          {"evicted_blobs", s.evicted_blobs},
          {"evicted_bytes", s.evicted_bytes},
          {"bytes_written", s.bytes_written},
          {"bytes_read", s.bytes_read}};
}

json ReapiCountersJson(const exec::reapi::Counters& c) {
  return {{"executes", c.executes.load()},
          {"cache_hits", c.cache_hits.load()},
          {"merged", c.merged.load()},
          {"executed", c.executed.load()},
          {"hedged", c.hedged.load()},
          {"missing_inputs", c.missing_inputs.load()},
          {"cancelled", c.cancelled.load()},
          {"ac_hits", c.ac_hits.load()},
          {"ac_misses", c.ac_misses.load()},
          {"ac_updates", c.ac_updates.load()},
          {"unauthenticated", c.unauthenticated.load()}};
}

}  // namespace mergeyard::api
