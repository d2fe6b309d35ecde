#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "temp_dir.h"

using namespace mergeyard;

namespace {

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `mergeyard <args>` with a clean environment plus `env` ("K=V K=V").
Run Mergeyard(const testing::TempDir& dir, const std::string& env, const std::string& args) {
  const char* binary = std::getenv("MERGEYARD_BINARY");
  REQUIRE_MESSAGE(binary != nullptr, "MERGEYARD_BINARY is not set");
  std::string cmd = "cd '" + dir.path() + "' && env -i " + env + " '" + binary + "' " + args +
                    " >'" + dir.File("out") + "' 2>'" + dir.File("err") + "'";
  int status = std::system(cmd.c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(dir.File("out"));
  r.err = Slurp(dir.File("err"));
  return r;
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("mergeyard migrate creates the data dir and database, then finds nothing to do") {
  testing::TempDir dir;
  std::string data = dir.File("data/nested");
  Run first = Mergeyard(dir, "MERGEYARD_DATA_DIR=" + data, "migrate");
  CAPTURE(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("applied 0001_init") != std::string::npos);
  REQUIRE(std::filesystem::exists(data + "/mergeyard.db"));
  {
    SQLite::Database db(data + "/mergeyard.db");
    CHECK(db.execAndGet("SELECT count(*) FROM schema_migrations WHERE name='0001_init'").getInt() ==
          1);
    CHECK(db.tableExists("queues"));
  }
  Run second = Mergeyard(dir, "MERGEYARD_DATA_DIR=" + data, "migrate");
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("applied") == std::string::npos);
  CHECK(second.out.find("up to date") != std::string::npos);
}

TEST_CASE("mergeyard migrate reads data_dir from --config") {
  testing::TempDir dir;
  std::ofstream(dir.File("my.yml")) << "data_dir: " << dir.File("from-config") << "\n";
  Run r = Mergeyard(dir, "", "migrate --config " + dir.File("my.yml"));
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(std::filesystem::exists(dir.File("from-config/mergeyard.db")));
}

TEST_CASE("mergeyard migrate without a config uses ./mergeyard-data") {
  testing::TempDir dir;
  Run r = Mergeyard(dir, "", "migrate");
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(std::filesystem::exists(dir.File("mergeyard-data/mergeyard.db")));
}

TEST_CASE("mergeyard migrate fails clearly on a bad configuration") {
  testing::TempDir dir;
  std::ofstream(dir.File("bad.yml")) << "data_dir: x\nlisten_on: 1\n";
  Run r = Mergeyard(dir, "", "migrate --config " + dir.File("bad.yml"));
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("bad.yml:2") != std::string::npos);
  CHECK(r.err.find("listen_on") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.File("x")));
}

TEST_CASE("mergeyard migrate refuses a database written by a newer mergeyard") {
  testing::TempDir dir;
  std::string data = dir.File("data");
  REQUIRE(Mergeyard(dir, "MERGEYARD_DATA_DIR=" + data, "migrate").exit_code == 0);
  {
    SQLite::Database db(data + "/mergeyard.db", SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO schema_migrations VALUES (9999, '9999_future', 0)");
  }
  Run r = Mergeyard(dir, "MERGEYARD_DATA_DIR=" + data, "migrate");
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("9999") != std::string::npos);
  CHECK(r.err.find("newer") != std::string::npos);
}

TEST_CASE("mergeyard migrate fails clearly when the data dir cannot be created") {
  testing::TempDir dir;
  std::ofstream(dir.File("file")) << "not a directory";
  Run r = Mergeyard(dir, "MERGEYARD_DATA_DIR=" + dir.File("file/sub"), "migrate");
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("file/sub") != std::string::npos);
}

}  // TEST_SUITE
