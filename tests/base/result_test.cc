#include <doctest/doctest.h>

#include "base/result.h"

using namespace mergeyard;

TEST_SUITE("base") {
TEST_CASE("a result holds either a value or an error") {
  Result<int> good = 7;
  CHECK(good.ok());
  CHECK(*good == 7);
  Result<int> bad = Conflict("target moved");
  CHECK_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kConflict);
  CHECK(bad.error().ToString() == "conflict: target moved");
}

TEST_CASE("a status is ok by default and carries the error otherwise") {
  Status s = Ok();
  CHECK(s.ok());
  Status f = Transient("busy");
  CHECK_FALSE(f.ok());
  CHECK(f.error().message == "busy");
}
}
