#pragma once
// Bisection policy (DESIGN.md rule 7), pure. A failed batch of n > 1 entries
// is split into its first ceil(n/2) entries and the rest; both halves are
// tested in isolation. A failing singleton is the culprit.

#include <cstdint>
#include <utility>
#include <vector>

namespace mergeyard::bisect {

using Items = std::vector<std::int64_t>;

// Returns {first ceil(n/2), rest}, keeping order. REQUIRES: failed.size() >= 2.
std::pair<Items, Items> BinarySplit(const Items& failed);

// Runs a binary bisection needs, in the worst case, to isolate one culprit
// among n entries when both halves of every failing node are tested:
// 1 (the batch) + 2 * ceil(log2 n). For n == 1 it is 1.
int WorstCaseRunsForOneCulprit(int n);

}  // namespace mergeyard::bisect
