#pragma once
// An engine::EventSink that keeps every event the git port posts, for tests.

#include <doctest/doctest.h>

#include <mutex>
#include <variant>
#include <vector>

#include "engine/ports.h"

namespace mergeyard::git::testing {

class RecordingSink final : public engine::EventSink {
 public:
  void Post(const engine::QueueKey&, queue::Event event) override {
    std::lock_guard<std::mutex> lock(mu_);
    events.push_back(std::move(event));
  }
  // The last event, which must be a T.
  template <class T>
  T Last() {
    REQUIRE(!events.empty());
    INFO("event: " << queue::ToString(events.back()));
    REQUIRE(std::holds_alternative<T>(events.back()));
    return std::get<T>(events.back());
  }
  std::vector<queue::Event> events;

 private:
  std::mutex mu_;
};

}  // namespace mergeyard::git::testing
