// store::SqliteVerdictCache: passing CI verdicts by (repository, tree, set of
// required checks), on a real SQLite file.
#include <doctest/doctest.h>

#include "base/clock.h"
#include "store/database.h"
#include "store/sqlite_verdict_cache.h"
#include "open_db.h"
#include "temp_dir.h"

using namespace mergeyard;
using namespace mergeyard::store;
using mergeyard::testing::OpenOrFail;

TEST_SUITE("store") {

TEST_CASE("a verdict is found for the same tree and set of checks, in any order, after a reopen") {
  testing::TempDir dir;
  ManualClock clock(1'700'000'000'000);
  {
    auto db = OpenOrFail(dir.File("v.db"));
    SqliteVerdictCache cache(*db, clock);
    CHECK(cache.Find("o/r", "t1", {"build"}).error().code == ErrorCode::kNotFound);
    engine::CachedVerdict v{"c1", {{"build", "https://ci/b/1"}, {"test", "https://ci/t/1"}}};
    REQUIRE(cache.Put("o/r", "t1", {"test", "build"}, v).ok());
  }
  auto db = OpenOrFail(dir.File("v.db"));
  SqliteVerdictCache cache(*db, clock);
  auto found = cache.Find("o/r", "t1", {"build", "test"});
  REQUIRE(found.ok());
  CHECK(found->commit == "c1");
  CHECK(found->links.at("test") == "https://ci/t/1");
  // Another set of checks, tree or repository is another question.
  CHECK_FALSE(cache.Find("o/r", "t1", {"build"}).ok());
  CHECK_FALSE(cache.Find("o/r", "t2", {"build", "test"}).ok());
  CHECK_FALSE(cache.Find("o/other", "t1", {"build", "test"}).ok());
}

TEST_CASE("a later pass of the same tree and checks replaces the earlier one") {
  testing::TempDir dir;
  ManualClock clock(1'700'000'000'000);
  auto db = OpenOrFail(dir.File("v.db"));
  SqliteVerdictCache cache(*db, clock);
  REQUIRE(cache.Put("o/r", "t1", {"build"}, {"c1", {{"build", "u1"}}}).ok());
  REQUIRE(cache.Put("o/r", "t1", {"build"}, {"c2", {{"build", "u2"}}}).ok());
  auto found = cache.Find("o/r", "t1", {"build"});
  REQUIRE(found.ok());
  CHECK(found->commit == "c2");
  CHECK(found->links.at("build") == "u2");
}

}  // TEST_SUITE
