#include "store/sqlite_state_store.h"

#include <exception>
#include <map>
#include <mutex>
#include <type_traits>

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "engine/codec.h"
#include "store/sqlite_error.h"

namespace mergeyard::store {
namespace {

// The history kind of an effect, or "" when it does not go to history.
std::string HistoryKind(const queue::Effect& effect) {
  if (std::holds_alternative<queue::BatchDone>(effect)) return "batch";
  if (const auto* r = std::get_if<queue::Report>(&effect)) {
    switch (r->kind) {
      case queue::ReportKind::kMerged: return "merged";
      case queue::ReportKind::kKicked: return "kicked";
      case queue::ReportKind::kCancelled: return "cancelled";
      default: return "";
    }
  }
  return "";
}

Result<std::vector<queue::Effect>> DecodeEffects(const std::string& text) {
  nlohmann::json array = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!array.is_array()) return Internal("effects_json is not a JSON array");
  std::vector<queue::Effect> effects;
  for (const auto& j : array) {
    auto effect = engine::EffectFromJson(j);
    if (!effect) return effect.error();
    effects.push_back(std::move(*effect));
  }
  return effects;
}

}  // namespace

SqliteStateStore::SqliteStateStore(Database& db, const Clock& clock) : db_(db), clock_(clock) {}

void SqliteStateStore::SetCommitHookForTesting(std::function<void(const std::string&)> hook) {
  std::lock_guard lock(db_.mutex());
  hook_ = std::move(hook);
}

Result<std::int64_t> SqliteStateStore::Commit(const engine::QueueKey& key,
                                              const queue::State& state,
                                              const std::vector<queue::Effect>& effects) {
  Time now = clock_.Now();
  std::lock_guard lock(db_.mutex());
  try {
    return CommitLocked(key, state, effects, now);
  } catch (const std::exception& e) {  // the Transaction's destructor rolled back
    return FromException("commit " + key.ToString(), e);
  }
}

