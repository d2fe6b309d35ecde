#include "exec/core/fair_queue.h"

#include <tuple>

namespace mergeyard::exec::core {

bool FairQueue::Order::operator()(const QueueItem& a, const QueueItem& b) const {
  return std::make_tuple(!a.boost, -a.priority, a.enqueued_at, a.seq, std::cref(a.id)) <
         std::make_tuple(!b.boost, -b.priority, b.enqueued_at, b.seq, std::cref(b.id));
}

FairQueue::Ring::iterator FairQueue::Next(Ring::iterator it) {
  if (it != ring_.end()) ++it;
  return it == ring_.end() ? ring_.begin() : it;
}

void FairQueue::Push(const QueueItem& item) {
  if (index_.count(item.id)) return;
  auto [git, fresh] = groups_.try_emplace(item.group);
  Group& g = git->second;
  if (fresh) {
    // New groups join the ring just before the cursor: served last in this round.
    g.pos = ring_.insert(cursor_ == ring_.end() ? ring_.end() : cursor_, item.group);
    if (cursor_ == ring_.end()) cursor_ = ring_.begin();
  }
  g.items.insert(item);
  index_.emplace(item.id, item);
}

void FairQueue::EraseFromGroup(const QueueItem& item) {
  auto git = groups_.find(item.group);
  if (git == groups_.end()) return;
  git->second.items.erase(item);
  if (!git->second.items.empty()) return;
  Ring::iterator pos = git->second.pos;
  if (cursor_ == pos) cursor_ = std::next(pos);
  ring_.erase(pos);
  if (cursor_ == ring_.end()) cursor_ = ring_.begin();
  groups_.erase(git);
}

bool FairQueue::Remove(const std::string& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  QueueItem item = it->second;
  index_.erase(it);
  EraseFromGroup(item);
  return true;
}

FairQueue::Pick FairQueue::PopNext(const std::function<Fit(const std::string&)>& fit,
                                   std::size_t max_scan) {
  Pick pick;
  std::size_t tried = 0;
  while (!ring_.empty() && tried < ring_.size()) {
    if (cursor_ == ring_.end()) cursor_ = ring_.begin();
    Group& g = groups_[*cursor_];
    std::size_t scanned = 0;
    std::optional<QueueItem> taken;
    std::vector<QueueItem> drop;
    for (auto it = g.items.begin(); it != g.items.end() && scanned < max_scan; ++it, ++scanned) {
      Fit f = fit(it->id);
      if (f == Fit::kFits) { taken = *it; break; }
      if (f == Fit::kDrop) drop.push_back(*it);
      if (f == Fit::kBlocked) break;
    }
    bool vanished = !drop.empty() && drop.size() == g.items.size();
    for (const auto& d : drop) {
      pick.dropped.push_back(d.id);
      index_.erase(d.id);
      EraseFromGroup(d);  // may erase the group and move the cursor on
    }
    if (taken) {
      index_.erase(taken->id);
      bool last = g.items.size() == 1;
      Ring::iterator here = cursor_;
      EraseFromGroup(*taken);
      // The next pick starts at the next group (EraseFromGroup already moved
      // the cursor there when the group emptied).
      if (!last) cursor_ = Next(here);
      pick.taken = taken->id;
      return pick;
    }
    if (vanished) continue;  // the cursor already points at the next group
    cursor_ = Next(cursor_);
    ++tried;
  }
  return pick;
}

}  // namespace mergeyard::exec::core
