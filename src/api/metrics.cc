#include "api/metrics.h"

#include <algorithm>
#include <set>

#include "exec/exec_service.h"
#include "exec/reapi/counters.h"

namespace mergeyard::api {

namespace {

using queue::BatchKind;
using queue::BatchState;
using queue::ReportKind;

double Seconds(Duration d) { return static_cast<double>(std::max<Duration>(d, 0)) / kSecond; }

// Durations of queue life: a minute to two days.
const std::vector<double> kQueueTimeBuckets = {30,   60,    120,   300,   600,   900,   1800,
                                               3600, 7200,  14400, 28800, 86400, 172800};
const std::vector<double> kRunTimeBuckets = {10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400};
const std::vector<double> kBatchSizeBuckets = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64};
const std::vector<double> kDepthBuckets = {1, 2, 3, 4, 5, 6, 8, 10};

// What set off a transition, for the rebuild and cancellation causes.
const char* RebuildCause(const queue::Event& e) {
  if (std::holds_alternative<queue::TargetMoved>(e) || std::holds_alternative<queue::LandResult>(e))
    return "target_moved";
  if (std::holds_alternative<queue::Cancel>(e) || std::holds_alternative<queue::HeadChanged>(e) ||
      std::holds_alternative<queue::Enqueue>(e))
    return "entry_removed";
  if (std::holds_alternative<queue::BuildFailed>(e)) return "build_failed";
  if (std::holds_alternative<queue::RunFinished>(e) || std::holds_alternative<queue::TimerFired>(e) ||
      std::holds_alternative<queue::BatchBuilt>(e))
    return "batch_failed";
  return "other";
}

// The kick's reason label, from the report's facts: conflict, interaction
// (it fails only with a change that landed), check_timeout, retries_exhausted
// (a flaky-looking failure retried alone), test_failure (a step or a check).
const char* KickReason(const queue::Report& r, bool retried) {
  if (r.reason == queue::ReportReason::kConflict) return "conflict";
  if (r.reason != queue::ReportReason::kFailed) return "other";
  if (!r.fails_with.empty()) return "interaction";
  if (r.failure == queue::FailureKind::kCheckTimeout) return "check_timeout";
  if (retried) return "retries_exhausted";
  return "test_failure";
}

const char* CancelTrigger(const queue::Event& e, bool pending_cancel) {
  if (pending_cancel && !std::holds_alternative<queue::Cancel>(e) &&
      !std::holds_alternative<queue::HeadChanged>(e) && !std::holds_alternative<queue::Enqueue>(e))
    return "deferred";  // asked while its batch was landing, carried out now
  if (std::holds_alternative<queue::Cancel>(e)) return "cancel";
  if (std::holds_alternative<queue::HeadChanged>(e)) return "head_changed";
  if (std::holds_alternative<queue::Enqueue>(e)) return "replaced";
  return "deferred";
}

}  // namespace

struct QueueMetrics::Series {
  std::string repo, branch;
  metrics::Counter* enqueued;
  metrics::Counter* merged;
  metrics::Counter* returned;
  metrics::Counter* runs_cancelled;
  metrics::Counter* bisections_started;
  metrics::Histogram* time_to_merge;
  metrics::Histogram* wait;
  metrics::Histogram* bisection_depth;
  metrics::Gauge* live_depth;
  metrics::CounterFamily* kicked;
  metrics::CounterFamily* cancelled;
  metrics::CounterFamily* built;
  metrics::CounterFamily* build_failures;
  metrics::HistogramFamily* batch_size;
  metrics::CounterFamily* runs_started;
  metrics::CounterFamily* run_results;
  metrics::HistogramFamily* run_duration;
  metrics::CounterFamily* batches_finished;
  metrics::CounterFamily* rebuilds;
  metrics::CounterFamily* landings;

  metrics::Counter& Count(metrics::CounterFamily* f, std::initializer_list<std::string> extra) {
    std::vector<std::string> labels = {repo, branch};
    labels.insert(labels.end(), extra);
    return f->With(labels);
  }
  metrics::Histogram& Observe(metrics::HistogramFamily* f, const std::string& kind) {
    return f->With({repo, branch, kind});
  }
};

QueueMetrics::QueueMetrics(const Clock& clock, metrics::Registry& registry)
    : clock_(clock), registry_(registry) {}

QueueMetrics::~QueueMetrics() = default;

