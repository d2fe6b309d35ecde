// The content store on a real directory: verified adoption, size limit and
// least-recently-used eviction, re-indexing after a restart.
#include "exec/content_store.h"

#include <doctest/doctest.h>

#include <fstream>

#include "exec_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec;
using namespace mergeyard::exec::testing;

TEST_SUITE("exec") {

TEST_CASE("content store: the least recently used blobs go first when the size limit is passed") {
  TempDir dir;
  ContentStore cas(dir.path + "/cas", 1000);
  REQUIRE(cas.Open());
  auto a = cas.Put(std::string(300, 'a'));
  auto b = cas.Put(std::string(300, 'b'));
  auto c = cas.Put(std::string(300, 'c'));
  REQUIRE((a && b && c));
  CHECK(cas.Has(*a));  // a is now more recent than b
  auto d = cas.Put(std::string(300, 'd'));  // 1200 > 1000: evict down to 900
  REQUIRE(d);
  CHECK(!cas.Has(*b));
  CHECK(cas.Has(*a));
  CHECK(cas.Has(*c));
  CHECK(cas.Has(*d));
  CHECK(cas.stats().bytes == 900);
  CHECK(cas.stats().evicted_blobs == 1);

  // A blob bigger than the limit is still stored: it is never its own victim.
  auto huge = cas.Put(std::string(2000, 'h'));
  REQUIRE(huge);
  CHECK(cas.Has(*huge));
}

TEST_CASE("content store: adoption verifies the SHA-256 and drops data that does not match") {
  TempDir dir;
  ContentStore cas(dir.path + "/cas");
  REQUIRE(cas.Open());
  std::string tmp = cas.NewTempPath();
  std::ofstream(tmp) << "payload";
  auto right = cas.Put("payload");
  REQUIRE(right);
  std::string other = cas.NewTempPath();
  std::ofstream(other) << "tampered";
  Status bad = cas.Adopt(other, *right, 7);
  REQUIRE(!bad);
  CHECK(bad.error().code == ErrorCode::kInvalid);
  CHECK(!std::filesystem::exists(other));
  CHECK(cas.Adopt(tmp, *right, 7));
  CHECK(*cas.Get(*right) == "payload");
  CHECK(*cas.Read(*right, 3, 2) == "lo");
  CHECK(!cas.Read(*right, 8, 0));
}

TEST_CASE("content store: a taken file is linked in, or nothing is written when its content is stored") {
  TempDir dir;
  ContentStore cas(dir.path + "/cas");
  REQUIRE(cas.Open());
  std::ofstream(dir.path + "/out") << "output";
  auto h = cas.TakeFile(dir.path + "/out");
  REQUIRE(h);
  CHECK(*cas.Get(*h) == "output");
  CHECK(std::filesystem::equivalent(dir.path + "/out", cas.PathOf(*h)));  // a hard link, no copy
  std::ofstream(dir.path + "/again") << "output";
  auto before = cas.stats();
  REQUIRE(cas.TakeFile(dir.path + "/again"));
  CHECK(cas.stats().blobs == before.blobs);
  CHECK(!std::filesystem::equivalent(dir.path + "/again", cas.PathOf(*h)));
  CHECK(*cas.TakeFile(dir.path + "/absent") == *cas.Put(""));
}

TEST_CASE("content store: a put file is copied, so writing to it later leaves the blob alone") {
  TempDir dir;
  ContentStore cas(dir.path + "/cas");
  REQUIRE(cas.Open());
  std::ofstream(dir.path + "/live.log") << "line 1\n";
  auto h = cas.PutFile(dir.path + "/live.log");
  REQUIRE(h);
  CHECK(!std::filesystem::equivalent(dir.path + "/live.log", cas.PathOf(*h)));
  std::ofstream(dir.path + "/live.log", std::ios::app) << "line 2\n";
  CHECK(*cas.Get(*h) == "line 1\n");
  auto blobs = cas.stats().blobs;
  std::ofstream(dir.path + "/same.log") << "line 1\n";
  // Known content writes nothing: with no room for temporary files it is
  // still stored (once), while new content cannot be.
  std::filesystem::remove_all(dir.path + "/cas/tmp");
  std::ofstream(dir.path + "/cas/tmp") << "not a directory";
  auto same = cas.PutFile(dir.path + "/same.log");
  REQUIRE(same);
  CHECK(*same == *h);
  CHECK(cas.stats().blobs == blobs);
  std::ofstream(dir.path + "/new.log") << "line 3\n";
  CHECK(!cas.PutFile(dir.path + "/new.log"));
  std::filesystem::remove(dir.path + "/cas/tmp");
  std::filesystem::create_directories(dir.path + "/cas/tmp");
  CHECK(*cas.PutFile(dir.path + "/absent.log") == *cas.Put(""));
}

TEST_CASE("content store: a reopened store knows its blobs and their sizes") {
  TempDir dir;
  std::string hash;
  {
    ContentStore cas(dir.path + "/cas");
    REQUIRE(cas.Open());
    hash = *cas.Put("kept");
    std::ofstream(cas.NewTempPath()) << "half-written";
  }
  ContentStore again(dir.path + "/cas", 1 << 20);
  REQUIRE(again.Open());
  CHECK(again.stats().blobs == 1);
  CHECK(again.SizeOf(hash) == 4);
  CHECK(std::filesystem::is_empty(dir.path + "/cas/tmp"));
  CHECK(again.SizesOf({hash, std::string(64, 'a'), "bad"}) ==
        std::vector<std::optional<std::int64_t>>{4, std::nullopt, std::nullopt});
}

}  // TEST_SUITE
