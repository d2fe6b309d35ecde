#pragma once
// The one place time is read. Shells (engine, adapters, services) hold a
// Clock&; tests and the simulator pass a ManualClock.

#include <atomic>
#include <cstdint>

#include "base/duration.h"

namespace mergeyard {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
  // The same instant in microseconds, for measurements finer than Now()
  // (REAPI execution timestamps). Defaults to Now() * 1000.
  virtual std::int64_t NowMicros() const { return Now() * 1000; }
};

// Wall-clock milliseconds since the Unix epoch. Thread-safe.
class SystemClock final : public Clock {
 public:
  Time Now() const override;
  std::int64_t NowMicros() const override;
};

// A clock that moves only when told. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Time start = 0) : now_(start) {}
  Time Now() const override { return now_.load(); }
  void Set(Time t) { now_.store(t); }
  void Advance(Duration d) { now_.fetch_add(d); }

 private:
  std::atomic<Time> now_;
};

}  // namespace mergeyard
