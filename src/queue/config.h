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

// Measured trade-offs of these settings (bench/sim/policies.cc, a simulated
// week per tier) are in the comments below; the policy table is in the
// closing note of issue 2.
struct QueueConfig {
  int target_batch_size = 4;            // >= 1
  Duration max_wait = 10 * kMinute;     // >= 0
  // Main-queue batches building or testing at once, each stacked on the one
  // ahead (speculation), >= 1.
  int concurrency = 1;
  // >= 0. A failed main batch stays in place while the next d batches (built
  // on it) finish; without optimistic_merging their results only delay it.
  int pending_failure_depth = 0;
  // With pending_failure_depth > 0: a batch behind a failed one passing means
  // the failure was transient; both land (the passing tree includes it).
  bool optimistic_merging = false;
  Bisection bisection = Bisection::kBinary;
  // Bisection nodes (and, with pretest, pretest batches) testing at once, >= 1.
  // A queue whose failed batches wait for a slot falls behind: under load give
  // it at least `concurrency` (the benchmark's pretest policies use 2x).
  int bisection_concurrency = 2;
  MergeMethod merge_method = MergeMethod::kMerge;
  // >= 0. A singleton that failed is tested alone again this many times
  // before it is kicked. A singleton's failure in the main queue counts only
  // if the batch it was stacked on had passed; otherwise it is tested alone
  // first, without spending a retry. 1 keeps false kicks (good pull requests
  // kicked by flaky runs) near f^2 per bisected entry.
  int singleton_retries = 0;
  // Pretest (off by default). A pull request is first tested in isolation on
  // the target tip, in pretest batches formed like main batches
  // (target_batch_size, max_wait) that share the bisection slots
  // (bisection_concurrency). A pretest batch that fails is bisected like a
  // failed main batch (its culprit kicked only after failing alone). One that
  // passes lands at once when no main batch is testing; otherwise its entries
  // join the main queue at once. The main queue then stacks, apart from
  // `pretest_bypass` batches, only pull requests that passed alone, so a bad
  // pull request rarely enters the speculative chain, where its failure
  // rebuilds every batch behind it; the chain's throughput is no longer capped
  // near 1/p(bad) pull requests per CI duration. The price: a second run for
  // pull requests that pass their pretest while the main queue is busy.
  bool pretest = false;
  // With pretest on: how many of the main batches building or testing may
  // hold pull requests that have not passed alone (>= 0). Such batches skip
  // the pretest (one run fewer) and risk the batches stacked on them; 0
  // pretests everything that arrives while the main queue is busy.
  int pretest_bypass = 0;

  bool operator==(const QueueConfig&) const = default;
};

// Empty when the config is usable; otherwise what is wrong with it.
std::string Validate(const QueueConfig& config);

}  // namespace mergeyard::queue
