#pragma once
// Tunables of the execution backend's core, each with its reason. Defaults
// follow the reference systems (BuildBuddy, Buildbarn) scaled to a merge queue.

#include <cstddef>
#include <string>

#include "base/duration.h"
#include "exec/core/sizing.h"

namespace mergeyard::exec::core {

struct BackendConfig {
  // An entry nobody waits for is cancelled after this long. Short: a rebuilt
  // batch re-asks within seconds when it still wants the same action
  // (Buildbarn uses 1 min for interactive clients).
  Duration no_waiter_grace = 15 * kSecond;
  // Lease renewal period and the grace after it (BuildBuddy: 10 s + 10 s).
  Duration lease_duration = 10 * kSecond;
  Duration lease_grace = 10 * kSecond;
  // Starts of one execution before it fails with an infrastructure error
  // (BuildBuddy: 5). Counts lease expiries and executor-side errors.
  int max_attempts = 5;
  // Hedging: at most max_hedges per entry (0 disables). A running primary is
  // hedged once it ran hedge_multiplier x its usual duration (hedge_default_after
  // before there is history, never sooner than hedge_min_after), or once more
  // than hedge_waiters waiters joined it (0 disables). Hedge k+1 waits
  // hedge_backoff x 2^k after hedge k.
  int max_hedges = 1;
  double hedge_multiplier = 3.0;
  Duration hedge_default_after = 20 * kMinute;
  Duration hedge_min_after = 10 * kSecond;
  Duration hedge_backoff = 1 * kMinute;
  int hedge_waiters = 16;
  // An executor silent this long (no poll, no renewal) is removed.
  Duration executor_ttl = 60 * kSecond;
  // Execution ids are id_prefix + a counter; the service makes the prefix
  // unique per process start so ids in the persistent cache never collide.
  std::string id_prefix = "e";
  // Finished executions kept for the API.
  std::size_t retained_executions = 20000;
  SizingConfig sizing;
};

}  // namespace mergeyard::exec::core
