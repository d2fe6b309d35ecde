// MirrorGitPort against real bare "forge" repositories in temp dirs: fetch of
// pull-request refs, batch refs, compare-and-swap landing, mergeability.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <variant>

#include "base/clock.h"
#include "git/mirror_git_port.h"
#include "recording_sink.h"
#include "test_repo.h"

namespace mergeyard::git {
namespace {

using testing::Lines;
using testing::Quote;
using testing::RecordingSink;
using testing::Repo;
using testing::Sh;
using testing::TempDir;

// A developer repository, a bare "forge" with refs/pull/N/head, and a port
// whose data directory is fresh.
struct Fixture {
  Repo dev;
  TempDir forge_dir;
  TempDir data;
  std::string forge;
  TableRemoteResolver resolver;
  ManualClock clock{1700000000000};
  std::unique_ptr<MirrorGitPort> port;
  engine::QueueKey key{"acme/widget", "main"};
  RecordingSink sink;

  explicit Fixture(ForgeFlavour flavour = ForgeFlavour::kGitHub, bool file_url = false) {
    forge = forge_dir / "widget.git";
    dev.Write("a.txt", Lines(20));
    dev.Write("src/core.c", Lines(30));
    dev.Commit("base");
    Sh("git init -q --bare -b main " + Quote(forge));
    dev.Git("push -q " + Quote(forge) + " main");
    resolver.Add("acme/widget", {file_url ? "file://" + forge : forge, "", "", flavour});
    port = std::make_unique<MirrorGitPort>(data.path(), resolver, clock);
  }
  std::string Tip() const { return Sh("git -C " + Quote(forge) + " rev-parse main"); }
  std::string ForgeRef(const std::string& ref) const {
    auto r = testing::ShAny("git -C " + Quote(forge) + " rev-parse -q --verify " + ref);
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.status == 0 ? r.out : "";
  }
  // A pull request branched from main, published as the forge's head ref.
  queue::EntryRef Pr(queue::PrNumber n, const std::string& path, const std::string& content,
                     const std::string& pull_ref = "") {
    std::string branch = "pr" + std::to_string(n);
    std::string head = dev.BranchCommit(branch, "main", {{path, content}}, {}, "change " + path);
    std::string ref = pull_ref.empty() ? "refs/pull/" + std::to_string(n) + "/head" : pull_ref;
    dev.Git("push -q -f " + Quote(forge) + " " + branch + ":" + ref);
    return {n, head};
  }
  queue::BuildBatch Batch(queue::BatchId id, std::vector<queue::EntryRef> entries) {
    std::string tip = Tip();
    return {id, tip, tip, std::move(entries), queue::MergeMethod::kMerge};
  }
};

TEST_SUITE("git") {

TEST_CASE("build fetches pull-request heads from the forge and pushes the batch ref") {
  Fixture f;
  auto pr1 = f.Pr(1, "a.txt", Lines(20, {{2, "one"}}));
  auto pr2 = f.Pr(2, "src/core.c", Lines(30, {{29, "two"}}));
  f.port->Build(f.key, f.Batch(7, {pr1, pr2}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  CHECK(built.batch == 7);
  CHECK(built.conflicts.empty());
  REQUIRE(built.commit.size() == 40);
  CHECK(f.ForgeRef("refs/heads/mergeyard/batch/7") == built.commit);
  auto ref = testing::ReferenceMerge(f.dev, "main", {"pr1", "pr2"});
  CHECK(Sh("git -C " + Quote(f.forge) + " rev-parse " + built.commit + "^{tree}") == ref.tree);
  // The message lists the pull requests of the batch.
  std::string msg = Sh("git -C " + Quote(f.forge) + " log -1 --format=%B " + built.commit);
  CHECK(msg.find("Merge pull request #2") != std::string::npos);
  CHECK(msg.find("mergeyard batch 7: #1, #2") != std::string::npos);
  auto path = f.port->MirrorPath("acme/widget");
  REQUIRE(path.ok());
  CHECK(std::filesystem::exists(*path + "/HEAD"));
}

TEST_CASE("a batch nothing on the forge needs is built in the mirror and not pushed") {
  Fixture f;
  std::string asked_tree;
  f.port->SetBatchPushWanted([&](const engine::QueueKey& key, const std::string& tree) {
    CHECK(key == f.key);
    asked_tree = tree;
    return false;
  });
  auto pr1 = f.Pr(1, "a.txt", Lines(20, {{2, "one"}}));
  f.port->Build(f.key, f.Batch(8, {pr1}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  REQUIRE(built.commit.size() == 40);
  CHECK(f.ForgeRef("refs/heads/mergeyard/batch/8").empty());  // no branch: the forge's CI does not start
  auto path = f.port->MirrorPath("acme/widget");
  REQUIRE(path.ok());
  CHECK(Sh("git -C " + Quote(*path) + " rev-parse " + built.commit + "^{tree}") == asked_tree);
  CHECK(Sh("git -C " + Quote(*path) + " rev-parse refs/heads/mergeyard/batch/8") == built.commit);  // kept from gc
  // It still lands, from the mirror.
  f.port->Land(f.key, {8, built.commit, f.Tip(), {1}}, f.sink);
  CHECK(f.sink.Last<queue::LandResult>().landed);
  CHECK(f.Tip() == built.commit);
}

TEST_CASE("a conflicting entry is left out with its paths; with_tip tells tip from batch conflicts") {
  Fixture f;
  auto pr1 = f.Pr(1, "a.txt", Lines(20, {{5, "one"}}));
  auto pr2 = f.Pr(2, "a.txt", Lines(20, {{5, "two"}}));  // conflicts with #1 only
  auto pr3 = f.Pr(3, "src/core.c", Lines(30, {{1, "three"}}));
  // #4 conflicts with the tip itself: main moves under it.
  auto pr4 = f.Pr(4, "src/core.c", Lines(30, {{10, "four"}}));
  f.dev.Write("src/core.c", Lines(30, {{10, "main"}}));
  f.dev.Commit("main moves");
  f.dev.Git("push -q " + Quote(f.forge) + " main");
  f.port->Build(f.key, f.Batch(3, {pr1, pr2, pr3, pr4}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  REQUIRE(built.conflicts.size() == 2);
  CHECK(built.conflicts[0].pr == 2);
  CHECK(built.conflicts[0].paths == std::vector<std::string>{"a.txt"});
  CHECK_FALSE(built.conflicts[0].with_tip);
  CHECK(built.conflicts[1].pr == 4);
  CHECK(built.conflicts[1].paths == std::vector<std::string>{"src/core.c"});
  CHECK(built.conflicts[1].with_tip);
  CHECK(!built.commit.empty());
}

TEST_CASE("a batch whose every entry conflicts answers an empty commit and pushes nothing") {
  Fixture f;
  auto pr1 = f.Pr(1, "a.txt", Lines(20, {{5, "one"}}));
  f.dev.Write("a.txt", Lines(20, {{5, "main"}}));
  f.dev.Commit("main moves");
  f.dev.Git("push -q " + Quote(f.forge) + " main");
  f.port->Build(f.key, f.Batch(4, {pr1}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  CHECK(built.commit.empty());
  REQUIRE(built.conflicts.size() == 1);
  CHECK(built.conflicts[0].with_tip);
  CHECK(f.ForgeRef("refs/heads/mergeyard/batch/4").empty());
}

TEST_CASE("a head the forge does not have fails the build with a message") {
  Fixture f;
  f.port->Build(f.key, f.Batch(5, {{9, "0123456789012345678901234567890123456789"}}), f.sink);
  auto failed = f.sink.Last<queue::BuildFailed>();
  CHECK(failed.batch == 5);
  CHECK(failed.message.find("#9") != std::string::npos);
}

TEST_CASE("land moves the target by compare-and-swap and a redo answers landed") {
  Fixture f;
  std::string old_tip = f.Tip();
  auto pr1 = f.Pr(1, "a.txt", Lines(20, {{2, "one"}}));
  f.port->Build(f.key, f.Batch(1, {pr1}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  f.port->Land(f.key, {1, built.commit, old_tip, {1}}, f.sink);
  auto landed = f.sink.Last<queue::LandResult>();
  CHECK(landed.landed);
  CHECK(landed.tip == built.commit);
  CHECK(f.Tip() == built.commit);
  f.port->Land(f.key, {1, built.commit, old_tip, {1}}, f.sink);  // after a crash
  CHECK(f.sink.Last<queue::LandResult>().landed);
  f.port->Drop(f.key, {queue::Batch{1}, "pass"});
  CHECK(f.ForgeRef("refs/heads/mergeyard/batch/1").empty());
  f.port->Drop(f.key, {queue::Batch{1}, "pass"});  // already gone: harmless
}

TEST_CASE("land fails cleanly when the target moved in between, and never forces") {
  Fixture f;
  std::string old_tip = f.Tip();
  auto pr1 = f.Pr(1, "a.txt", Lines(20, {{2, "one"}}));
  f.port->Build(f.key, f.Batch(1, {pr1}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  f.dev.Write("other.txt", "someone else\n");
  std::string moved = f.dev.Commit("someone else pushes");
  f.dev.Git("push -q " + Quote(f.forge) + " main");
  f.port->Land(f.key, {1, built.commit, old_tip, {1}}, f.sink);
  auto result = f.sink.Last<queue::LandResult>();
  CHECK_FALSE(result.landed);
  CHECK(result.tip == moved);
  CHECK(f.Tip() == moved);
  // Even told the right old tip, a commit that does not descend from it is
  // not forced onto the target.
  f.port->Land(f.key, {1, built.commit, moved, {1}}, f.sink);
  auto refused = f.sink.Last<queue::LandResult>();
  CHECK_FALSE(refused.landed);
  CHECK(refused.tip == moved);
  CHECK(f.Tip() == moved);
}

TEST_CASE("builds on a speculative base fetch only what they lack") {
  Fixture f;
  auto pr1 = f.Pr(1, "a.txt", Lines(20, {{2, "one"}}));
  f.port->Build(f.key, f.Batch(1, {pr1}), f.sink);
  auto first = f.sink.Last<queue::BatchBuilt>();
  auto pr2 = f.Pr(2, "src/core.c", Lines(30, {{3, "two"}}));
  queue::BuildBatch second{2, first.commit, f.Tip(), {pr2}, queue::MergeMethod::kMerge};
  f.port->Build(f.key, second, f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  CHECK(Sh("git -C " + Quote(f.forge) + " rev-parse " + built.commit + "^1") == first.commit);
  // With everything at hand the forge is not needed to check mergeability.
  std::filesystem::rename(f.forge, f.forge + ".away");
  auto m = f.port->CheckMergeable(f.key, 2, first.commit, pr2.head_sha);
  std::filesystem::rename(f.forge + ".away", f.forge);
  REQUIRE(m.ok());
  CHECK(m->clean);
}

TEST_CASE("check mergeable refuses a pull request that conflicts with the tip, naming the files") {
  Fixture f;
  auto pr1 = f.Pr(1, "a.txt", Lines(20, {{5, "one"}}));
  auto pr2 = f.Pr(2, "src/core.c", Lines(30, {{5, "two"}}));
  f.dev.Write("a.txt", Lines(20, {{5, "main"}}));
  f.dev.Commit("main moves");
  f.dev.Git("push -q " + Quote(f.forge) + " main");
  auto bad = f.port->CheckMergeable(f.key, 1, f.Tip(), pr1.head_sha);
  REQUIRE(bad.ok());
  CHECK_FALSE(bad->clean);
  CHECK(bad->paths == std::vector<std::string>{"a.txt"});
  auto good = f.port->CheckMergeable(f.key, 2, f.Tip(), pr2.head_sha);
  REQUIRE(good.ok());
  CHECK(good->clean);
  auto missing = f.port->CheckMergeable(f.key, 3, f.Tip(), std::string(40, 'a'));
  CHECK_FALSE(missing.ok());
}

TEST_CASE("gitlab merge-request refs are fetched over a file:// URL") {
  Fixture f(ForgeFlavour::kGitLab, /*file_url=*/true);
  auto mr = f.Pr(5, "a.txt", Lines(20, {{7, "mr"}}), "refs/merge-requests/5/head");
  f.port->Build(f.key, f.Batch(2, {mr}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  CHECK(built.conflicts.empty());
  CHECK(f.ForgeRef("refs/heads/mergeyard/batch/2") == built.commit);
}

TEST_CASE("an unknown repository or a bad name fails the build instead of throwing") {
  Fixture f;
  f.port->Build({"acme/unknown", "main"}, f.Batch(1, {}), f.sink);
  CHECK(f.sink.Last<queue::BuildFailed>().message.find("acme/unknown") != std::string::npos);
  CHECK_FALSE(f.port->MirrorPath("../etc").ok());
  f.port->Build({"../etc", "main"}, f.Batch(2, {}), f.sink);
  CHECK(f.sink.Last<queue::BuildFailed>().message.find("not a repository name") != std::string::npos);
}

TEST_CASE("mirror paths: owner/name keeps its place, GitLab subgroups nest, unsafe names are refused") {
  Fixture f;
  const std::string mirrors = f.data.path() + "/mirrors/";
  auto path_of = [&](const std::string& repo) -> std::string {
    auto path = f.port->MirrorPath(repo);
    return path.ok() ? *path : "(refused: " + path.error().ToString() + ")";
  };
  // The layout existing mirrors already have.
  CHECK(path_of("acme/widget") == mirrors + "acme/widget.git");
  CHECK(path_of("Acme-Inc/my_widget.js") == mirrors + "Acme-Inc/my_widget.js.git");
  // GitLab project paths with any depth of subgroups.
  CHECK(path_of("group/sub/project") == mirrors + "group/sub/project.git");
  CHECK(path_of("g/s1/s2/s3/p") == mirrors + "g/s1/s2/s3/p.git");
  // A project never lies inside another project's mirror.
  CHECK(path_of("group/sub/project").rfind(path_of("group/sub") + "/", 0) != 0);
  for (const char* bad : {"", "widget", "/acme/widget", "acme/widget/", "acme//widget", "acme/../widget",
                          "../acme/widget", "acme/..", "acme/./widget", "acme/.git", ".acme/widget",
                          "acme/sub/.hidden", "acme/widget..x", "acme/wid get", "acme\\widget",
                          "acme/wid%2Fget", "acme/widget\n", "acme/widget.git/inner"}) {
    INFO("repo '" << bad << "'");
    auto path = f.port->MirrorPath(bad);
    REQUIRE_FALSE(path.ok());
    CHECK(path.error().code == ErrorCode::kInvalid);
  }
}

TEST_CASE("a GitLab project in a subgroup is mirrored under its full path, built and landed") {
  Fixture f(ForgeFlavour::kGitLab, /*file_url=*/true);
  const engine::QueueKey key{"platform/backend/widget", "main"};
  f.resolver.Add(key.repo, {"file://" + f.forge, "", "", ForgeFlavour::kGitLab});
  const std::string old_tip = f.Tip();
  auto mr = f.Pr(5, "a.txt", Lines(20, {{7, "mr"}}), "refs/merge-requests/5/head");
  f.port->Build(key, f.Batch(3, {mr}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  REQUIRE(built.commit.size() == 40);
  CHECK(f.ForgeRef("refs/heads/mergeyard/batch/3") == built.commit);
  CHECK(std::filesystem::exists(f.data.path() + "/mirrors/platform/backend/widget.git/HEAD"));
  f.port->Land(key, {3, built.commit, old_tip, {5}}, f.sink);
  CHECK(f.sink.Last<queue::LandResult>().landed);
  CHECK(f.Tip() == built.commit);
  auto mergeable = f.port->CheckMergeable(key, 5, old_tip, mr.head_sha);
  REQUIRE(mergeable.ok());
  CHECK(mergeable->clean);
}

TEST_CASE("every gc_every batches the mirror is packed, and keeps working on the packed objects") {
  Fixture f;
  f.port = std::make_unique<MirrorGitPort>(f.data.path(), f.resolver, f.clock, Identity{}, /*gc_every=*/3);
  auto path = f.port->MirrorPath("acme/widget");
  REQUIRE(path.ok());
  auto objects = [&](const std::string& field) {
    std::string out = Sh("git --git-dir=" + Quote(*path) + " count-objects -v");
    const auto at = out.find(field + ": ");
    return std::stoi(out.substr(at + field.size() + 2));
  };
  for (queue::BatchId id = 1; id <= 3; ++id) {
    auto pr = f.Pr(id, "file" + std::to_string(id) + ".txt", Lines(5));
    f.port->Build(f.key, f.Batch(id, {pr}), f.sink);
    REQUIRE(f.sink.Last<queue::BatchBuilt>().batch == id);
    // Below git's default thresholds gc --auto does nothing: lower it.
    if (id == 1) Sh("git --git-dir=" + Quote(*path) + " config gc.autoPackLimit 2");
    if (id < 3) f.port->Drop(f.key, queue::BatchDone{queue::Batch{id}});
  }
  const int packs_before = objects("packs");  // libgit2 keeps one per fetch
  CHECK(packs_before >= 2);
  f.port->Drop(f.key, queue::BatchDone{queue::Batch{3}});
  // One pack now; the batch commits' own objects (unreachable in the mirror)
  // stay loose until they are two weeks old.
  CHECK(objects("packs") == 1);
  // libgit2 finds the packed objects: build on them and land.
  auto pr4 = f.Pr(4, "a.txt", Lines(20, {{1, "four"}}));
  f.port->Build(f.key, f.Batch(4, {pr4}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  REQUIRE(built.commit.size() == 40);
  f.port->Land(f.key, queue::Land{4, built.commit, f.Tip()}, f.sink);
  CHECK(f.sink.Last<queue::LandResult>().landed);
}

TEST_CASE("lock files left in the mirror by a killed process do not stop the next one") {
  Fixture f;
  auto pr1 = f.Pr(1, "a.txt", Lines(20, {{2, "one"}}));
  f.port->Build(f.key, f.Batch(1, {pr1}), f.sink);
  REQUIRE(f.sink.Last<queue::BatchBuilt>().commit.size() == 40);
  auto path = f.port->MirrorPath("acme/widget");
  REQUIRE(path.ok());
  // kill -9 in the middle of ref updates: fetch (main), the batch ref (the
  // same batch is built again after a restart), packed refs.
  for (const char* lock : {"/refs/heads/main.lock", "/refs/heads/mergeyard/batch/2.lock", "/packed-refs.lock"}) {
    std::filesystem::create_directories(std::filesystem::path(*path + lock).parent_path());
    std::ofstream(*path + lock) << "";
    REQUIRE(std::filesystem::exists(*path + lock));
  }
  f.port = std::make_unique<MirrorGitPort>(f.data.path(), f.resolver, f.clock);  // the restart
  auto pr2 = f.Pr(2, "src/core.c", Lines(30, {{3, "two"}}));
  f.port->Build(f.key, f.Batch(2, {pr2}), f.sink);
  auto built = f.sink.Last<queue::BatchBuilt>();
  REQUIRE_MESSAGE(built.commit.size() == 40, "the build failed after a restart");
  f.port->Land(f.key, queue::Land{2, built.commit, f.Tip()}, f.sink);
  CHECK(f.sink.Last<queue::LandResult>().landed);
  CHECK_FALSE(std::filesystem::exists(*path + "/refs/heads/main.lock"));
}

}  // TEST_SUITE

}  // namespace
}  // namespace mergeyard::git
