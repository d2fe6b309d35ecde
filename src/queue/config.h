#pragma once
// Queue parameters, as read from a repository's `.mergeyard.yml` (DESIGN.md
// section 6). Defaults are what a repository gets when it leaves a key out.

#include <string>

#include "base/duration.h"

namespace mergeyard::queue {

enum class MergeMethod { kMerge, kSquash, kRebase };
enum class Bisection { kBinary };

const char* MergeMethodName(MergeMethod m);
bool ParseMergeMethod(const std::string& text, MergeMethod* out);

struct QueueConfig {
  int target_batch_size = 4;            // >= 1
  Duration max_wait = 10 * kMinute;     // >= 0
  int concurrency = 1;                  // main-queue batches testing at once, >= 1
  int pending_failure_depth = 0;        // >= 0
  bool optimistic_merging = false;
  Bisection bisection = Bisection::kBinary;
  int bisection_concurrency = 2;        // >= 1
  MergeMethod merge_method = MergeMethod::kMerge;
  int singleton_retries = 0;            // >= 0

  bool operator==(const QueueConfig&) const = default;
};

// Empty when the config is usable; otherwise what is wrong with it.
std::string Validate(const QueueConfig& config);

}  // namespace mergeyard::queue
