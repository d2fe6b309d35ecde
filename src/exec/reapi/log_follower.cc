#include "exec/reapi/log_follower.h"

#include <fstream>

namespace mergeyard::exec::reapi {

LogFollower::~LogFollower() { StopAll(); }

void LogFollower::Follow(const std::string& name) {
  if (name.empty()) return;
  for (const auto& s : streams_)
    if (s->name == name) return;
  auto s = std::make_unique<Stream>();
  s->name = name;
  s->ctx = context_();
  Stream* raw = s.get();
  streams_.push_back(std::move(s));
  raw->thread = std::thread([this, raw] { Read(raw); });
}

void LogFollower::Read(Stream* s) {
  google::bytestream::ReadRequest req;
  req.set_resource_name(s->name);
  auto reader = stub_->Read(s->ctx.get(), req);
  google::bytestream::ReadResponse resp;
  while (reader->Read(&resp)) {
    if (resp.data().empty()) continue;
    std::lock_guard<std::mutex> lock(log_mu_);
    std::ofstream(log_path_, std::ios::app | std::ios::binary) << resp.data();
  }
  s->ok = reader->Finish().ok();
  s->done = true;
}

bool LogFollower::Finish(std::chrono::milliseconds grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  auto all_done = [&] {
    for (const auto& s : streams_)
      if (!s->done) return false;
    return true;
  };
  while (!all_done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  StopAll();
  if (streams_.empty()) return false;
  for (const auto& s : streams_)
    if (!s->ok) return false;
  return true;
}

void LogFollower::StopAll() {
  for (auto& s : streams_) {
    if (!s->done) s->ctx->TryCancel();
    if (s->thread.joinable()) s->thread.join();
  }
}

}  // namespace mergeyard::exec::reapi
