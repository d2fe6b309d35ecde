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
    CHECK_FALSE(*none);
    REQUIRE(index.Remember("o/r", 7, 1001).ok());
    REQUIRE(index.Remember("o/r", 8, 1002).ok());
  }
  auto db = OpenOrFail(dir.File("s.db"));
  SqliteStatusComments index(*db, clock);
  CHECK(**index.Find("o/r", 7) == 1001);
  CHECK_FALSE(*index.Find("o/other", 7));
  REQUIRE(index.Remember("o/r", 7, 2001).ok());  // a person deleted it; a new one was made
  CHECK(**index.Find("o/r", 7) == 2001);
  CHECK(**index.Find("o/r", 8) == 1002);
}

}  // TEST_SUITE
