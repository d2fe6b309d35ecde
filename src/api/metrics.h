#pragma once
// What `GET /metrics` serves: queue series derived from the engine's
// transitions (QueueMetrics, counted as they happen), plus gauges read at
// scrape time from the engine's snapshots and the execution backend
// (RenderMetrics), plus everything else in the registry (webhook deliveries,
// forge API calls...). Prometheus text format 0.0.4.
//
// Wiring (app):
//   api::QueueMetrics queue_metrics(clock);           // into metrics::Default()
//   engine.SetObserver(queue_metrics.Observer());     // before Recover()
//   ... GET /metrics:
//   res.set_content(api::RenderMetrics(engine, exec_service_or_null, metrics::Default(), clock,
//                                      reapi_counters_or_null),
//                   api::kMetricsContentType);
//
// Series from QueueMetrics, each labelled {repo, branch}:
//   mergeyard_entries_enqueued_total
//   mergeyard_entries_merged_total
//   mergeyard_entries_kicked_total{reason}       conflict, test_failure, retries_exhausted, other
//   mergeyard_entries_cancelled_total{trigger}   cancel, head_changed, replaced, deferred
//   mergeyard_entries_returned_total             back to waiting (rebuilds, conflicts ahead...)
//   mergeyard_time_to_merge_seconds              histogram: enqueued -> landed
//   mergeyard_queue_wait_seconds                 histogram: enqueued -> first test started
//   mergeyard_batches_built_total{kind}          BuildBatch issued (kind: main, bisect)
//   mergeyard_build_failures_total{kind}
//   mergeyard_batch_size{kind}                   histogram: entries in each batch run
//   mergeyard_runs_started_total{kind}
//   mergeyard_run_results_total{kind,result}     result: pass, fail
//   mergeyard_run_duration_seconds{kind}         histogram
//   mergeyard_runs_cancelled_total
//   mergeyard_batches_finished_total{kind,result}  pass, fail, cancelled
//   mergeyard_batch_rebuilds_total{cause}        main batches taken apart to be rebuilt:
//                                                target_moved, batch_failed, entry_removed,
//                                                build_failed, other
//   mergeyard_landings_total{kind,result}        landed, rejected
//   mergeyard_bisections_started_total
//   mergeyard_bisection_depth                    histogram: deepest level a finished
//                                                bisection reached (halves = 1)
//   mergeyard_bisection_live_depth               gauge: deepest live bisection node
//
// Series added at scrape time by RenderMetrics:
//   mergeyard_transitions_total
//   mergeyard_queue_depth{repo,branch}                 live entries
//   mergeyard_queue_entries{repo,branch,status}        waiting, batched, bisecting
//   mergeyard_queue_oldest_wait_seconds{repo,branch}   age of the oldest waiting entry (0: none)
//   mergeyard_queue_oldest_entry_age_seconds{repo,branch}  age of the oldest live entry
//   mergeyard_queue_batches{repo,branch,kind,state}    live batches (state: queued,
//                                                      waiting_base, building, testing, ...)
//   mergeyard_queue_paused{repo,branch}                1 when batch formation is paused
//   with an ExecService:
//   mergeyard_exec_submissions_total, mergeyard_exec_cache_hits_total,
//   mergeyard_exec_merged_total, mergeyard_exec_queued_total, mergeyard_exec_started_total,
//   mergeyard_exec_hedges_total, mergeyard_exec_completed_total,
//   mergeyard_exec_cancelled_total, mergeyard_exec_lease_expiries_total,
//   mergeyard_exec_dropped_stale_total, and gauges mergeyard_exec_queue_length,
//   mergeyard_exec_running, mergeyard_exec_live_actions, mergeyard_exec_groups
//   (pipeline steps and REAPI executions alike);
//   and its content store (step logs and REAPI blobs): gauges mergeyard_cas_stored_bytes,
//   mergeyard_cas_stored_blobs, mergeyard_cas_limit_bytes (0: no limit), counters
//   mergeyard_cas_evicted_blobs_total, mergeyard_cas_evicted_bytes_total,
//   mergeyard_cas_written_bytes_total, mergeyard_cas_read_bytes_total.
//   with REAPI counters (exec/reapi/counters.h), all counters:
//   mergeyard_reapi_executes_total, mergeyard_reapi_cache_hits_total,
//   mergeyard_reapi_merged_total, mergeyard_reapi_executed_total, mergeyard_reapi_hedged_total,
//   mergeyard_reapi_missing_inputs_total, mergeyard_reapi_cancelled_total,
//   mergeyard_reapi_action_cache_hits_total, mergeyard_reapi_action_cache_misses_total,
//   mergeyard_reapi_action_cache_updates_total, mergeyard_reapi_unauthenticated_total.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "engine/engine.h"

namespace mergeyard::exec { class ExecService; }
namespace mergeyard::exec::reapi { struct Counters; }

namespace mergeyard::api {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Derives the queue series from transitions. Thread-safe; cheap enough for
// the engine thread (it runs under the engine's state lock): it keeps a
// small summary of each queue's previous state to tell what a transition
// changed. After a restart the first transitions may miss a time-to-merge or
// a bisection depth (the summary starts empty); counts stay right.
class QueueMetrics {
 public:
  explicit QueueMetrics(const Clock& clock, metrics::Registry& registry = metrics::Default());
  ~QueueMetrics();
  QueueMetrics(const QueueMetrics&) = delete;
  QueueMetrics& operator=(const QueueMetrics&) = delete;

  // Matches engine::TransitionObserver.
  void Observe(const engine::QueueKey& key, const queue::Event& event, const queue::State& after,
               const std::vector<queue::Effect>& effects);

  // An observer that calls Observe; `this` must outlive the engine's use of it.
  engine::TransitionObserver Observer();

 private:
  struct BatchMemo {
    queue::BatchKind kind = queue::BatchKind::kMain;
    queue::BatchState state = queue::BatchState::kQueued;
    size_t size = 0;
    Time started_at = 0;
    int depth = 0;              // bisection level: main 0, halves 1...
    queue::BatchId root = 0;    // the failed main batch a bisection node descends from
  };
  struct EntryMemo {
    std::int64_t seq = 0;
    Time enqueued_at = 0;
    int retries_used = 0;
    bool tested = false;        // a run holding it has started
    bool pending_cancel = false;
  };
  struct Series;  // the children of one queue, looked up once
  struct QueueMemo {
    std::map<queue::BatchId, BatchMemo> batches;  // the live batches before this transition
    std::map<queue::PrNumber, EntryMemo> entries;
    std::map<queue::BatchId, BatchMemo> ended;    // ended batches of live bisections
    std::map<queue::BatchId, int> max_depth;      // live bisection root -> deepest level
    bool seen = false;                            // a transition of this queue was observed
    Series* series = nullptr;
  };

  Series& SeriesFor(const engine::QueueKey& key);

  const Clock& clock_;
  metrics::Registry& registry_;
  std::mutex mu_;
  std::map<engine::QueueKey, QueueMemo> queues_;
  std::map<engine::QueueKey, std::unique_ptr<Series>> series_;
};

// The whole exposition: scrape-time gauges of every queue in `engine` (and
// of `exec_service` and `reapi`, which may be null: their series are left
// out), then every series of `registry` (which must not hold families with
// the scrape-time names above).
std::string RenderMetrics(const engine::Engine& engine, exec::ExecService* exec_service,
                          const metrics::Registry& registry, const Clock& clock,
                          const exec::reapi::Counters* reapi = nullptr);

}  // namespace mergeyard::api
