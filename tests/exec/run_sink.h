#pragma once
// An engine::EventSink for exec tests that drive the PipelineRunPort: keeps
// every RunFinished and lets the test wait for the n-th.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <variant>
#include <vector>

#include "engine/ports.h"

namespace mergeyard::exec::testing {

struct RunSink final : engine::EventSink {
  void Post(const engine::QueueKey&, queue::Event e) override {
    std::lock_guard<std::mutex> lock(mu);
    if (auto* f = std::get_if<queue::RunFinished>(&e)) finished.push_back(*f);
    cv.notify_all();
  }
  // True once `n` runs have finished, false after `ms`.
  bool WaitCount(std::size_t n, int ms = 20000) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return finished.size() >= n; });
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<queue::RunFinished> finished;
};

}  // namespace mergeyard::exec::testing
