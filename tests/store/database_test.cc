#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "store/database.h"
#include "store/migrator.h"
#include "temp_dir.h"

using namespace mergeyard;
using namespace mergeyard::store;

namespace {

int Count(SQLite::Database& db, const std::string& sql) {
  return db.execAndGet(sql).getInt();
}

bool HasTable(SQLite::Database& db, const std::string& name) {
  SQLite::Statement q(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?");
  q.bind(1, name);
  q.executeStep();
  return q.getColumn(0).getInt() == 1;
}

std::vector<Migration> WithExtra(Migration extra) {
  std::vector<Migration> all = EmbeddedMigrations();
  all.push_back(std::move(extra));
  return all;
}

}  // namespace

TEST_SUITE("store") {

TEST_CASE("opening a new file creates the schema and records every migration") {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("m.db"));
  REQUIRE_MESSAGE(db.ok(), (db.ok() ? "" : db.error().ToString()));
  SQLite::Database& sql = (*db)->sql();
  for (const char* table : {"queues", "outbox", "history", "schema_migrations"}) {
    CHECK_MESSAGE(HasTable(sql, table), table);
  }
  CHECK(Count(sql, "SELECT count(*) FROM schema_migrations") ==
        static_cast<int>(EmbeddedMigrations().size()));
  CHECK((*db)->applied_on_open().front() == "0001_init");
  CHECK((*db)->path() == dir.File("m.db"));
  SQLite::Statement row(sql, "SELECT version, name, applied_at FROM schema_migrations "
                             "ORDER BY version LIMIT 1");
  REQUIRE(row.executeStep());
  CHECK(row.getColumn(0).getInt() == 1);
  CHECK(row.getColumn(1).getString() == "0001_init");
  CHECK(row.getColumn(2).getInt64() > 1700000000000LL);  // milliseconds since the epoch
}

TEST_CASE("the connection uses WAL, full sync, foreign keys and a 5 s busy timeout") {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("p.db"));
  REQUIRE(db.ok());
  SQLite::Database& sql = (*db)->sql();
  CHECK(sql.execAndGet("PRAGMA journal_mode").getString() == "wal");
  CHECK(Count(sql, "PRAGMA synchronous") == 2);  // FULL
  CHECK(Count(sql, "PRAGMA foreign_keys") == 1);
  CHECK(Count(sql, "PRAGMA busy_timeout") == 5000);
}

TEST_CASE("reopening a migrated file applies nothing and keeps the data") {
  testing::TempDir dir;
  {
    auto db = Database::Open(dir.File("r.db"));
    REQUIRE(db.ok());
    (*db)->sql().exec("INSERT INTO queues VALUES ('o/r', 'main', '{}', 1)");
  }
  auto again = Database::Open(dir.File("r.db"));
  REQUIRE(again.ok());
  CHECK((*again)->applied_on_open().empty());
  CHECK(Count((*again)->sql(), "SELECT count(*) FROM queues") == 1);
}

TEST_CASE("an in-memory database can be opened") {
  auto db = Database::Open(":memory:");
  REQUIRE(db.ok());
  CHECK(HasTable((*db)->sql(), "outbox"));
}

TEST_CASE("a file that cannot be opened is an internal error naming the path") {
  auto db = Database::Open("/nonexistent-dir/for/sure/x.db");
  REQUIRE_FALSE(db.ok());
  CHECK(db.error().code == ErrorCode::kInternal);
  CHECK(db.error().message.find("/nonexistent-dir/for/sure/x.db") != std::string::npos);
}

TEST_CASE("a failing migration leaves the database exactly as it was") {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("b.db"));
  REQUIRE(db.ok());
  SQLite::Database& sql = (*db)->sql();
  sql.exec("INSERT INTO queues VALUES ('o/r', 'main', '{\"v\":1}', 1)");
  Migration broken{99, "0099_broken",
                   "CREATE TABLE half_done (x INTEGER);\n"
                   "UPDATE queues SET state_json = 'clobbered';\n"
                   "INSERT INTO no_such_table VALUES (1);\n"};
  auto applied = ApplyMigrations(sql, WithExtra(broken), 1);
  REQUIRE_FALSE(applied.ok());
  CHECK(applied.error().code == ErrorCode::kInternal);
  CHECK(applied.error().message.find("0099_broken") != std::string::npos);
  CHECK(applied.error().message.find("no_such_table") != std::string::npos);
  CHECK_FALSE(HasTable(sql, "half_done"));
  CHECK(sql.execAndGet("SELECT state_json FROM queues").getString() == "{\"v\":1}");
  CHECK(Count(sql, "SELECT count(*) FROM schema_migrations WHERE version = 99") == 0);
  // The database is still usable and a fixed migration applies afterwards.
  Migration fixed{99, "0099_fixed", "CREATE TABLE half_done (x INTEGER);"};
  auto retry = ApplyMigrations(sql, WithExtra(fixed), 2);
  REQUIRE(retry.ok());
  REQUIRE(retry->size() == 1);
  CHECK(HasTable(sql, "half_done"));
}

