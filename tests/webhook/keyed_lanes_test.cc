// KeyedLanes: order and one-at-a-time within a key, no waiting across keys.
#include "webhook/keyed_lanes.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

using namespace mergeyard::webhook;

TEST_SUITE("webhook") {

TEST_CASE("jobs of one key run one at a time in order; a stuck key holds up no other") {
  KeyedLanes lanes(4);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::mutex mu;
  std::vector<std::string> ran;
  std::atomic<int> running_slow{0}, most_slow{0};
  auto note = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    ran.push_back(what);
  };
  for (int i = 0; i < 3; ++i) {
    lanes.Add("slow/repo", [&, i] {
      int now = ++running_slow;
      most_slow = std::max(most_slow.load(), now);
      if (i == 0) released.wait();  // the first one hangs, as a forge that does not answer
      note("slow" + std::to_string(i));
      --running_slow;
    });
  }
  std::promise<void> fast_done;
  lanes.Add("fast/repo", [&] { note("fast0"); });
  lanes.Add("fast/repo", [&] {
    note("fast1");
    fast_done.set_value();
  });
  // The other repository's jobs finish while the slow one is stuck.
  REQUIRE(fast_done.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  {
    std::lock_guard<std::mutex> lock(mu);
    CHECK(ran == std::vector<std::string>{"fast0", "fast1"});
  }
  release.set_value();
  lanes.WaitIdle();
  CHECK(ran == std::vector<std::string>{"fast0", "fast1", "slow0", "slow1", "slow2"});
  CHECK(most_slow == 1);
}

TEST_CASE("stopping waits for the running job and drops the queued ones") {
  KeyedLanes lanes(2);
  std::promise<void> started;
  std::atomic<int> ran{0};
  lanes.Add("k", [&] {
    started.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ++ran;
  });
  lanes.Add("k", [&] { ++ran; });
  started.get_future().wait();
  lanes.Stop();
  CHECK(ran == 1);
  lanes.Add("k", [&] { ++ran; });  // after Stop: dropped
  lanes.WaitIdle();
  CHECK(ran == 1);
}

}  // TEST_SUITE