engine::TransitionObserver QueueMetrics::Observer() {
  return [this](const engine::QueueKey& key, const queue::Event& event, const queue::State& after,
                const std::vector<queue::Effect>& effects) { Observe(key, event, after, effects); };
}

QueueMetrics::Series& QueueMetrics::SeriesFor(const engine::QueueKey& key) {
  auto it = series_.find(key);
  if (it != series_.end()) return *it->second;
  metrics::Registry& r = registry_;
  auto s = std::make_unique<Series>();
  s->repo = key.repo;
  s->branch = key.branch;
  const std::vector<std::string> q = {"repo", "branch"};
  auto with = [&](std::initializer_list<std::string> extra) {
    std::vector<std::string> l = q;
    l.insert(l.end(), extra);
    return l;
  };
  const std::vector<std::string> me = {key.repo, key.branch};
  s->enqueued = &r.Counters("mergeyard_entries_enqueued_total", "Pull requests that entered the queue.", q).With(me);
  s->merged = &r.Counters("mergeyard_entries_merged_total", "Pull requests that landed.", q).With(me);
  s->returned = &r.Counters("mergeyard_entries_returned_total",
                            "Times an entry went back to waiting (rebuilds, conflicts with a batch ahead, "
                            "bisection passes retested).", q)
                    .With(me);
  s->runs_cancelled = &r.Counters("mergeyard_runs_cancelled_total", "Runs no longer wanted and cancelled.", q)
                           .With(me);
  s->bisections_started = &r.Counters("mergeyard_bisections_started_total",
                                      "Failed batches sent to bisection.", q)
                               .With(me);
  s->time_to_merge = &r.Histograms("mergeyard_time_to_merge_seconds",
                                   "Time from enqueue to landing of each merged pull request.", q,
                                   kQueueTimeBuckets)
                          .With(me);
  s->wait = &r.Histograms("mergeyard_queue_wait_seconds",
                          "Time from enqueue until a run holding the entry first started.", q,
                          kQueueTimeBuckets)
                 .With(me);
  s->bisection_depth = &r.Histograms("mergeyard_bisection_depth",
                                     "Deepest level each finished bisection reached (its halves are level 1).",
                                     q, kDepthBuckets)
                            .With(me);
  s->live_depth = &r.Gauges("mergeyard_bisection_live_depth",
                            "Level of the deepest live bisection node, 0 when none.", q)
                       .With(me);
  s->kicked = &r.Counters("mergeyard_entries_kicked_total",
                          "Pull requests kicked out of the queue, by reason.", with({"reason"}));
  s->cancelled = &r.Counters("mergeyard_entries_cancelled_total",
                             "Entries cancelled, by what triggered it.", with({"trigger"}));
  s->built = &r.Counters("mergeyard_batches_built_total", "Batch builds issued.", with({"kind"}));
  s->build_failures = &r.Counters("mergeyard_build_failures_total",
                                  "Batch builds that could not be carried out.", with({"kind"}));
  s->batch_size = &r.Histograms("mergeyard_batch_size", "Entries in each batch whose run started.",
                                with({"kind"}), kBatchSizeBuckets);
  s->runs_started = &r.Counters("mergeyard_runs_started_total", "Pipeline runs started on batches.",
                                with({"kind"}));
  s->run_results = &r.Counters("mergeyard_run_results_total", "Pipeline runs finished, by result.",
                               with({"kind", "result"}));
  s->run_duration = &r.Histograms("mergeyard_run_duration_seconds", "Duration of finished pipeline runs.",
                                  with({"kind"}), kRunTimeBuckets);
  s->batches_finished = &r.Counters("mergeyard_batches_finished_total",
                                    "Batches that ended, by result (pass, fail, cancelled).",
                                    with({"kind", "result"}));
  s->rebuilds = &r.Counters("mergeyard_batch_rebuilds_total",
                            "Main batches taken apart so their entries are rebuilt, by cause.",
                            with({"cause"}));
  s->landings = &r.Counters("mergeyard_landings_total", "Landing attempts answered, by result.",
                            with({"kind", "result"}));
  Series& out = *s;
  series_.emplace(key, std::move(s));
  return out;
}