TEST_CASE("migrations before a failing one stay applied, those after it do not") {
  auto db = Database::OpenWith(":memory:", {});
  REQUIRE(db.ok());
  SQLite::Database& sql = (*db)->sql();
  std::vector<Migration> list = {{1, "0001_a", "CREATE TABLE a (x);"},
                                 {2, "0002_b", "CREATE TABLE a (y);"},
                                 {3, "0003_c", "CREATE TABLE c (z);"}};
  auto applied = ApplyMigrations(sql, list, 5);
  REQUIRE_FALSE(applied.ok());
  CHECK(applied.error().message.find("0002_b") != std::string::npos);
  auto versions = AppliedVersions(sql);
  REQUIRE(versions.ok());
  CHECK(*versions == std::vector<int>{1});
  CHECK_FALSE(HasTable(sql, "c"));
}

TEST_CASE("a failing migration makes Open fail with the migration's name") {
  testing::TempDir dir;
  auto db = Database::OpenWith(dir.File("f.db"),
                               WithExtra({7, "0007_bad", "CREATE TABLE queues (x);"}));
  REQUIRE_FALSE(db.ok());
  CHECK(db.error().code == ErrorCode::kInternal);
  CHECK(db.error().message.find("0007_bad") != std::string::npos);
  // Migration 0001 committed before 0007 failed.
  auto reopened = Database::Open(dir.File("f.db"));
  REQUIRE(reopened.ok());
  CHECK(reopened.value()->applied_on_open().empty());
}

TEST_CASE("two connections opening a new file at once apply each migration once") {
  for (int round = 0; round < 5; ++round) {
    testing::TempDir dir;
    Result<std::unique_ptr<Database>> a = Internal("not run"), b = Internal("not run");
    std::thread ta([&] { a = Database::Open(dir.File("race.db")); });
    std::thread tb([&] { b = Database::Open(dir.File("race.db")); });
    ta.join();
    tb.join();
    REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.error().ToString()));
    REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.error().ToString()));
    CHECK((*a)->applied_on_open().size() + (*b)->applied_on_open().size() ==
          EmbeddedMigrations().size());
    CHECK(Count((*a)->sql(), "SELECT count(*) FROM schema_migrations") ==
          static_cast<int>(EmbeddedMigrations().size()));
  }
}

TEST_CASE("a database whose schema is newer than the binary is refused") {
  testing::TempDir dir;
  {
    auto newer = Database::OpenWith(dir.File("n.db"),
                                    WithExtra({9999, "9999_future", "CREATE TABLE future (x);"}));
    REQUIRE(newer.ok());
  }
  auto db = Database::Open(dir.File("n.db"));
  REQUIRE_FALSE(db.ok());
  CHECK(db.error().code == ErrorCode::kInternal);
  CHECK(db.error().message.find("9999") != std::string::npos);
  CHECK(db.error().message.find("newer") != std::string::npos);
}

TEST_CASE("migrations out of order are rejected before anything runs") {
  auto db = Database::OpenWith(":memory:", {});
  REQUIRE(db.ok());
  std::vector<Migration> list = {{2, "0002_b", "CREATE TABLE b (x);"},
                                 {1, "0001_a", "CREATE TABLE a (x);"}};
  auto applied = ApplyMigrations((*db)->sql(), list, 1);
  REQUIRE_FALSE(applied.ok());
  CHECK(applied.error().code == ErrorCode::kInvalid);
  CHECK_FALSE(HasTable((*db)->sql(), "b"));
}

TEST_CASE("the embedded migrations are exactly the files of migrations/, in order") {
  const char* root = std::getenv("MERGEYARD_SOURCE_ROOT");
  REQUIRE_MESSAGE(root != nullptr, "MERGEYARD_SOURCE_ROOT is not set");
  std::set<std::string> on_disk;
  for (const auto& f : std::filesystem::directory_iterator(std::string(root) + "/migrations")) {
    if (f.path().extension() == ".sql") on_disk.insert(f.path().stem().string());
  }
  std::set<std::string> embedded;
  int last = 0;
  for (const Migration& m : EmbeddedMigrations()) {
    CHECK(m.version > last);
    last = m.version;
    CHECK(std::regex_match(m.name, std::regex("[0-9]{4}_[a-z0-9_]+")));
    CHECK(std::stoi(m.name.substr(0, 4)) == m.version);
    CHECK_FALSE(m.sql.empty());
    embedded.insert(m.name);
  }
  CHECK_MESSAGE(on_disk == embedded,
                "list every migrations/*.sql in migration_sql of src/store/meson.build");
}

}  // TEST_SUITE