std::int64_t SqliteStateStore::CommitLocked(const engine::QueueKey& key,
                                            const queue::State& state,
                                            const std::vector<queue::Effect>& effects,
                                            Time now) {
  std::string state_json = engine::StateToJson(state).dump();
  nlohmann::json array = nlohmann::json::array();
  for (const auto& e : effects) array.push_back(engine::EffectToJson(e));

  SQLite::Database& sql = db_.sql();
  SQLite::Transaction tx(sql, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement upsert(sql,
      "INSERT INTO queues (repo, branch, state_json, updated_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (repo, branch) DO UPDATE SET state_json = excluded.state_json, "
      "updated_at = excluded.updated_at");
  upsert.bind(1, key.repo);
  upsert.bind(2, key.branch);
  upsert.bind(3, state_json);
  upsert.bind(4, static_cast<int64_t>(now));
  upsert.exec();
  if (hook_) hook_("queue");

  SQLite::Statement outbox(sql,
      "INSERT INTO outbox (repo, branch, effects_json, created_at) VALUES (?, ?, ?, ?)");
  outbox.bind(1, key.repo);
  outbox.bind(2, key.branch);
  outbox.bind(3, array.dump());
  outbox.bind(4, static_cast<int64_t>(now));
  outbox.exec();
  std::int64_t transition = sql.getLastInsertRowid();
  if (hook_) hook_("outbox");

  for (size_t i = 0; i < effects.size(); ++i) AppendHistory(key, effects[i], array[i], now);
  if (hook_) hook_("history");
  tx.commit();
  return transition;
}

void SqliteStateStore::AppendHistory(const engine::QueueKey& key, const queue::Effect& effect,
                                     const nlohmann::json& data, Time now) {
  std::string kind = HistoryKind(effect);
  if (kind.empty()) return;
  SQLite::Statement row(db_.sql(),
      "INSERT INTO history (repo, branch, at, kind, pr, batch, data_json) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  row.bind(1, key.repo);
  row.bind(2, key.branch);
  row.bind(3, static_cast<int64_t>(now));
  row.bind(4, kind);
  if (const auto* done = std::get_if<queue::BatchDone>(&effect)) {
    row.bind(5);
    row.bind(6, static_cast<int64_t>(done->batch.id));
  } else {
    const auto& report = std::get<queue::Report>(effect);
    row.bind(5, static_cast<int64_t>(report.pr));
    if (report.batch != 0) row.bind(6, static_cast<int64_t>(report.batch)); else row.bind(6);
  }
  row.bind(7, data.dump());
  row.exec();
}

Status SqliteStateStore::Completed(std::int64_t transition) {
  std::lock_guard lock(db_.mutex());
  try {
    SQLite::Statement del(db_.sql(), "DELETE FROM outbox WHERE transition = ?");
    del.bind(1, static_cast<int64_t>(transition));
    del.exec();
    return Ok();
  } catch (const std::exception& e) {
    return FromException("completing transition " + std::to_string(transition), e);
  }
}

Result<std::vector<engine::StoredQueue>> SqliteStateStore::LoadAll() {
  std::lock_guard lock(db_.mutex());
  std::vector<engine::StoredQueue> out;
  std::map<engine::QueueKey, size_t> index;
  try {
    SQLite::Statement queues(db_.sql(),
        "SELECT repo, branch, state_json FROM queues ORDER BY repo, branch");
    while (queues.executeStep()) {
      engine::StoredQueue q;
      q.key = {queues.getColumn(0).getString(), queues.getColumn(1).getString()};
      auto json = nlohmann::json::parse(queues.getColumn(2).getString(), nullptr, false);
      auto state = engine::StateFromJson(json);
      if (!state) {
        return Internal("queue " + q.key.ToString() + ": " + state.error().message);
      }
      q.state = std::move(*state);
      index[q.key] = out.size();
      out.push_back(std::move(q));
    }
    SQLite::Statement outbox(db_.sql(),
        "SELECT transition, repo, branch, effects_json FROM outbox ORDER BY transition");
    while (outbox.executeStep()) {
      std::int64_t t = outbox.getColumn(0).getInt64();
      engine::QueueKey key{outbox.getColumn(1).getString(), outbox.getColumn(2).getString()};
      auto it = index.find(key);
      if (it == index.end()) {
        return Internal("outbox transition " + std::to_string(t) + " has no queue " +
                        key.ToString());
      }
      auto effects = DecodeEffects(outbox.getColumn(3).getString());
      if (!effects) {
        return Internal("outbox transition " + std::to_string(t) + ": " +
                        effects.error().message);
      }
      out[it->second].pending.push_back({t, std::move(*effects)});
    }
  } catch (const std::exception& e) {
    return FromException("loading queues", e);
  }
  return out;
}

Result<std::vector<HistoryRow>> SqliteStateStore::History(const engine::QueueKey& key,
                                                          int limit) {
  if (limit < 0) return Invalid("history limit must be >= 0");
  std::lock_guard lock(db_.mutex());
  std::vector<HistoryRow> rows;
  try {
    SQLite::Statement q(db_.sql(),
        "SELECT id, at, kind, pr, batch, data_json FROM history "
        "WHERE repo = ? AND branch = ? ORDER BY id DESC LIMIT ?");
    q.bind(1, key.repo);
    q.bind(2, key.branch);
    q.bind(3, limit);
    while (q.executeStep()) {
      HistoryRow r;
      r.id = q.getColumn(0).getInt64();
      r.at = q.getColumn(1).getInt64();
      r.kind = q.getColumn(2).getString();
      if (!q.getColumn(3).isNull()) r.pr = q.getColumn(3).getInt64();
      if (!q.getColumn(4).isNull()) r.batch = q.getColumn(4).getInt64();
      r.data = nlohmann::json::parse(q.getColumn(5).getString(), nullptr, false);
      rows.push_back(std::move(r));
    }
  } catch (const std::exception& e) {
    return FromException("reading history of " + key.ToString(), e);
  }
  return rows;
}

}  // namespace mergeyard::store
