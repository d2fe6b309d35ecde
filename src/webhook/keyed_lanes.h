#pragma once
// Runs jobs on a fixed pool of threads: one at a time per key, in the order
// they were added, and different keys in parallel, so one key's slow jobs
// hold up no other key (webhook deliveries by repository). Keys take turns:
// a key whose job just ran goes behind the keys already waiting.
// Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mergeyard::webhook {

class KeyedLanes {
 public:
  explicit KeyedLanes(int threads);
  ~KeyedLanes();  // Stop()

  // Queues `job` behind `key`'s earlier jobs. Dropped after Stop.
  void Add(const std::string& key, std::function<void()> job);
  // Blocks until no job is queued or running.
  void WaitIdle();
  // Waits for the running jobs; queued ones are dropped. Final.
  void Stop();

 private:
  struct Lane {
    std::deque<std::function<void()>> jobs;
    bool busy = false;
  };
  void Work();

  std::mutex mu_;
  std::condition_variable work_cv_, idle_cv_;
  std::map<std::string, Lane> lanes_;  // only keys with jobs queued or running
  std::deque<std::string> ready_;      // keys with a job queued and none running, in turn order
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mergeyard::webhook
