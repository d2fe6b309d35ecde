#include "queue/config.h"

namespace mergeyard::queue {

const char* MergeMethodName(MergeMethod m) {
  switch (m) {
    case MergeMethod::kMerge: return "merge";
    case MergeMethod::kSquash: return "squash";
    case MergeMethod::kRebase: return "rebase";
  }
  return "merge";
}

bool ParseMergeMethod(const std::string& text, MergeMethod* out) {
  for (MergeMethod m : {MergeMethod::kMerge, MergeMethod::kSquash, MergeMethod::kRebase}) {
    if (text == MergeMethodName(m)) { *out = m; return true; }
  }
  return false;
}

std::string Validate(const QueueConfig& c) {
  if (c.target_batch_size < 1) return "target_batch_size must be at least 1";
  if (c.max_wait < 0) return "max_wait must not be negative";
  if (c.concurrency < 1) return "concurrency must be at least 1";
  if (c.pending_failure_depth < 0) return "pending_failure_depth must not be negative";
  if (c.bisection_concurrency < 1) return "bisection_concurrency must be at least 1";
  if (c.singleton_retries < 0) return "singleton_retries must not be negative";
  if (c.pretest_bypass < 0) return "pretest_bypass must not be negative";
  return "";
}

}  // namespace mergeyard::queue
