#pragma once
// Durable, deduplicated webhook deliveries (table webhook_deliveries,
// migrations/0002). Insert returns only once the row is committed; concurrent
// inserts share one transaction (group commit: the first caller to find no
// commit in progress commits everything queued, the others wait for it), so
// throughput is not bounded by one fsync per delivery. Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "store/database.h"

namespace mergeyard::webhook {

struct NewDelivery {
  std::string forge;        // forge::ForgeKindName
  std::string delivery_id;
  std::string event;
  std::string body;
  bool done = false;        // already handled (an ignored event): stored for dedup and history only
  std::string outcome;
};

struct StoredDelivery {
  std::int64_t id = 0;
  std::string forge;
  std::string delivery_id;
  std::string event;
  std::string body;
  Time received_at = 0;
  int attempts = 0;
};

enum class InsertOutcome { kStored, kDuplicate };

class DeliveryStore {
 public:
  // Creates the table if the migration has not.
  // Errors: kInternal with SQLite's message.
  static Result<std::unique_ptr<DeliveryStore>> Open(store::Database& db, const Clock& clock);
  ~DeliveryStore();

  // Stores the delivery durably, or reports that (forge, delivery_id) was
  // stored before. Errors: kTransient when the database failed.
  Result<InsertOutcome> Insert(NewDelivery delivery);

  // Pending deliveries due at `now`, oldest first.
  Result<std::vector<StoredDelivery>> Due(Time now, int limit);
  // Processing finished (acted on or deliberately ignored).
  Status MarkDone(std::int64_t id, const std::string& outcome);
  // Processing failed for a passing reason: try again at `retry_at`; after
  // `max_attempts` the delivery is marked failed for good.
  Status MarkRetry(std::int64_t id, const std::string& outcome, Time retry_at, int max_attempts);

  // Deletes handled (done or failed) deliveries received before `before`;
  // returns how many. Redeliveries older than that are no longer recognised.
  Result<std::int64_t> Prune(Time before);

  // Counts by state ("pending", "done", "failed"), for tests and metrics.
  Result<std::int64_t> Count(const std::string& state);

 private:
  struct Request;
  DeliveryStore(store::Database& db, const Clock& clock);
  void CommitBatch(std::vector<std::shared_ptr<Request>>& batch);

  store::Database& db_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Request>> queue_;
  bool committing_ = false;  // a caller is committing the queue
};

}  // namespace mergeyard::webhook
