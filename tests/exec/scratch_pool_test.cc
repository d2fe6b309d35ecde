// Reused scratch directories on a real file system: what a borrower finds,
// what the next one finds after Release, and what is never reused.
#include "exec/scratch_pool.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "exec_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec;
using namespace mergeyard::exec::testing;
namespace fs = std::filesystem;

namespace {

ino_t Inode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

TEST_SUITE("exec") {

TEST_CASE("scratch pool: a released directory comes back emptied, keeping its empty top-level names") {
  TempDir tmp;
  ScratchPool pool(tmp.path + "/scratch", "slot-");
  auto dir = pool.Acquire();
  REQUIRE(dir);
  CHECK(fs::is_empty(*dir));
  fs::create_directories(*dir + "/root/src/deep");
  std::ofstream(*dir + "/root/src/deep/file") << "input";
  std::ofstream(*dir + "/stdout");                   // empty: kept, so no new inode next time
  std::ofstream(*dir + "/stderr") << "some output";  // not empty: removed
  const ino_t stdout_inode = Inode(*dir + "/stdout");
  fs::permissions(*dir + "/root/src", fs::perms::owner_read | fs::perms::owner_exec);  // a step took write away
  pool.Release(*dir);

  auto again = pool.Acquire();
  REQUIRE(again);
  CHECK(*again == *dir);
  CHECK(fs::is_directory(*again + "/root"));
  CHECK(fs::is_empty(*again + "/root"));
  CHECK(Inode(*again + "/stdout") == stdout_inode);
  CHECK(fs::file_size(*again + "/stdout") == 0);
  CHECK(!fs::exists(*again + "/stderr"));
}

TEST_CASE("scratch pool: an empty file linked elsewhere is not kept, and borrowers never share a directory") {
  TempDir tmp;
  ScratchPool pool(tmp.path + "/scratch", "slot-");
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a != *b);
  std::ofstream(*a + "/stdout");
  REQUIRE(link((*a + "/stdout").c_str(), (tmp.path + "/stored-blob").c_str()) == 0);  // as a content store takes it
  pool.Release(*a);
  CHECK(!fs::exists(*a + "/stdout"));  // writing to it later would change the stored blob
  CHECK(fs::exists(tmp.path + "/stored-blob"));
  auto c = pool.Acquire();
  REQUIRE(c);
  CHECK(*c == *a);
  CHECK(fs::is_empty(*c));
}

TEST_CASE("scratch pool: what an earlier process left under a slot's name is emptied before use") {
  TempDir tmp;
  fs::create_directories(tmp.path + "/scratch/slot-0/root/left");
  std::ofstream(tmp.path + "/scratch/slot-0/root/left/over") << "stale";
  std::ofstream(tmp.path + "/scratch/slot-0/stdout") << "stale";
  ScratchPool pool(tmp.path + "/scratch", "slot-");
  auto dir = pool.Acquire();
  REQUIRE(dir);
  CHECK(*dir == tmp.path + "/scratch/slot-0");
  CHECK(!fs::exists(*dir + "/stdout"));
  CHECK(fs::is_empty(*dir + "/root"));
}

TEST_CASE("RemoveTree removes a tree whose directories a step made read-only, and is quiet when it is absent") {
  TempDir tmp;
  fs::create_directories(tmp.path + "/t/a/b");
  std::ofstream(tmp.path + "/t/a/b/f") << "x";
  fs::permissions(tmp.path + "/t/a", fs::perms::owner_read | fs::perms::owner_exec);
  RemoveTree(tmp.path + "/t");
  CHECK(!fs::exists(tmp.path + "/t"));
  RemoveTree(tmp.path + "/t");
}

}  // TEST_SUITE
