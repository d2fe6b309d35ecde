#include "webhook/keyed_lanes.h"

#include <algorithm>

namespace mergeyard::webhook {

KeyedLanes::KeyedLanes(int threads) {
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { Work(); });
}

KeyedLanes::~KeyedLanes() { Stop(); }

void KeyedLanes::Add(const std::string& key, std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  Lane& lane = lanes_[key];
  lane.jobs.push_back(std::move(job));
  if (!lane.busy && lane.jobs.size() == 1) {
    ready_.push_back(key);
    work_cv_.notify_one();
  }
}

void KeyedLanes::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return lanes_.empty(); });
}

void KeyedLanes::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    ready_.clear();
    for (auto it = lanes_.begin(); it != lanes_.end();) {
      it->second.jobs.clear();
      it = it->second.busy ? std::next(it) : lanes_.erase(it);
    }
  }
  work_cv_.notify_all();
  idle_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void KeyedLanes::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    const std::string key = std::move(ready_.front());
    ready_.pop_front();
    Lane& lane = lanes_[key];
    std::function<void()> job = std::move(lane.jobs.front());
    lane.jobs.pop_front();
    lane.busy = true;
    lock.unlock();
    job();
    lock.lock();
    Lane& after = lanes_[key];
    after.busy = false;
    if (!after.jobs.empty()) {
      ready_.push_back(key);  // behind the keys already waiting
      work_cv_.notify_one();
    } else {
      lanes_.erase(key);
      if (lanes_.empty()) idle_cv_.notify_all();
    }
  }
}

}  // namespace mergeyard::webhook
