#pragma once
// A small driver for queue::Step in unit tests: applies events at a virtual
// time and keeps the effects of the last step for inspection.

#include <algorithm>
#include <string>
#include <vector>

#include "queue/step.h"

namespace mergeyard::queue::testing {

// The unit tests' queue settings: max_wait 10 minutes, everything else given.
inline QueueConfig Config(int size, int concurrency = 1, int depth = 0, bool optimistic = false) {
  QueueConfig c;
  c.target_batch_size = size;
  c.max_wait = 10 * kMinute;
  c.concurrency = concurrency;
  c.pending_failure_depth = depth;
  c.optimistic_merging = optimistic;
  return c;
}

class Harness {
 public:
  explicit Harness(QueueConfig config = {}) {
    state.config = config;
    Apply(TargetMoved{"tip0"});
  }

  const std::vector<Effect>& Apply(const Event& e) {
    effects.clear();
    StepInPlace(state, e, now, effects);
    all.insert(all.end(), effects.begin(), effects.end());
    return effects;
  }

  void Enqueue(PrNumber pr, int priority = kPriorityNormal) {
    Apply(queue::Enqueue{pr, "head" + std::to_string(pr), priority});
  }

  template <class T>
  std::vector<T> Of() const {
    std::vector<T> out;
    for (const auto& e : effects)
      if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
    return out;
  }

  template <class T>
  std::vector<T> AllOf() const {
    std::vector<T> out;
    for (const auto& e : all)
      if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
    return out;
  }

  // Answers every BuildBatch of the last step with a clean build "c<id>".
  void BuildAll() {
    for (const auto& b : Of<BuildBatch>()) Apply(BatchBuilt{b.batch, "c" + std::to_string(b.batch), {}});
  }

  // Builds every batch asked for, repeatedly, until nothing more is asked.
  void BuildAllPending() {
    for (int i = 0; i < 20; ++i) {
      std::vector<BatchId> building;
      for (const auto& [id, b] : state.batches)
        if (b.state == BatchState::kBuilding) building.push_back(id);
      if (building.empty()) return;
      for (BatchId id : building) Apply(BatchBuilt{id, "c" + std::to_string(id), {}});
    }
  }

  std::vector<PrNumber> Outcome(ReportKind kind) const {
    std::vector<PrNumber> out;
    for (const auto& r : AllOf<Report>())
      if (r.kind == kind) out.push_back(r.pr);
    std::sort(out.begin(), out.end());
    return out;
  }

  const Batch& B(BatchId id) const { return state.batches.at(id); }

  State state;
  Time now = 0;
  std::vector<Effect> effects;
  std::vector<Effect> all;
};

}  // namespace mergeyard::queue::testing