void QueueMetrics::Observe(const engine::QueueKey& key, const queue::Event& event,
                           const queue::State& after, const std::vector<queue::Effect>& effects) {
  const Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  QueueMemo& memo = queues_[key];
  if (!memo.series) memo.series = &SeriesFor(key);
  // The first transition seen after a restart finds entries and bisections
  // that began before it: they are not counted as new.
  const bool first = !memo.seen;
  memo.seen = true;
  Series& s = *memo.series;
  auto kind_of = [](BatchKind k) { return std::string(queue::BatchKindName(k)); };
  auto batch_before = [&](queue::BatchId id) -> const BatchMemo* {
    auto it = memo.batches.find(id);
    return it == memo.batches.end() ? nullptr : &it->second;
  };
  auto entry_before = [&](queue::PrNumber pr) -> const EntryMemo* {
    auto it = memo.entries.find(pr);
    return it == memo.entries.end() ? nullptr : &it->second;
  };

  // ---- what the event answered ----
  if (const auto* run = std::get_if<queue::RunFinished>(&event)) {
    const BatchMemo* b = batch_before(run->batch);
    if (b && b->state == BatchState::kTesting) {
      s.Count(s.run_results, {kind_of(b->kind), run->passed ? "pass" : "fail"}).Inc();
      s.Observe(s.run_duration, kind_of(b->kind)).Observe(Seconds(now - b->started_at));
    }
  } else if (const auto* failed = std::get_if<queue::BuildFailed>(&event)) {
    const BatchMemo* b = batch_before(failed->batch);
    if (b && b->state == BatchState::kBuilding) s.Count(s.build_failures, {kind_of(b->kind)}).Inc();
  }

  // ---- landings: the batch that was landing either landed (merged reports) or was rejected ----
  const BatchMemo* landing = nullptr;
  queue::BatchId landing_id = 0;
  for (const auto& [id, b] : memo.batches) {
    if (b.state == BatchState::kLanding) {
      landing = &b;
      landing_id = id;
    }
  }
  bool merged_any = false;
  for (const queue::Effect& e : effects) {
    if (const auto* r = std::get_if<queue::Report>(&e); r && r->kind == ReportKind::kMerged) merged_any = true;
  }
  if (landing && merged_any) {
    s.Count(s.landings, {kind_of(landing->kind), "landed"}).Inc();
  } else if (const auto* lr = std::get_if<queue::LandResult>(&event);
             landing && lr && lr->batch == landing_id && !lr->landed) {
    s.Count(s.landings, {kind_of(landing->kind), "rejected"}).Inc();
  }

  // ---- effects ----
  for (const queue::Effect& effect : effects) {
    if (const auto* build = std::get_if<queue::BuildBatch>(&effect)) {
      auto it = after.batches.find(build->batch);
      if (it != after.batches.end()) s.Count(s.built, {kind_of(it->second.kind)}).Inc();
    } else if (const auto* start = std::get_if<queue::StartRun>(&effect)) {
      auto it = after.batches.find(start->batch);
      if (it != after.batches.end()) {
        const std::string kind = kind_of(it->second.kind);
        s.Count(s.runs_started, {kind}).Inc();
        s.Observe(s.batch_size, kind).Observe(static_cast<double>(it->second.prs.size()));
      }
    } else if (std::holds_alternative<queue::CancelRun>(effect)) {
      s.runs_cancelled->Inc();
    } else if (const auto* done = std::get_if<queue::BatchDone>(&effect)) {
      s.Count(s.batches_finished, {kind_of(done->batch.kind), done->result}).Inc();
      if (done->batch.kind == BatchKind::kMain && done->result == "cancelled" && !done->batch.prs.empty())
        s.Count(s.rebuilds, {RebuildCause(event)}).Inc();
    } else if (const auto* r = std::get_if<queue::Report>(&effect)) {
      const EntryMemo* before = entry_before(r->pr);
      switch (r->kind) {
        case ReportKind::kQueued: {
          auto it = after.entries.find(r->pr);
          if (it == after.entries.end()) break;
          const bool fresh = before ? before->seq != it->second.seq
                                    : !first || now - it->second.enqueued_at < kSecond;
          if (fresh) s.enqueued->Inc();
          break;
        }
        case ReportKind::kTesting: {
          auto it = after.entries.find(r->pr);
          if (it == after.entries.end() || (before && before->tested && before->seq == it->second.seq))
            break;
          s.wait->Observe(Seconds(now - it->second.enqueued_at));
          EntryMemo& m = memo.entries[r->pr];
          m.seq = it->second.seq;  // the summary below keeps `tested` for this seq
          m.tested = true;
          break;
        }
        case ReportKind::kReturned:
          s.returned->Inc();
          break;
        case ReportKind::kMerged:
          s.merged->Inc();
          if (before) s.time_to_merge->Observe(Seconds(now - before->enqueued_at));
          break;
        case ReportKind::kKicked: {
          s.Count(s.kicked, {KickReason(*r, before && before->retries_used > 0)}).Inc();
          break;
        }
        case ReportKind::kCancelled:
          s.Count(s.cancelled, {CancelTrigger(event, before && before->pending_cancel)}).Inc();
          break;
      }
    }
  }

  // ---- the summary for the next transition, and bisection depth ----
  std::map<queue::PrNumber, EntryMemo> entries;
  for (const auto& [pr, e] : after.entries) {
    EntryMemo m{e.seq, e.enqueued_at, e.retries_used, false, e.pending_cancel.reason != queue::ReportReason::kNone};
    if (auto it = memo.entries.find(pr); it != memo.entries.end() && it->second.seq == e.seq)
      m.tested = it->second.tested;
    entries.emplace(pr, m);
  }
  memo.entries = std::move(entries);

  auto parent_memo = [&](queue::BatchId id) -> const BatchMemo* {
    if (auto it = memo.batches.find(id); it != memo.batches.end()) return &it->second;
    if (auto it = memo.ended.find(id); it != memo.ended.end()) return &it->second;
    return nullptr;
  };
  std::map<queue::BatchId, BatchMemo> batches;
  std::set<queue::BatchId> live_roots;
  int live_depth = 0;
  for (const auto& [id, b] : after.batches) {
    BatchMemo m;
    m.kind = b.kind;
    m.state = b.state;
    m.size = b.prs.size();
    m.started_at = b.started_at;
    m.root = b.kind == BatchKind::kBisect ? b.bisect_root : id;
    if (auto it = memo.batches.find(id); it != memo.batches.end()) {
      m.depth = it->second.depth;
    } else if (b.kind == BatchKind::kBisect) {
      // A half is one level below the node it split from; a retry of a
      // singleton, or a node restarted or rebuilt without an entry, stays on
      // the level of the node it replaces.
      const BatchMemo* parent = parent_memo(b.bisect_parent);
      m.depth = parent ? parent->depth + (parent->size > m.size ? 1 : 0) : 1;
    }
    if (b.kind == BatchKind::kBisect) {
      live_roots.insert(m.root);
      live_depth = std::max(live_depth, m.depth);
      if (!memo.max_depth.count(m.root)) {
        if (!first) s.bisections_started->Inc();
        memo.max_depth[m.root] = 0;
      }
      memo.max_depth[m.root] = std::max(memo.max_depth[m.root], m.depth);
    }
    batches.emplace(id, m);
  }
  for (auto& [id, m] : memo.batches) {
    if (!after.batches.count(id)) memo.ended[id] = m;
  }
  std::erase_if(memo.ended, [&](const auto& kv) { return !live_roots.count(kv.second.root); });
  for (auto it = memo.max_depth.begin(); it != memo.max_depth.end();) {
    if (live_roots.count(it->first)) {
      ++it;
      continue;
    }
    s.bisection_depth->Observe(it->second);
    it = memo.max_depth.erase(it);
  }
  memo.batches = std::move(batches);
  s.live_depth->Set(live_depth);
}

