#include "app/async_git_port.h"

namespace mergeyard::app {

AsyncGitPort::~AsyncGitPort() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& [repo, w] : workers_) w->thread.join();
}

void AsyncGitPort::Build(const engine::QueueKey& key, const queue::BuildBatch& build, engine::EventSink& sink) {
  Enqueue(key.repo, [this, key, build, &sink] { inner_.Build(key, build, sink); });
}

void AsyncGitPort::Land(const engine::QueueKey& key, const queue::Land& land, engine::EventSink& sink) {
  Enqueue(key.repo, [this, key, land, &sink] { inner_.Land(key, land, sink); });
}

void AsyncGitPort::Drop(const engine::QueueKey& key, const queue::BatchDone& done) {
  Enqueue(key.repo, [this, key, done] { inner_.Drop(key, done); });
}

void AsyncGitPort::Enqueue(const std::string& repo, std::function<void()> call) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& w = workers_[repo];
  if (!w) {
    w = std::make_unique<Worker>();
    w->thread = std::thread([this, raw = w.get()] { Loop(raw); });
  }
  w->calls.push_back(std::move(call));
  cv_.notify_all();
}

void AsyncGitPort::Loop(Worker* w) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !w->calls.empty(); });
    if (w->calls.empty()) return;  // stopping, and nothing left
    auto call = std::move(w->calls.front());
    w->calls.pop_front();
    lock.unlock();
    call();
    lock.lock();
  }
}

}  // namespace mergeyard::app
