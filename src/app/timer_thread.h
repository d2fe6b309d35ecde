#pragma once
// engine::TimerPort on a thread: fires TimerFired for a queue at (or just
// after) the time it was armed for. Arming a queue again replaces its timer.

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "engine/ports.h"

namespace mergeyard::app {

class TimerThread final : public engine::TimerPort {
 public:
  explicit TimerThread(const Clock& clock);
  ~TimerThread() override;  // stops the thread; pending timers are dropped

  // engine::TimerPort
  void Arm(const engine::QueueKey& key, Time at, engine::EventSink& sink) override;

 private:
  void Loop();

  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<engine::QueueKey, std::pair<Time, engine::EventSink*>> timers_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mergeyard::app
