#pragma once
// Runs a GitPort's calls off the engine thread: fetches, merges and pushes
// take seconds on a big repository, and the engine must keep serving every
// other queue meanwhile. Calls for one repository run in the order they were
// made, on that repository's own worker thread; repositories proceed in
// parallel. Answers still reach the EventSink the call named.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/ports.h"

namespace mergeyard::app {

class AsyncGitPort final : public engine::GitPort {
 public:
  explicit AsyncGitPort(engine::GitPort& inner) : inner_(inner) {}
  ~AsyncGitPort() override;  // finishes the calls already queued, then joins

  void Build(const engine::QueueKey& key, const queue::BuildBatch& build, engine::EventSink& sink) override;
  void Land(const engine::QueueKey& key, const queue::Land& land, engine::EventSink& sink) override;
  void Drop(const engine::QueueKey& key, const queue::BatchDone& done) override;

 private:
  struct Worker {
    std::deque<std::function<void()>> calls;
    std::thread thread;
  };
  void Enqueue(const std::string& repo, std::function<void()> call);
  void Loop(Worker* w);

  engine::GitPort& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::unique_ptr<Worker>> workers_;
  bool stopping_ = false;
};

}  // namespace mergeyard::app
