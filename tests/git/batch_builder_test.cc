// Merge methods: the commits a batch is made of, their authors, committers
// and messages, as the forges make them.

#include <doctest/doctest.h>

#include "git/batch_builder.h"
#include "test_repo.h"

namespace mergeyard::git {
namespace {

using testing::Lines;
using testing::Repo;

struct Prs {
  Repo repo;
  Prs() {
    repo.Write("a.txt", Lines(20));
    repo.Write("b.txt", Lines(20));
    repo.Commit("base");
    // pr1: two commits by Dana; pr2: one commit by Erin.
    repo.Checkout("pr1", "main");
    repo.Write("a.txt", Lines(20, {{2, "pr1 first"}}));
    repo.Git("add -A");
    repo.Git("-c user.name=x commit -q --author='Dana Dev <dana@example.com>' -m 'pr1: first step'");
    repo.Write("a.txt", Lines(20, {{2, "pr1 first"}, {4, "pr1 second"}}));
    repo.Git("add -A");
    repo.Git("commit -q --author='Dana Dev <dana@example.com>' -m 'pr1: second step'");
    repo.Checkout("pr2", "main");
    repo.Write("b.txt", Lines(20, {{19, "pr2"}}));
    repo.Write("a.txt", Lines(20, {{18, "pr2"}}));
    repo.Git("add -A");
    repo.Git("commit -q --author='Erin Eng <erin@example.com>' -m 'pr2: fix the bottom'");
    repo.Checkout("main");
  }
  BatchCommit Build(queue::MergeMethod method) {
    BatchSpec spec;
    spec.base = "main";
    spec.parts = {{"#1", 1, "pr1"}, {"#2", 2, "pr2"}};
    spec.method = method;
    spec.committer = {"Merge Bot", "bot@example.com"};
    spec.now = 1700000000000;
    spec.batch_name = "batch 9";
    auto b = BuildBatchAt(repo.path(), spec);
    REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.error().ToString()));
    return *b;
  }
  std::string Log(const std::string& commit, const std::string& format) {
    return repo.Git("log --first-parent --format='" + format + "' main.." + commit);
  }
};

TEST_SUITE("git") {

TEST_CASE("merge method: one merge commit per pull request, by the bot, listing the batch") {
  Prs p;
  auto b = p.Build(queue::MergeMethod::kMerge);
  CHECK(b.merged == std::vector<std::string>{"#1", "#2"});
  CHECK(p.Log(b.commit, "%an|%cn|%P") .find("Merge Bot|Merge Bot|") == 0);
  CHECK(p.repo.Git("rev-list --count --first-parent main.." + b.commit) == "2");
  CHECK(p.repo.Git("rev-parse " + b.commit + "^2") == p.repo.Git("rev-parse pr2"));
  std::string msg = p.repo.Git("log -1 --format=%B " + b.commit);
  CHECK(msg.find("Merge pull request #2\n\npr2: fix the bottom") == 0);
  CHECK(msg.find("mergeyard batch 9: #1, #2") != std::string::npos);
  CHECK(p.repo.Git("log -1 --format=%ct " + b.commit) == "1700000000");
}

TEST_CASE("squash method: one commit per pull request authored by its author") {
  Prs p;
  auto b = p.Build(queue::MergeMethod::kSquash);
  CHECK(p.Log(b.commit, "%an|%cn|%s") ==
        "Erin Eng|Merge Bot|pr2: fix the bottom (#2)\nDana Dev|Merge Bot|pr1: second step (#1)");
  CHECK(p.repo.Git("rev-list --count main.." + b.commit) == "2");  // linear, no PR commits
  std::string msg = p.repo.Git("log -1 --format=%B " + b.commit + "~1");
  CHECK(msg.find("* pr1: first step\n* pr1: second step") != std::string::npos);
  CHECK(msg.find("mergeyard batch 9: #1, #2") != std::string::npos);
  // Same content as the merge method.
  CHECK(b.tree == p.Build(queue::MergeMethod::kMerge).tree);
}

TEST_CASE("rebase method: each commit replayed with its author and message, committed by the bot") {
  Prs p;
  auto b = p.Build(queue::MergeMethod::kRebase);
  CHECK(p.Log(b.commit, "%an|%cn|%s") ==
        "Erin Eng|Merge Bot|pr2: fix the bottom\nDana Dev|Merge Bot|pr1: second step\n"
        "Dana Dev|Merge Bot|pr1: first step");
  CHECK(b.tree == p.Build(queue::MergeMethod::kMerge).tree);
}

TEST_CASE("a conflicting commit leaves the whole pull request out of a rebase batch") {
  Prs p;
  p.repo.Checkout("pr3", "main");
  p.repo.Write("b.txt", Lines(20, {{10, "pr3 ok"}}));
  p.repo.Commit("pr3: fine");
  p.repo.Write("a.txt", Lines(20, {{2, "pr3 clash"}}));
  p.repo.Commit("pr3: clashes with pr1");
  p.repo.Checkout("main");
  BatchSpec spec;
  spec.base = "main";
  spec.parts = {{"#1", 1, "pr1"}, {"#3", 3, "pr3"}, {"#2", 2, "pr2"}};
  spec.method = queue::MergeMethod::kRebase;
  auto b = BuildBatchAt(p.repo.path(), spec);
  REQUIRE(b.ok());
  CHECK(b->merged == std::vector<std::string>{"#1", "#2"});
  REQUIRE(b->conflicts.size() == 1);
  CHECK(b->conflicts[0].pr == 3);
  CHECK(b->conflicts[0].paths == std::vector<std::string>{"a.txt"});
  CHECK(p.repo.Git("show " + b->commit + ":b.txt").find("pr3 ok") == std::string::npos);
}

TEST_CASE("unknown revisions and non-repositories are errors, not crashes") {
  Prs p;
  BatchSpec spec;
  spec.base = "main";
  spec.parts = {{"nope", 0, "no-such-branch"}};
  auto b = BuildBatchAt(p.repo.path(), spec);
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().code == ErrorCode::kInvalid);
  CHECK(b.error().message.find("no-such-branch") != std::string::npos);
  spec.parts.clear();
  CHECK_FALSE(BuildBatchAt("/nonexistent/repo", spec).ok());
}

}  // TEST_SUITE

}  // namespace
}  // namespace mergeyard::git
