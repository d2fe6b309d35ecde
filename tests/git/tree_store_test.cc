// TreeStore: the raw tree objects the batch merge reads and writes. What it
// writes must be exactly what git would write (same bytes, same id), readable
// by git, whichever way it is compressed.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "git/handles.h"
#include "git/tree_store.h"
#include "test_repo.h"

namespace mergeyard::git {
namespace {

using testing::Quote;
using testing::Repo;

git_oid FromHex(const std::string& hex) {
  git_oid id;
  REQUIRE(git_oid_fromstr(&id, hex.c_str()) == 0);
  return id;
}

std::string ToHex(const git_oid& id) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof(hex), &id);
  return hex;
}

struct Opened {
  Repo repo;
  RepoPtr handle;
  std::unique_ptr<TreeStore> store;
  std::string blob;  // a blob in the repository, for tree entries

  Opened() {
    EnsureLibgit2();
    repo.Write("seed", "seed\n");
    repo.Commit("seed");
    blob = repo.Git("rev-parse HEAD:seed");
    git_repository* raw = nullptr;
    REQUIRE(git_repository_open(&raw, repo.path().c_str()) == 0);
    handle.reset(raw);
    auto s = TreeStore::Open(handle.get());
    REQUIRE(s.ok());
    store = std::move(*s);
  }

  // A tree body with `n` entries named n00000... (git order), all `blob`.
  std::string TreeBytes(int n) const {
    std::string bytes;
    git_oid id = FromHex(blob);
    for (int i = 0; i < n; ++i) {
      char name[16];
      std::snprintf(name, sizeof(name), "n%05d", i);
      AppendTreeEntry(&bytes, name, GIT_FILEMODE_BLOB, id);
    }
    return bytes;
  }

  // The id git gives these bytes as a tree.
  std::string GitTreeId(const std::string& bytes) const {
    std::string file = repo.path() + "/.git/tree-bytes";
    std::ofstream(file, std::ios::binary) << bytes;
    return repo.Git("hash-object -t tree " + Quote(file));
  }

  std::string LoosePath(const std::string& hex) const {
    return repo.path() + "/.git/objects/" + hex.substr(0, 2) + "/" + hex.substr(2);
  }
};

TEST_SUITE("git") {

TEST_CASE("a large tree is written as git would write it, stored uncompressed, and read back") {
  Opened o;
  std::string bytes = o.TreeBytes(3000);
  REQUIRE(bytes.size() >= TreeStore::kLargeTree);
  auto id = o.store->Write(bytes);
  REQUIRE(id.ok());
  std::string hex = ToHex(*id);
  CHECK(hex == o.GitTreeId(bytes));
  CHECK(o.repo.Git("cat-file -t " + hex) == "tree");
  CHECK(o.repo.Git("ls-tree " + hex + " | wc -l") == "3000");
  CHECK(o.repo.Git("ls-tree " + hex + " | tail -1") == "100644 blob " + o.blob + "\tn02999");
  // A valid loose object, its zlib stream stored rather than deflated.
  struct stat st;
  REQUIRE(::stat(o.LoosePath(hex).c_str(), &st) == 0);
  CHECK(static_cast<size_t>(st.st_size) > bytes.size());
  CHECK((st.st_mode & 0777) == 0444);
  o.repo.Git("fsck --strict --no-dangling 2>&1");
  // Writing it again is harmless; reading gives the bytes back.
  auto again = o.store->Write(bytes);
  REQUIRE(again.ok());
  CHECK(git_oid_equal(&*again, &*id));
  auto read = o.store->Read(*id);
  REQUIRE(read.ok());
  CHECK((*read)->bytes() == bytes);
}

TEST_CASE("a small tree goes through libgit2 and gets git's id too") {
  Opened o;
  std::string bytes = o.TreeBytes(3);
  auto id = o.store->Write(bytes);
  REQUIRE(id.ok());
  CHECK(ToHex(*id) == o.GitTreeId(bytes));
  CHECK(o.repo.Git("ls-tree --name-only " + ToHex(*id)) == "n00000\nn00001\nn00002");
}

TEST_CASE("trees are read from the repository once and come back the same") {
  Opened o;
  std::string tree = o.repo.Git("rev-parse HEAD^{tree}");
  auto first = o.store->Read(FromHex(tree));
  REQUIRE(first.ok());
  auto second = o.store->Read(FromHex(tree));
  REQUIRE(second.ok());
  CHECK(first->get() == second->get());  // kept, not read again
  CHECK((*first)->bytes().size() == std::string("100644 seed").size() + 1 + GIT_OID_RAWSZ);
  REQUIRE((*first)->Index());
  CHECK((*first)->starts() == std::vector<size_t>{0, (*first)->bytes().size()});
  CHECK((*first)->canonical());
}

TEST_CASE("reading something that is not a tree, or nothing, is an error") {
  Opened o;
  auto blob = o.store->Read(FromHex(o.blob));
  REQUIRE_FALSE(blob.ok());
  CHECK(blob.error().message.find("not a tree") != std::string::npos);
  auto missing = o.store->Read(FromHex("1234567890123456789012345678901234567890"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
}

TEST_CASE("tree entries parse to the modes git means, and say when git would spell them otherwise") {
  git_oid id = FromHex("0123456789abcdef0123456789abcdef01234567");
  std::string raw(reinterpret_cast<const char*>(id.id), GIT_OID_RAWSZ);
  struct Case {
    std::string mode;
    git_filemode_t means;
    bool canonical;
  };
  for (const Case& c : std::vector<Case>{{"100644", GIT_FILEMODE_BLOB, true},
                                         {"100755", GIT_FILEMODE_BLOB_EXECUTABLE, true},
                                         {"40000", GIT_FILEMODE_TREE, true},
                                         {"120000", GIT_FILEMODE_LINK, true},
                                         {"160000", GIT_FILEMODE_COMMIT, true},
                                         {"100664", GIT_FILEMODE_BLOB, false},
                                         {"100775", GIT_FILEMODE_BLOB_EXECUTABLE, false},
                                         {"040000", GIT_FILEMODE_TREE, false}}) {
    INFO("mode " << c.mode);
    std::string bytes = c.mode + " name" + std::string(1, '\0') + raw + "trailing";
    TreeEntry e;
    REQUIRE(ParseTreeEntry(bytes, &e));
    CHECK(e.name == "name");
    CHECK(e.mode == c.means);
    CHECK(git_oid_equal(&e.id, &id));
    CHECK(e.size == bytes.size() - std::string("trailing").size());
    CHECK(e.canonical == c.canonical);
  }
  TreeEntry e;
  CHECK_FALSE(ParseTreeEntry("", &e));
  CHECK_FALSE(ParseTreeEntry("100644name" + std::string(1, '\0') + raw, &e));   // no space
  CHECK_FALSE(ParseTreeEntry("100644 name", &e));                                // no NUL
  CHECK_FALSE(ParseTreeEntry("100644 name" + std::string(1, '\0') + "short", &e));
  CHECK_FALSE(ParseTreeEntry("1o0644 name" + std::string(1, '\0') + raw, &e));  // not octal
}

}  // TEST_SUITE

}  // namespace
}  // namespace mergeyard::git
