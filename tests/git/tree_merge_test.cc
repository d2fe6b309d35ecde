// The batch merge builds exactly the trees `git merge-tree --write-tree`
// builds for the same merges, for every shape of change.

#include <doctest/doctest.h>

#include "git/batch_builder.h"
#include "test_repo.h"

namespace mergeyard::git {
namespace {

using testing::Lines;
using testing::ReferenceMerge;
using testing::Repo;

// Builds base + refs with mergeyard and with git; requires the same tree, the
// same merged refs and the same conflicting refs (with their paths).
BatchCommit ExpectSameAsGit(const Repo& repo, const std::string& base,
                            const std::vector<std::string>& refs, bool compare_paths = true) {
  BatchSpec spec;
  spec.base = base;
  for (const auto& r : refs) spec.parts.push_back({r, 0, r});
  spec.now = 1700000000000;
  auto built = BuildBatchAt(repo.path(), spec);
  REQUIRE_MESSAGE(built.ok(), (built.ok() ? "" : built.error().ToString()));
  auto ref = ReferenceMerge(repo, base, refs);
  CHECK(built->tree == ref.tree);
  CHECK(built->merged == ref.merged);
  REQUIRE(built->conflicts.size() == ref.conflicts.size());
  for (size_t i = 0; i < ref.conflicts.size(); ++i) {
    CHECK(built->conflicts[i].label == ref.conflicts[i].first);
    if (compare_paths) {
      std::set<std::string> ours(built->conflicts[i].paths.begin(), built->conflicts[i].paths.end());
      auto join = [](const std::set<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += x + " ";
        return s;
      };
      // merge-ort moves a file that meets a directory aside to "path~<side>";
      // mergeyard names the path itself.
      std::set<std::string> theirs;
      for (std::string x : ref.conflicts[i].second) {
        if (auto at = x.rfind('~' + ref.conflicts[i].first); at != std::string::npos) x.resize(at);
        theirs.insert(x);
      }
      INFO("mergeyard: " << join(ours) << "| git: " << join(theirs));
      CHECK(ours == theirs);
    }
  }
  // The batch commit's tree is what the repository holds.
  CHECK(repo.Git("rev-parse " + built->commit + "^{tree}") == built->tree);
  return *built;
}

// base: a small project with nested directories.
void MakeBase(const Repo& repo) {
  repo.Write("README", "hello\n");
  repo.Write("a.txt", Lines(20));
  repo.Write("b.txt", "bee\n");
  repo.Write("src/lib/core.c", Lines(30));
  repo.Write("src/lib/util.c", Lines(10));
  repo.Write("src/main.c", Lines(5));
  repo.Write("docs/guide.md", Lines(40));
  repo.Commit("base");
}

void Branch(const Repo& repo, const std::string& name,
            const std::vector<std::pair<std::string, std::string>>& writes,
            const std::vector<std::string>& removes = {}) {
  repo.BranchCommit(name, "main", writes, removes, name);
}

TEST_SUITE("git") {

TEST_CASE("clean pull requests touching different files merge like git merge-tree") {
  Repo repo;
  MakeBase(repo);
  Branch(repo, "pr1", {{"a.txt", Lines(20, {{3, "pr1"}})}});
  Branch(repo, "pr2", {{"src/lib/new.c", "new\n"}});
  Branch(repo, "pr3", {}, {"b.txt"});
  Branch(repo, "pr4", {{"src/lib/core.c", Lines(30, {{1, "pr4"}})}, {"docs/extra/x.md", "x\n"}});
  auto b = ExpectSameAsGit(repo, "main", {"pr1", "pr2", "pr3", "pr4"});
  CHECK(b.merged.size() == 4);
  CHECK(b.full_merges == 0);
}

TEST_CASE("edits of the same file in different places are content-merged without the full merge") {
  Repo repo;
  MakeBase(repo);
  Branch(repo, "top", {{"src/lib/core.c", Lines(30, {{2, "top edit"}})}});
  Branch(repo, "bottom", {{"src/lib/core.c", Lines(30, {{28, "bottom edit"}})}});
  Branch(repo, "middle", {{"src/lib/core.c", Lines(30, {{15, "middle edit"}})}, {"a.txt", "x\n"}});
  auto b = ExpectSameAsGit(repo, "main", {"top", "bottom", "middle"});
  CHECK(b.conflicts.empty());
  CHECK(b.full_merges == 0);
  CHECK(repo.Git("show " + b.commit + ":src/lib/core.c") ==
        Lines(30, {{2, "top edit"}, {15, "middle edit"}, {28, "bottom edit"}}).substr(0, Lines(30, {{2, "top edit"}, {15, "middle edit"}, {28, "bottom edit"}}).size() - 1));
}

TEST_CASE("a content conflict leaves the pull request out and the rest goes on") {
  Repo repo;
  MakeBase(repo);
  Branch(repo, "one", {{"a.txt", Lines(20, {{5, "one"}})}});
  Branch(repo, "two", {{"a.txt", Lines(20, {{5, "two"}})}, {"src/main.c", "two\n"}});
  Branch(repo, "three", {{"a.txt", Lines(20, {{19, "three"}})}});
  auto b = ExpectSameAsGit(repo, "main", {"one", "two", "three"});
  REQUIRE(b.conflicts.size() == 1);
  CHECK(b.conflicts[0].label == "two");
  CHECK(b.conflicts[0].paths == std::vector<std::string>{"a.txt"});
}

TEST_CASE("add/add of the same path with different content is a conflict naming the path") {
  Repo repo;
  MakeBase(repo);
  Branch(repo, "add1", {{"src/new/file.txt", "first\n"}});
  Branch(repo, "add2", {{"src/new/file.txt", "second\n"}});
  Branch(repo, "same", {{"src/new/file.txt", "first\n"}});
  auto b = ExpectSameAsGit(repo, "main", {"add1", "add2", "same"});
  REQUIRE(b.conflicts.size() == 1);
  CHECK(b.conflicts[0].paths == std::vector<std::string>{"src/new/file.txt"});
}

TEST_CASE("modify/delete is a conflict naming the path") {
  Repo repo;
  MakeBase(repo);
  Branch(repo, "del", {}, {"src/lib/util.c"});
  Branch(repo, "mod", {{"src/lib/util.c", Lines(10, {{4, "changed"}})}});
  auto b = ExpectSameAsGit(repo, "main", {"del", "mod"});
  REQUIRE(b.conflicts.size() == 1);
  CHECK(b.conflicts[0].label == "mod");
  CHECK(b.conflicts[0].paths == std::vector<std::string>{"src/lib/util.c"});
}

TEST_CASE("a rename on one side keeps the edits made on the other side") {
  Repo repo;
  MakeBase(repo);
  repo.Checkout("rename", "main");
  repo.Git("mv docs/guide.md src/guide-renamed.md");
  repo.Commit("rename");
  repo.Checkout("main");
  Branch(repo, "edit", {{"docs/guide.md", Lines(40, {{20, "edited in the middle"}})}});
  auto b = ExpectSameAsGit(repo, "main", {"rename", "edit"});
  CHECK(b.conflicts.empty());
  CHECK(b.full_merges == 1);
  CHECK(repo.Git("show " + b.commit + ":src/guide-renamed.md").find("edited in the middle") !=
        std::string::npos);
  // And the other way round: the edit lands first.
  ExpectSameAsGit(repo, "main", {"edit", "rename"});
}

TEST_CASE("binary files merge when one side changes them and conflict when both do") {
  Repo repo;
  repo.Write("img.bin", std::string("\x00\x01\x02 base", 9));
  repo.Write("other.bin", std::string("\x00\x09 other", 8));
  repo.Commit("base");
  Branch(repo, "bin1", {{"img.bin", std::string("\x00\x01\x02 one", 8)}});
  Branch(repo, "bin2", {{"img.bin", std::string("\x00\x01\x02 two", 8)}});
  Branch(repo, "bin3", {{"other.bin", std::string("\x00\x09 three", 8)}});
  auto b = ExpectSameAsGit(repo, "main", {"bin1", "bin2", "bin3"});
  REQUIRE(b.conflicts.size() == 1);
  CHECK(b.conflicts[0].label == "bin2");
}

TEST_CASE("submodule entries (gitlinks) are kept and moved like git does") {
  Repo repo;
  MakeBase(repo);
  const std::string sub1 = "1111111111111111111111111111111111111111";
  const std::string sub2 = "2222222222222222222222222222222222222222";
  const std::string sub3 = "3333333333333333333333333333333333333333";
  repo.Git("update-index --add --cacheinfo 160000," + sub1 + ",vendor/sub");
  repo.Git("commit -q -m gitlink");
  repo.Checkout("bump", "main");
  repo.Git("update-index --cacheinfo 160000," + sub2 + ",vendor/sub");
  repo.Git("commit -q -m bump");
  repo.Checkout("main");
  Branch(repo, "files", {{"vendor/readme", "vendored\n"}});
  repo.Checkout("bump2", "main");
  repo.Git("update-index --cacheinfo 160000," + sub3 + ",vendor/sub");
  repo.Git("commit -q -m bump2");
  repo.Checkout("main");
  auto b = ExpectSameAsGit(repo, "main", {"bump", "files", "bump2"});
  CHECK(repo.Git("rev-parse " + b.commit + ":vendor/sub") == sub2);
  REQUIRE(b.conflicts.size() == 1);
  CHECK(b.conflicts[0].label == "bump2");
}

TEST_CASE("executable bits and symlinks are kept") {
  Repo repo;
  repo.Write("run.sh", Lines(10));
  repo.Git("add run.sh");
  repo.Commit("base");
  repo.Checkout("chmod", "main");
  std::filesystem::permissions(repo.path() + "/run.sh", std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  repo.Commit("chmod");
  repo.Checkout("main");
  Branch(repo, "edit", {{"run.sh", Lines(10, {{9, "edited"}})}});
  repo.Checkout("link", "main");
  repo.Git("config core.symlinks true");
  REQUIRE(symlink("run.sh", (repo.path() + "/run-link").c_str()) == 0);
  repo.Commit("link");
  repo.Checkout("main");
  auto b = ExpectSameAsGit(repo, "main", {"chmod", "edit", "link"});
  CHECK(b.conflicts.empty());
  CHECK(repo.Git("ls-tree " + b.commit + " run.sh").substr(0, 6) == "100755");
  CHECK(repo.Git("ls-tree " + b.commit + " run-link").substr(0, 6) == "120000");
  CHECK(repo.Git("show " + b.commit + ":run.sh").find("edited") != std::string::npos);
}

TEST_CASE("an empty pull request and one already contained in the base both merge") {
  Repo repo;
  MakeBase(repo);
  repo.Checkout("empty", "main");
  repo.Git("commit -q --allow-empty -m empty");
  repo.Checkout("main");
  std::string old = repo.Git("rev-parse main");
  repo.Write("a.txt", "moved on\n");
  repo.Commit("main moves");
  Branch(repo, "real", {{"b.txt", "real\n"}});
  auto b = ExpectSameAsGit(repo, "main", {"empty", old, "real"});
  CHECK(b.merged == std::vector<std::string>{"empty", old, "real"});
}

TEST_CASE("a file replaced by a directory on one side and edited on the other matches git") {
  Repo repo;
  MakeBase(repo);
  Branch(repo, "dir", {{"b.txt/inner", "now a dir\n"}}, {"b.txt"});
  Branch(repo, "file", {{"b.txt", "edited\n"}});
  Branch(repo, "newdir", {{"fresh/x", "x\n"}});
  Branch(repo, "newfile", {{"fresh", "a file\n"}});
  ExpectSameAsGit(repo, "main", {"dir", "file", "newdir", "newfile"});
}

TEST_CASE("renaming the same file to two names on both sides is a conflict") {
  Repo repo;
  MakeBase(repo);
  repo.Checkout("ren1", "main");
  repo.Git("mv docs/guide.md docs/one.md");
  repo.Commit("ren1");
  repo.Checkout("ren2", "main");
  repo.Git("mv docs/guide.md docs/two.md");
  repo.Commit("ren2");
  repo.Checkout("main");
  // Paths differ between libgit2 and merge-ort for rename/rename; the
  // decision does not.
  auto b = ExpectSameAsGit(repo, "main", {"ren1", "ren2"}, /*compare_paths=*/false);
  REQUIRE(b.conflicts.size() == 1);
  CHECK(!b.conflicts[0].paths.empty());
}

TEST_CASE("a pull request that merged the target in still merges like git") {
  Repo repo;
  MakeBase(repo);
  Branch(repo, "feature", {{"src/main.c", Lines(5, {{1, "feature"}})}});
  repo.Write("a.txt", Lines(20, {{20, "main moved"}}));
  repo.Commit("main moves");
  repo.Checkout("feature");
  repo.Git("merge -q --no-edit main");
  repo.Write("docs/guide.md", Lines(40, {{1, "after merge"}}));
  repo.Commit("more");
  repo.Checkout("main");
  repo.Write("docs/guide.md", Lines(40, {{40, "main again"}}));
  repo.Commit("main again");
  auto b = ExpectSameAsGit(repo, "main", {"feature"});
  CHECK(b.conflicts.empty());
}

TEST_CASE("criss-cross histories (two merge bases) merge like git") {
  Repo repo;
  MakeBase(repo);
  Branch(repo, "a", {{"a.txt", Lines(20, {{1, "a1"}})}});
  Branch(repo, "b", {{"b.txt", "b1\n"}});
  std::string a1 = repo.Git("rev-parse a"), b1 = repo.Git("rev-parse b");
  repo.Checkout("a");
  repo.Git("merge -q --no-edit " + b1);
  repo.Write("src/main.c", Lines(5, {{5, "a3"}}));
  repo.Commit("a3");
  repo.Checkout("b");
  repo.Git("merge -q --no-edit " + a1);
  repo.Write("docs/guide.md", Lines(40, {{3, "b3"}}));
  repo.Commit("b3");
  repo.Checkout("main");
  CHECK(repo.Git("merge-base --all a b").find('\n') != std::string::npos);  // two bases
  auto b = ExpectSameAsGit(repo, "a", {"b"});
  CHECK(b.conflicts.empty());
}

}  // TEST_SUITE

}  // namespace
}  // namespace mergeyard::git
