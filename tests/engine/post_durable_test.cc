// Engine::PostDurable: the caller learns that its event's transition is
// committed, or that it may not be (and must keep the event to retry).

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine/engine.h"

using namespace mergeyard;

namespace {

class NoPorts final : public engine::GitPort, public engine::RunPort, public engine::ForgePort,
                      public engine::TimerPort {
 public:
  void Build(const engine::QueueKey&, const queue::BuildBatch&, engine::EventSink&) override {}
  void Land(const engine::QueueKey&, const queue::Land&, engine::EventSink&) override {}
  void Drop(const engine::QueueKey&, const queue::BatchDone&) override {}
  void Start(const engine::QueueKey&, const queue::StartRun&, engine::EventSink&) override {}
  void Cancel(const engine::QueueKey&, const queue::CancelRun&) override {}
  void Report(const engine::QueueKey&, const queue::Report&) override {}
  void Arm(const engine::QueueKey&, Time, engine::EventSink&) override {}
};

const engine::QueueKey kKey{"acme/widgets", "main"};

}  // namespace

TEST_CASE("PostDurable returns only once the drainer has committed the event") {
  NoPorts ports;
  ManualClock clock;
  engine::Engine engine(engine::Ports{&ports, &ports, &ports, &ports, nullptr, &clock});
  auto done = std::async(std::launch::async, [&] { return engine.PostDurable(kKey, queue::Enqueue{7, "head7"}); });
  CHECK(done.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
  CHECK_FALSE(engine.Snapshot(kKey).has_value());
  REQUIRE(engine.Drain().ok());
  REQUIRE(done.get().ok());
  auto state = engine.Snapshot(kKey);
  REQUIRE(state.has_value());
  CHECK(state->entries.count(7) == 1);
}

TEST_CASE("PostDurable answers transient when nobody commits in time, or the event is taken back") {
  NoPorts ports;
  ManualClock clock;
  engine::Engine engine(engine::Ports{&ports, &ports, &ports, &ports, nullptr, &clock});
  engine.set_durable_timeout(50);
  Status late = engine.PostDurable(kKey, queue::Enqueue{1, "head1"});
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().code == ErrorCode::kTransient);

  engine.set_durable_timeout(10000);
  auto taken = std::async(std::launch::async, [&] { return engine.PostDurable(kKey, queue::Enqueue{2, "head2"}); });
  while (taken.wait_for(std::chrono::milliseconds(10)) == std::future_status::timeout) {
    if (!engine.TakeInbox().empty()) break;
  }
  Status s = taken.get();
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == ErrorCode::kTransient);
}
