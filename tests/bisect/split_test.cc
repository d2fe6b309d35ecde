#include <doctest/doctest.h>

#include "bisect/split.h"

using namespace mergeyard::bisect;

TEST_SUITE("bisect") {
TEST_CASE("a failed batch splits into its first ceil(n/2) entries and the rest, in order") {
  auto [l, r] = BinarySplit({1, 2, 3, 4, 5});
  CHECK(l == Items{1, 2, 3});
  CHECK(r == Items{4, 5});
  auto [l2, r2] = BinarySplit({8, 9});
  CHECK(l2 == Items{8});
  CHECK(r2 == Items{9});
}

TEST_CASE("finding one culprit costs 1 + 2 log2 n runs in the worst case") {
  CHECK(WorstCaseRunsForOneCulprit(1) == 1);
  CHECK(WorstCaseRunsForOneCulprit(8) == 7);
  CHECK(WorstCaseRunsForOneCulprit(6) == 7);
}
}
