#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "base/clock.h"
#include "store/database.h"
#include "store/forge_repo_store.h"
#include "open_db.h"
#include "temp_dir.h"

using namespace mergeyard;
using namespace mergeyard::store;
using mergeyard::testing::OpenOrFail;

namespace {

std::vector<ForgeRepoRow> LoadOrFail(ForgeRepoStore& store) {
  auto rows = store.LoadAll();
  REQUIRE_MESSAGE(rows.ok(), (rows.ok() ? "" : rows.error().ToString()));
  return *rows;
}

}  // namespace

TEST_SUITE("store") {

TEST_CASE("a new database knows no repository's forge") {
  testing::TempDir dir;
  ManualClock clock(1'700'000'000'000);
  auto db = OpenOrFail(dir.File("m.db"));
  ForgeRepoStore store(*db, clock);
  CHECK(LoadOrFail(store).empty());
}

TEST_CASE("saved forges survive closing the database; a second save of a repository replaces its row") {
  testing::TempDir dir;
  ManualClock clock(1'700'000'000'000);
  {
    auto db = OpenOrFail(dir.File("m.db"));
    ForgeRepoStore store(*db, clock);
    REQUIRE(store.Save("acme/widgets", "github", 0).ok());
    REQUIRE(store.Save("group/sub/tool", "gitlab", 0).ok());
    clock.Set(1'700'000'005'000);
    REQUIRE(store.Save("acme/widgets", "github", 4242).ok());  // the App's installation became known
  }
  auto db = OpenOrFail(dir.File("m.db"));
  ForgeRepoStore store(*db, clock);
  auto rows = LoadOrFail(store);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].repo == "acme/widgets");
  CHECK(rows[0].forge == "github");
  CHECK(rows[0].installation_id == 4242);
  CHECK(rows[1].repo == "group/sub/tool");
  CHECK(rows[1].forge == "gitlab");
  CHECK(rows[1].installation_id == 0);
  // One row per repository, stamped with the time of its last save.
  SQLite::Statement q(db->sql(), "SELECT count(*), max(updated_at) FROM forge_repos WHERE repo = 'acme/widgets'");
  REQUIRE(q.executeStep());
  CHECK(q.getColumn(0).getInt() == 1);
  CHECK(q.getColumn(1).getInt64() == 1'700'000'005'000);

  SUBCASE("a repository that moved to another forge loses its old installation id") {
    REQUIRE(store.Save("acme/widgets", "gitea", 0).ok());
    auto moved = LoadOrFail(store);
    REQUIRE(moved.size() == 2);
    CHECK(moved[0].forge == "gitea");
    CHECK(moved[0].installation_id == 0);
  }
}

TEST_CASE("a broken forge_repos table is an internal error, not a crash") {
  testing::TempDir dir;
  ManualClock clock(0);
  auto db = OpenOrFail(dir.File("m.db"));
  db->sql().exec("DROP TABLE forge_repos");
  ForgeRepoStore store(*db, clock);
  auto rows = store.LoadAll();
  REQUIRE_FALSE(rows.ok());
  CHECK(rows.error().code == ErrorCode::kInternal);
  Status saved = store.Save("acme/widgets", "github", 0);
  REQUIRE_FALSE(saved.ok());
  CHECK(saved.error().code == ErrorCode::kInternal);
  CHECK(saved.error().message.find("acme/widgets") != std::string::npos);
}

}  // TEST_SUITE
