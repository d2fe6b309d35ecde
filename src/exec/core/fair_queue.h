#pragma once
// Queued executions, grouped (per repository by default). Groups are served
// round-robin: after a group gives an item, the next pick starts at the group
// after it. Inside a group: boosted items (hedges, re-queued work) first, then
// higher priority, then older, then arrival order. Pure, not thread-safe.
//
// PopNext asks `fit` about items in that order. kFits takes the item; kSkip
// (blocked only on a custom resource, a platform label, or stale) looks at the
// next item of the same group; kBlocked (cpu or memory do not fit) stops the
// scan of that group, so big work is not starved by small work behind it;
// kDrop removes the item and reports it in `dropped`.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/duration.h"

namespace mergeyard::exec::core {

struct QueueItem {
  std::string id;
  std::string group;
  int priority = 0;
  Time enqueued_at = 0;
  std::uint64_t seq = 0;
  bool boost = false;
};

class FairQueue {
 public:
  enum class Fit { kFits, kSkip, kBlocked, kDrop };
  struct Pick {
    std::optional<std::string> taken;
    std::vector<std::string> dropped;
  };

  void Push(const QueueItem& item);
  bool Remove(const std::string& id);
  bool Contains(const std::string& id) const { return index_.count(id) > 0; }
  // `max_scan` bounds how many items of one group are asked per call.
  Pick PopNext(const std::function<Fit(const std::string& id)>& fit, std::size_t max_scan = 512);

  std::size_t size() const { return index_.size(); }
  std::size_t groups() const { return ring_.size(); }

 private:
  struct Order {
    bool operator()(const QueueItem& a, const QueueItem& b) const;
  };
  struct Group;
  using Ring = std::list<std::string>;
  struct Group {
    std::set<QueueItem, Order> items;
    Ring::iterator pos;  // its place in ring_
  };
  // Erases the item; drops its group from the ring when it empties (the
  // cursor then moves to the next group).
  void EraseFromGroup(const QueueItem& item);
  Ring::iterator Next(Ring::iterator it);

  std::unordered_map<std::string, Group> groups_;
  std::unordered_map<std::string, QueueItem> index_;
  Ring ring_;                       // groups with items, in service order
  Ring::iterator cursor_ = ring_.end();
};

}  // namespace mergeyard::exec::core
