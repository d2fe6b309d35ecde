#pragma once
// The JSON the admin API and the dashboard show for queues. Pure functions of
// a queue::State snapshot and the store's history rows. Times are
// milliseconds since the Unix epoch (the service clock); 0 means "not yet".
//
// QueueSummaryJson (GET /api/v1/queues, one element of "queues"):
//   {"repo","branch","paused","tip","landing": batch id or 0,
//    "counts": {"entries","waiting","in_batch","bisecting","batches","main",
//               "testing","building","passed","failed","bisect_nodes"}}
// QueueDetailJson (GET /api/v1/repos/{owner}/{repo}/queue, one element of "queues"):
//   the summary, plus
//   "config":  the queue's parameters (DESIGN.md section 2),
//   "entries": [{"pr","head_sha","priority","status": waiting|batched|bisecting,
//                "position": 1-based waiting position or null,"enqueued_at",
//                "batch": id or null,"retries_used",
//                "kept_apart_from": queued PRs it is never batched with}]
//              waiting first, in queue order,
//   "batches": [{"id","kind": main|bisect,"prs","state","base_sha","commit","parent",
//                "bisect_root","bisect_parent","failed_step","log_url","created_at",
//                "started_at","finished_at","main_position": 1-based or null,
//                "holds": every PR in the tested tree (speculative stacking)}]
//              main batches in main order, then bisection nodes by id,
//   "main":    [batch ids, head (next to land) first],
//   "bisections": [{"root","active","tree": node}], node =
//                {"id","prs","kind","state": live state or "done","result":
//                 null | "pass" | "fail" | "cancelled","failed_step","log_url",
//                 "started_at","finished_at","culprit": bool,"children":[node...]}
//              active trees first, then the most recent finished ones,
//   "history": [HistoryRowJson...] newest first.

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/ports.h"
#include "queue/types.h"
#include "store/sqlite_state_store.h"

namespace mergeyard::api {

nlohmann::json QueueSummaryJson(const engine::QueueKey& key, const queue::State& state);

// `history` newest first (as SqliteStateStore::History answers); bisection
// trees are rebuilt from the live nodes and the finished ones in `history`;
// at most `history_limit` rows are listed under "history".
nlohmann::json QueueDetailJson(const engine::QueueKey& key, const queue::State& state,
                               const std::vector<store::HistoryRow>& history,
                               std::size_t history_limit);

// {"id","at","kind": batch|merged|kicked|cancelled,"pr","batch"} plus, for a
// batch: "result","batch_kind","prs","base_sha","commit","failed_step",
// "log_url","bisect_root","bisect_parent","started_at","finished_at"; for an
// entry: "reason" (queue::ReportReasonName), "message" (forge::ReportMessage),
// "commit", "failure" (step|check|check_timeout, kicks for failure only),
// "failed_step", "log_url", "paths", "fails_with", "actor".
nlohmann::json HistoryRowJson(const store::HistoryRow& row, const std::string& branch);

// The bisection trees alone (see QueueDetailJson); at most `finished_limit`
// finished ones.
nlohmann::json BisectionTreesJson(const queue::State& state,
                                  const std::vector<store::HistoryRow>& history,
                                  std::size_t finished_limit = 5);

}  // namespace mergeyard::api
