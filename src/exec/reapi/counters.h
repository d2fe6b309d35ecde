#pragma once
// What the REAPI server counts, for /metrics and the dashboard. Bytes in and
// out of the CAS are the content store's own counters (ContentStore::Stats).

#include <atomic>
#include <cstdint>

namespace mergeyard::exec::reapi {

struct Counters {
  std::atomic<std::uint64_t> executes{0};         // Execute calls accepted
  std::atomic<std::uint64_t> cache_hits{0};       // ... answered from the action cache
  std::atomic<std::uint64_t> merged{0};           // ... that joined an execution in flight
  std::atomic<std::uint64_t> executed{0};         // ... that started an execution
  std::atomic<std::uint64_t> hedged{0};           // executions that were hedged
  std::atomic<std::uint64_t> missing_inputs{0};   // Execute refused: inputs not in the CAS
  std::atomic<std::uint64_t> cancelled{0};        // Execute calls whose caller went away
  std::atomic<std::uint64_t> ac_hits{0}, ac_misses{0}, ac_updates{0};  // ActionCache service
  std::atomic<std::uint64_t> unauthenticated{0};
};

}  // namespace mergeyard::exec::reapi
