// store::SqliteStatusComments: the status comment of each pull request, on a
// real SQLite file.
#include <doctest/doctest.h>

#include "base/clock.h"
#include "store/sqlite_status_comments.h"
#include "open_db.h"
#include "temp_dir.h"

using namespace mergeyard;
using namespace mergeyard::store;
using mergeyard::testing::OpenOrFail;

TEST_SUITE("store") {

TEST_CASE("a pull request's status comment is found after a reopen, and a new one replaces it") {
  testing::TempDir dir;
  ManualClock clock(1'700'000'000'000);
  {
    auto db = OpenOrFail(dir.File("s.db"));
    SqliteStatusComments index(*db, clock);
    auto none = index.Find("o/r", 7);
    REQUIRE(none.ok());
    REQUIRE(*none);
    CHECK(**none == 0);  // a new installation: no row means no comment
    REQUIRE(index.Remember("o/r", 7, 1001).ok());
    REQUIRE(index.Remember("o/r", 8, 1002).ok());
  }
  auto db = OpenOrFail(dir.File("s.db"));
  SqliteStatusComments index(*db, clock);
  CHECK(**index.Find("o/r", 7) == 1001);
  CHECK(**index.Find("o/other", 7) == 0);
  REQUIRE(index.Remember("o/r", 7, 2001).ok());  // a person deleted it; a new one was made
  CHECK(**index.Find("o/r", 7) == 2001);
  CHECK(**index.Find("o/r", 8) == 1002);
}

TEST_CASE("in a database that reported before the index existed, no row means not known") {
  testing::TempDir dir;
  ManualClock clock(1'700'000'000'000);
  auto db = OpenOrFail(dir.File("s.db"));
  // As if upgraded: the coverage an older database gets from migration 0006.
  db->sql().exec("UPDATE status_comments_coverage SET complete = 0");
  SqliteStatusComments index(*db, clock);
  auto unknown = index.Find("o/r", 7);
  REQUIRE(unknown.ok());
  CHECK_FALSE(*unknown);
  REQUIRE(index.Remember("o/r", 7, 0).ok());  // looked: none
  CHECK(**index.Find("o/r", 7) == 0);
}

}  // TEST_SUITE
