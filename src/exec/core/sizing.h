#pragma once
// Learned sizing and durations, per SizingKey (a step of a group). Pure.
//
// Durations: the usual duration is the median of the last `window` passing
// runs; hedge thresholds are a multiple of it.
// Resources: once `min_samples` runs were measured, a declared cpu or memory
// is replaced by (max measured over the window) x headroom when that is at
// most `well_below` x the declared value. Custom resources are never learned.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "exec/core/action.h"

namespace mergeyard::exec::core {

struct SizingConfig {
  int window = 10;            // recent runs kept per key
  int min_samples = 3;        // runs needed before sizing is learned
  double headroom = 1.5;      // measured peak x headroom is what gets scheduled
  double well_below = 0.5;    // learn only when that is <= half of the declaration
  std::int64_t min_memory_bytes = 32ll << 20;  // never schedule below 32 MiB
  double min_cpu = 0.1;
};

struct Sized {
  Resources resources;        // what the scheduler reserves
  bool learned_cpu = false;
  bool learned_memory = false;
  bool learned() const { return learned_cpu || learned_memory; }
};

class SizingModel {
 public:
  explicit SizingModel(SizingConfig config = {}) : config_(config) {}

  // Records one finished run. Measurements of 0 mean unknown and are ignored.
  void Record(const std::string& key, const ActionResult& result);

  std::optional<Duration> UsualDuration(const std::string& key) const;
  Sized Size(const std::string& key, const Resources& declared) const;

 private:
  struct Sample {
    Duration duration = 0;
    bool passed = false;
    std::int64_t memory = 0;
    double cpu = 0;
  };
  SizingConfig config_;
  std::unordered_map<std::string, std::deque<Sample>> samples_;
};

}  // namespace mergeyard::exec::core
