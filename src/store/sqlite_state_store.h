#pragma once
// engine::StateStore on the SQLite database: the queues, outbox and history
// tables of migrations/0001_init.sql. Thread-safe: every call holds the
// Database's mutex, and each Commit is one SQLite transaction.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "engine/ports.h"
#include "store/database.h"

namespace mergeyard::store {

// One line of a queue's history: a finished batch (kind "batch") or an ended
// entry (kind "merged", "kicked" or "cancelled").
struct HistoryRow {
  std::int64_t id = 0;               // ascending in the order rows were written
  Time at = 0;                       // when the transition was committed
  std::string kind;
  std::optional<std::int64_t> pr;    // entries
  std::optional<std::int64_t> batch; // batches, and entries that ended in a batch
  nlohmann::json data;               // the effect, as engine::EffectToJson encodes it
};

class SqliteStateStore final : public engine::StateStore {
 public:
  // `db` and `clock` must outlive the store. The clock stamps updated_at,
  // created_at and history times.
  SqliteStateStore(Database& db, const Clock& clock);

  // engine::StateStore
  // One transaction: the queue row, one outbox row holding every effect (a
  // JSON array), and a history row for each BatchDone and each Report that
  // ends an entry. Returns the outbox row's transition id (ascending).
  // Errors: kTransient when the database stays busy, kInternal otherwise;
  // on error nothing was written.
  Result<std::int64_t> Commit(const engine::QueueKey& key, const queue::State& state,
                              const std::vector<queue::Effect>& effects) override;
  // Deletes the outbox row. Idempotent: an unknown transition is ok.
  Status Completed(std::int64_t transition) override;
  // Every queue, ordered by key, with its outbox rows in transition order.
  // Errors: kInternal naming the row that does not decode.
  Result<std::vector<engine::StoredQueue>> LoadAll() override;

  // The newest `limit` history rows of `key`, newest first. kInvalid if limit < 0.
  Result<std::vector<HistoryRow>> History(const engine::QueueKey& key, int limit);

  // Tests only: called inside Commit's transaction after each write, with
  // "queue", "outbox" or "history". A hook that throws makes Commit fail and
  // roll back; one that ends the process shows what a crash leaves behind.
  void SetCommitHookForTesting(std::function<void(const std::string& stage)> hook);

 private:
  std::int64_t CommitLocked(const engine::QueueKey& key, const queue::State& state,
                            const std::vector<queue::Effect>& effects, Time now);
  void AppendHistory(const engine::QueueKey& key, const queue::Effect& effect,
                     const nlohmann::json& data, Time now);

  Database& db_;
  const Clock& clock_;
  std::function<void(const std::string&)> hook_;
};

}  // namespace mergeyard::store
