#include "bisect/split.h"

#include <cassert>
#include <cstddef>

namespace mergeyard::bisect {

std::pair<Items, Items> BinarySplit(const Items& failed) {
  assert(failed.size() >= 2);
  std::size_t left = (failed.size() + 1) / 2;
  return {Items(failed.begin(), failed.begin() + left), Items(failed.begin() + left, failed.end())};
}

int WorstCaseRunsForOneCulprit(int n) {
  int depth = 0;
  while ((1 << depth) < n) ++depth;
  return 1 + 2 * depth;
}

}  // namespace mergeyard::bisect
