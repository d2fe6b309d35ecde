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

std::string FileName(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "f%04d.txt", i);
  return name;
}

// Six lines, the first naming the file; some replaced.
std::string FileText(int i, const std::vector<std::pair<int, std::string>>& changes = {}) {
  std::string s;
  for (int l = 1; l <= 6; ++l) {
    std::string line = l == 1 ? "file " + std::to_string(i) : "line " + std::to_string(l);
    for (const auto& [at, text] : changes) {
      if (at == l) line = text;
    }
    s += line + "\n";
  }
  return s;
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

// A directory of `n` files "f0000.txt"... of six lines each, committed on
// main in one fast-import.
void MakeLargeBase(const Repo& repo, int n) {
  repo.Write("README", "hello\n");
  repo.Commit("seed");
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < n; ++i) files.push_back({FileName(i), FileText(i)});
  repo.BranchCommit("main", "main", files, {}, "base");
}

TEST_CASE("a large directory merges like git with changes at its ends, in the middle and beside each other") {
  Repo repo;
  MakeLargeBase(repo, 3000);  // a ~110 KB tree: written uncompressed
  Branch(repo, "first", {{FileName(0), FileText(0, {{2, "first"}})}});
  Branch(repo, "before", {{"0-sorts-first.txt", "x\n"}});
  Branch(repo, "last", {}, {FileName(2999)});
  Branch(repo, "after", {{"zz-sorts-last.txt", "y\n"}});
  Branch(repo, "middle", {{FileName(1500), FileText(1500, {{1, "middle"}})},
                          {FileName(1501), FileText(1501, {{1, "middle"}})}});
  // Beside "middle", and a content merge with it in f1500.
  Branch(repo, "beside", {{FileName(1500), FileText(1500, {{6, "beside"}})},
                          {FileName(1499), FileText(1499, {{3, "beside"}})},
                          {"f1502.txt.d/inner", "z\n"}},
         {FileName(1502)});
  // "f1000" orders after "f1000.txt" (as "f1000/") but before "f1000a".
  Branch(repo, "dir", {{"f1000/inner.txt", "in a directory\n"}, {"f1000a", "a file\n"}});
  Branch(repo, "clash", {{FileName(0), FileText(0, {{2, "clash"}})}});
  auto b = ExpectSameAsGit(repo, "main",
                           {"first", "before", "last", "after", "middle", "beside", "dir", "clash"});
  CHECK(b.merged.size() == 7);
  CHECK(b.full_merges == 0);
  REQUIRE(b.conflicts.size() == 1);
  CHECK(b.conflicts[0].paths == std::vector<std::string>{FileName(0)});
  // README and 3,000 files; before +1, last -1, after +1, beside +-0, dir +2.
  CHECK(repo.Git("ls-tree " + b.commit + " | wc -l") == "3004");
  repo.Git("fsck --strict --no-dangling 2>&1");  // the objects written are sound
}

TEST_CASE("a large directory merged with itself changed on both sides of each entry") {
  Repo repo;
  MakeLargeBase(repo, 2000);
  // Every tenth file on one side, the ones after them on the other: changes
  // alternate between the sides all along the directory.
  std::vector<std::pair<std::string, std::string>> evens, odds;
  for (int i = 0; i < 2000; i += 10) {
    evens.push_back({FileName(i), FileText(i, {{1, "evens"}})});
    odds.push_back({FileName(i + 1), FileText(i + 1, {{1, "odds"}})});
  }
  Branch(repo, "evens", evens);
  Branch(repo, "odds", odds, {FileName(5), FileName(1995)});
  auto b = ExpectSameAsGit(repo, "main", {"evens", "odds"});
  CHECK(b.conflicts.empty());
  CHECK(b.full_merges == 0);
}

TEST_CASE("a file and a directory of one name are one path, wherever git orders them") {
  Repo repo;
  repo.Write("foo", "file foo\n");
  repo.Write("foo-bar", Lines(10));
  repo.Write("foo.c", Lines(10));
  repo.Write("foo0", Lines(10));
  repo.Write("bar/x", "x\n");
  repo.Commit("base");
  // Names that sort between "foo" and "foo/" on both sides of the change.
  Branch(repo, "one", {{"foo.c", Lines(10, {{2, "one"}})}, {"foo!", "bang\n"}, {"foo.b", "b\n"}});
  Branch(repo, "todir", {{"foo/inner", "now a directory\n"}, {"foo0", Lines(10, {{9, "todir"}})}},
         {"foo"});
  Branch(repo, "three", {{"foo-bar", Lines(10, {{1, "three"}})}});
  Branch(repo, "four", {{"foo-bar", Lines(10, {{10, "four"}})}, {"foo.c", Lines(10, {{8, "four"}})}});
  auto b = ExpectSameAsGit(repo, "main", {"one", "todir", "three", "four"});
  CHECK(b.conflicts.empty());
  CHECK(b.full_merges == 0);  // decided on the fast path, as one path
  CHECK(repo.Git("ls-tree --name-only " + b.commit) == "bar\nfoo!\nfoo-bar\nfoo.b\nfoo.c\nfoo\nfoo0");
}

TEST_CASE("modes git spells otherwise are respelt the way git writes them") {
  Repo repo;
  auto blob = [&](const std::string& text) {
    return repo.Git("hash-object -w --stdin <<'EOF'\n" + text + "\nEOF");
  };
  auto tree = [&](const std::string& listing) {
    return repo.Git("mktree <<'EOF'\n" + listing + "EOF");
  };
  std::string a = blob("a"), b = blob(Lines(5)), c = blob(Lines(6));
  std::string b2 = blob(Lines(5, {{2, "ours"}})), c2 = blob(Lines(6, {{3, "theirs"}}));
  auto dir = [&](const std::string& bid, const std::string& cid) {
    // "100664": a mode old gits wrote; git reads it as 100644.
    return tree("100664 blob " + a + "\ta\n100644 blob " + bid + "\tb\n100644 blob " + cid + "\tc\n");
  };
  auto commit = [&](const std::string& branch, const std::string& d, const std::string& parent) {
    std::string t = tree("040000 tree " + d + "\td\n100664 blob " + a + "\ttop\n");
    std::string id = repo.Git("commit-tree " + t + (parent.empty() ? "" : " -p " + parent) + " -m " + branch);
    repo.Git("update-ref refs/heads/" + branch + " " + id);
    return id;
  };
  std::string base = commit("main", dir(b, c), "");
  commit("ours", dir(b2, c), base);
  commit("theirs", dir(b, c2), base);
  auto m = ExpectSameAsGit(repo, "main", {"ours", "theirs"});
  CHECK(m.conflicts.empty());
  CHECK(m.full_merges == 0);
  auto count_100664 = [&](const std::string& tree_rev) {
    return repo.Git("cat-file tree " + tree_rev + " | grep -a -c 100664 || true");
  };
  CHECK(count_100664(base + ":d") == "1");
  CHECK(count_100664(m.commit + ":d") == "0");  // rewritten, so respelt
  CHECK(count_100664(m.commit + "^{tree}") == "0");
}

}  // TEST_SUITE

}  // namespace
}  // namespace mergeyard::git