// ---- scrape time -----------------------------------------------------------------

namespace {

// A counter (or gauge) of `scrape` with no labels, set to `v`.
void Count(metrics::Registry& scrape, const char* name, const char* help, std::uint64_t v) {
  scrape.Counters(name, help).Get().Inc(static_cast<double>(v));
}
void Gauge(metrics::Registry& scrape, const char* name, const char* help, std::int64_t v) {
  scrape.Gauges(name, help).Get().Set(static_cast<double>(v));
}

// The execution backend's counters and gauges (steps and REAPI executions alike).
void AddExecSeries(metrics::Registry& scrape, const exec::core::Backend::Stats& st) {
  Count(scrape, "mergeyard_exec_submissions_total", "Actions submitted to the execution backend.", st.submitted);
  Count(scrape, "mergeyard_exec_cache_hits_total", "Submissions answered from the action cache.", st.cached);
  Count(scrape, "mergeyard_exec_merged_total",
        "Submissions merged into an identical execution already queued or running.", st.merged);
  Count(scrape, "mergeyard_exec_queued_total", "Submissions that queued a new execution.", st.queued);
  Count(scrape, "mergeyard_exec_started_total", "Executions started on an executor (retries and hedges included).",
        st.started);
  Count(scrape, "mergeyard_exec_hedges_total", "Hedge executions started to race a slow primary.", st.hedges);
  Count(scrape, "mergeyard_exec_completed_total", "Executions completed with a result.", st.completed);
  Count(scrape, "mergeyard_exec_cancelled_total", "Executions cancelled (no waiter left, or lost a race).",
        st.cancelled);
  Count(scrape, "mergeyard_exec_lease_expiries_total", "Executor leases that expired; the work was requeued.",
        st.lease_expired);
  Count(scrape, "mergeyard_exec_dropped_stale_total", "Queued executions dropped as stale before running.",
        st.dropped_stale);
  Gauge(scrape, "mergeyard_exec_queue_length", "Executions waiting for an executor.", st.queue_length);
  Gauge(scrape, "mergeyard_exec_running", "Executions running under a lease.", st.running);
  Gauge(scrape, "mergeyard_exec_live_actions", "Distinct actions queued or running.", st.live_entries);
  Gauge(scrape, "mergeyard_exec_groups", "Scheduling groups with queued executions.", st.groups);
}

// The content store: step logs and every REAPI CAS blob.
void AddContentStoreSeries(metrics::Registry& scrape, const exec::ContentStore::Stats& st) {
  Gauge(scrape, "mergeyard_cas_stored_bytes", "Bytes of blobs in the content store (step logs and REAPI blobs).",
        st.bytes);
  Gauge(scrape, "mergeyard_cas_stored_blobs", "Blobs in the content store.", st.blobs);
  Gauge(scrape, "mergeyard_cas_limit_bytes", "The content store's size limit, 0 when it has none.", st.max_bytes);
  Count(scrape, "mergeyard_cas_evicted_blobs_total", "Blobs evicted from the content store to stay under its limit.",
        st.evicted_blobs);
  Count(scrape, "mergeyard_cas_evicted_bytes_total", "Bytes evicted from the content store to stay under its limit.",
        st.evicted_bytes);
  Count(scrape, "mergeyard_cas_written_bytes_total",
        "Bytes written into the content store (uploads, outputs, logs).", st.bytes_written);
  Count(scrape, "mergeyard_cas_read_bytes_total", "Bytes read from the content store (downloads, inputs, logs).",
        st.bytes_read);
}

// The REAPI server's counters.
void AddReapiSeries(metrics::Registry& scrape, const exec::reapi::Counters& c) {
  Count(scrape, "mergeyard_reapi_executes_total", "REAPI Execute calls accepted (past authentication).",
        c.executes);
  Count(scrape, "mergeyard_reapi_cache_hits_total", "REAPI Execute calls answered from the action cache.",
        c.cache_hits);
  Count(scrape, "mergeyard_reapi_merged_total",
        "REAPI Execute calls that joined an identical execution already queued or running.", c.merged);
  Count(scrape, "mergeyard_reapi_executed_total", "REAPI Execute calls that started a new execution.",
        c.executed);
  Count(scrape, "mergeyard_reapi_hedged_total", "REAPI executions that were hedged (raced by a second copy).",
        c.hedged);
  Count(scrape, "mergeyard_reapi_missing_inputs_total",
        "REAPI Execute calls refused because inputs were missing from the CAS.", c.missing_inputs);
  Count(scrape, "mergeyard_reapi_cancelled_total", "REAPI Execute calls whose caller went away before the result.",
        c.cancelled);
  Count(scrape, "mergeyard_reapi_action_cache_hits_total", "REAPI GetActionResult calls answered with a result.",
        c.ac_hits);
  Count(scrape, "mergeyard_reapi_action_cache_misses_total", "REAPI GetActionResult calls answered not found.",
        c.ac_misses);
  Count(scrape, "mergeyard_reapi_action_cache_updates_total",
        "REAPI UpdateActionResult calls that stored a result.", c.ac_updates);
  Count(scrape, "mergeyard_reapi_unauthenticated_total", "REAPI calls refused for a missing or wrong token.",
        c.unauthenticated);
}

}  // namespace

