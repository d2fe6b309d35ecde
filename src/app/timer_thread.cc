#include "app/timer_thread.h"

#include <chrono>

namespace mergeyard::app {

TimerThread::TimerThread(const Clock& clock) : clock_(clock), thread_([this] { Loop(); }) {}

TimerThread::~TimerThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TimerThread::Arm(const engine::QueueKey& key, Time at, engine::EventSink& sink) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    timers_[key] = {at, &sink};
  }
  cv_.notify_all();
}

void TimerThread::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    Time now = clock_.Now();
    Time next = now + 60 * kSecond;
    for (auto it = timers_.begin(); it != timers_.end();) {
      if (it->second.first <= now) {
        engine::QueueKey key = it->first;
        engine::EventSink* sink = it->second.second;
        it = timers_.erase(it);
        sink->Post(key, queue::TimerFired{});
      } else {
        next = std::min(next, it->second.first);
        ++it;
      }
    }
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<Time>(next - now, 1)));
  }
}

}  // namespace mergeyard::app
