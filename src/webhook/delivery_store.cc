#include "webhook/delivery_store.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "base/log.h"

namespace mergeyard::webhook {

namespace {

// The same statements as migrations/0002_webhook_deliveries.sql (the source
// of truth); kept here so the store also works on a database migrated before
// that file was embedded.
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  forge TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  event TEXT NOT NULL,
  body BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT '',
  UNIQUE (forge, delivery_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending
  ON webhook_deliveries (state, next_attempt_at, id);
)";

// Largest number of deliveries committed in one transaction.
constexpr size_t kMaxGroup = 256;

}  // namespace

struct DeliveryStore::Request {
  NewDelivery delivery;
  bool finished = false;
  Result<InsertOutcome> result = Transient("not written");
};

DeliveryStore::DeliveryStore(store::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

Result<std::unique_ptr<DeliveryStore>> DeliveryStore::Open(store::Database& db, const Clock& clock) {
  try {
    std::lock_guard<std::mutex> lock(db.mutex());
    db.sql().exec(kSchema);
  } catch (const std::exception& e) {
    return Internal(std::string("creating webhook_deliveries: ") + e.what());
  }
  return std::unique_ptr<DeliveryStore>(new DeliveryStore(db, clock));
}

DeliveryStore::~DeliveryStore() = default;

Result<InsertOutcome> DeliveryStore::Insert(NewDelivery delivery) {
  auto req = std::make_shared<Request>();
  req->delivery = std::move(delivery);
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(req);
  // Wait while another caller commits; when it is done, either our row went
  // with it or we become the one who commits what is queued.
  cv_.wait(lock, [&] { return req->finished || !committing_; });
  while (!req->finished) {
    committing_ = true;
    std::vector<std::shared_ptr<Request>> batch;
    while (!queue_.empty() && batch.size() < kMaxGroup) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    CommitBatch(batch);
    lock.lock();
    for (auto& r : batch) r->finished = true;
    committing_ = false;
    cv_.notify_all();
  }
  return req->result;
}

void DeliveryStore::CommitBatch(std::vector<std::shared_ptr<Request>>& batch) {
  const Time now = clock_.Now();
  try {
    std::lock_guard<std::mutex> db_lock(db_.mutex());
    SQLite::Transaction txn(db_.sql());
    SQLite::Statement insert(db_.sql(),
        "INSERT OR IGNORE INTO webhook_deliveries "
        "(forge, delivery_id, event, body, received_at, state, outcome) VALUES (?,?,?,?,?,?,?)");
    for (auto& r : batch) {
      const NewDelivery& d = r->delivery;
      insert.bind(1, d.forge);
      insert.bind(2, d.delivery_id);
      insert.bind(3, d.event);
      insert.bind(4, d.body.data(), static_cast<int>(d.body.size()));
      insert.bind(5, static_cast<std::int64_t>(now));
      insert.bind(6, d.done ? "done" : "pending");
      insert.bind(7, d.outcome);
      const int changed = insert.exec();
      r->result = changed > 0 ? InsertOutcome::kStored : InsertOutcome::kDuplicate;
      insert.reset();
    }
    txn.commit();
  } catch (const std::exception& e) {
    LOG_ERROR("storing webhook deliveries failed", {{"error", e.what()}});
    for (auto& r : batch) r->result = Transient(std::string("storing the delivery: ") + e.what());
  }
}

Result<std::vector<StoredDelivery>> DeliveryStore::Due(Time now, int limit) {
  try {
    std::lock_guard<std::mutex> lock(db_.mutex());
    SQLite::Statement q(db_.sql(),
        "SELECT id, forge, delivery_id, event, body, received_at, attempts FROM webhook_deliveries "
        "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?");
    q.bind(1, static_cast<std::int64_t>(now));
    q.bind(2, limit);
    std::vector<StoredDelivery> out;
    while (q.executeStep()) {
      StoredDelivery d;
      d.id = q.getColumn(0).getInt64();
      d.forge = q.getColumn(1).getString();
      d.delivery_id = q.getColumn(2).getString();
      d.event = q.getColumn(3).getString();
      const SQLite::Column body = q.getColumn(4);
      d.body.assign(static_cast<const char*>(body.getBlob()), static_cast<size_t>(body.getBytes()));
      d.received_at = q.getColumn(5).getInt64();
      d.attempts = q.getColumn(6).getInt();
      out.push_back(std::move(d));
    }
    return out;
  } catch (const std::exception& e) {
    return Transient(std::string("reading deliveries: ") + e.what());
  }
}

Status DeliveryStore::MarkDone(std::int64_t id, const std::string& outcome) {
  try {
    std::lock_guard<std::mutex> lock(db_.mutex());
    SQLite::Statement u(db_.sql(),
        "UPDATE webhook_deliveries SET state = 'done', outcome = ?, attempts = attempts + 1 WHERE id = ?");
    u.bind(1, outcome);
    u.bind(2, id);
    u.exec();
    return Ok();
  } catch (const std::exception& e) {
    return Transient(std::string("marking delivery done: ") + e.what());
  }
}

Status DeliveryStore::MarkRetry(std::int64_t id, const std::string& outcome, Time retry_at,
                                int max_attempts) {
  try {
    std::lock_guard<std::mutex> lock(db_.mutex());
    SQLite::Statement u(db_.sql(),
        "UPDATE webhook_deliveries SET attempts = attempts + 1, outcome = ?, next_attempt_at = ?, "
        "state = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'pending' END WHERE id = ?");
    u.bind(1, outcome);
    u.bind(2, static_cast<std::int64_t>(retry_at));
    u.bind(3, max_attempts);
    u.bind(4, id);
    u.exec();
    return Ok();
  } catch (const std::exception& e) {
    return Transient(std::string("marking delivery for retry: ") + e.what());
  }
}

Result<std::int64_t> DeliveryStore::Prune(Time before) {
  try {
    std::lock_guard<std::mutex> lock(db_.mutex());
    SQLite::Statement d(db_.sql(),
        "DELETE FROM webhook_deliveries WHERE state IN ('done', 'failed') AND received_at < ?");
    d.bind(1, static_cast<std::int64_t>(before));
    return static_cast<std::int64_t>(d.exec());
  } catch (const std::exception& e) {
    return Transient(std::string("pruning deliveries: ") + e.what());
  }
}

Result<std::int64_t> DeliveryStore::Count(const std::string& state) {
  try {
    std::lock_guard<std::mutex> lock(db_.mutex());
    SQLite::Statement q(db_.sql(), "SELECT COUNT(*) FROM webhook_deliveries WHERE state = ?");
    q.bind(1, state);
    q.executeStep();
    return q.getColumn(0).getInt64();
  } catch (const std::exception& e) {
    return Transient(std::string("counting deliveries: ") + e.what());
  }
}

}  // namespace mergeyard::webhook