std::string RenderMetrics(const engine::Engine& engine, exec::ExecService* exec_service,
                          const metrics::Registry& registry, const Clock& clock,
                          const exec::reapi::Counters* reapi) {
  const Time now = clock.Now();
  metrics::Registry scrape;
  scrape.Counters("mergeyard_transitions_total", "Queue transitions committed since start.")
      .Get()
      .Inc(static_cast<double>(engine.transitions()));
  const std::vector<std::string> q = {"repo", "branch"};
  auto& depth = scrape.Gauges("mergeyard_queue_depth", "Live entries (not yet merged, kicked or cancelled).", q);
  auto& entries = scrape.Gauges("mergeyard_queue_entries", "Live entries by status.",
                                {"repo", "branch", "status"});
  auto& oldest_wait = scrape.Gauges("mergeyard_queue_oldest_wait_seconds",
                                    "How long the oldest waiting entry has waited, 0 when none waits.", q);
  auto& oldest_entry = scrape.Gauges("mergeyard_queue_oldest_entry_age_seconds",
                                     "Age of the oldest live entry, 0 when the queue is empty.", q);
  auto& batches = scrape.Gauges("mergeyard_queue_batches", "Live batches by kind and state.",
                                {"repo", "branch", "kind", "state"});
  auto& paused = scrape.Gauges("mergeyard_queue_paused", "1 when batch formation is paused.", q);

  for (const engine::QueueKey& key : engine.Queues()) {
    const std::optional<queue::State> state = engine.Snapshot(key);
    if (!state) continue;
    const std::vector<std::string> me = {key.repo, key.branch};
    int waiting = 0, batched = 0, bisecting = 0;
    Time oldest_waiting = -1, oldest = -1;
    for (const auto& [pr, e] : state->entries) {
      switch (e.status) {
        case queue::EntryStatus::kWaiting:
          ++waiting;
          if (oldest_waiting < 0 || e.enqueued_at < oldest_waiting) oldest_waiting = e.enqueued_at;
          break;
        case queue::EntryStatus::kBatched: ++batched; break;
        case queue::EntryStatus::kBisecting: ++bisecting; break;
      }
      if (oldest < 0 || e.enqueued_at < oldest) oldest = e.enqueued_at;
    }
    depth.With(me).Set(static_cast<double>(state->entries.size()));
    entries.With({key.repo, key.branch, "waiting"}).Set(waiting);
    entries.With({key.repo, key.branch, "batched"}).Set(batched);
    entries.With({key.repo, key.branch, "bisecting"}).Set(bisecting);
    oldest_wait.With(me).Set(oldest_waiting < 0 ? 0 : Seconds(now - oldest_waiting));
    oldest_entry.With(me).Set(oldest < 0 ? 0 : Seconds(now - oldest));
    paused.With(me).Set(state->paused ? 1 : 0);
    // Every kind and state, so a series drops to 0 instead of vanishing.
    std::map<std::pair<BatchKind, BatchState>, int> counts;
    for (BatchKind k : {BatchKind::kMain, BatchKind::kBisect})
      for (BatchState st : {BatchState::kQueued, BatchState::kWaitingBase, BatchState::kBuilding,
                            BatchState::kTesting, BatchState::kPassed, BatchState::kFailed,
                            BatchState::kLanding})
        counts[{k, st}] = 0;
    for (const auto& [id, b] : state->batches) ++counts[{b.kind, b.state}];
    for (const auto& [ks, n] : counts) {
      // States a kind never takes: main batches are never queued for a slot;
      // bisection nodes wait for no base and end the moment they fail.
      if (ks.first == BatchKind::kMain && ks.second == BatchState::kQueued) continue;
      if (ks.first == BatchKind::kBisect &&
          (ks.second == BatchState::kWaitingBase || ks.second == BatchState::kFailed))
        continue;
      batches.With({key.repo, key.branch, queue::BatchKindName(ks.first), queue::BatchStateName(ks.second)})
          .Set(n);
    }
  }

  if (exec_service) {
    AddExecSeries(scrape, exec_service->Stats());
    AddContentStoreSeries(scrape, exec_service->content().stats());
  }
  if (reapi) AddReapiSeries(scrape, *reapi);

  std::string out = scrape.Render();
  registry.RenderTo(out);
  return out;
}

}  // namespace mergeyard::api
