#include <doctest/doctest.h>

#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "base/clock.h"
#include "engine/codec.h"
#include "store/database.h"
#include "store/sqlite_state_store.h"
#include "temp_dir.h"

using namespace mergeyard;
using namespace mergeyard::store;

namespace {

const engine::QueueKey kKey{"acme/widgets", "main"};

queue::State SampleState(int version) {
  queue::State s;
  s.target_branch = "main";
  s.tip = "tip" + std::to_string(version);
  s.config.target_batch_size = 3;
  queue::Entry a;
  a.pr = 11;
  a.head_sha = "aaaa";
  a.enqueued_at = 1000;
  a.seq = 1;
  a.status = queue::EntryStatus::kBatched;
  a.batch = 5;
  queue::Entry b;
  b.pr = 12;
  b.head_sha = "bbbb";
  b.priority = queue::kPriorityHigh;
  b.enqueued_at = 2000;
  b.seq = 2;
  s.entries = {{11, a}, {12, b}};
  queue::Batch batch;
  batch.id = 5;
  batch.prs = {11};
  batch.state = queue::BatchState::kTesting;
  batch.base_sha = s.tip;
  batch.commit = "c5";
  s.batches = {{5, batch}};
  s.main = {5};
  s.next_batch_id = 6 + version;
  s.next_seq = 3;
  return s;
}

std::vector<queue::Effect> SampleEffects() {
  queue::BuildBatch build{7, "tip", "tip", {{12, "bbbb"}}, queue::MergeMethod::kMerge};
  queue::Report merged;
  merged.pr = 11;
  merged.kind = queue::ReportKind::kMerged;
  merged.batch = 5;
  merged.commit = "c5";
  queue::Report testing;
  testing.pr = 12;
  testing.kind = queue::ReportKind::kTesting;
  queue::BatchDone done;
  done.batch.id = 5;
  done.batch.prs = {11};
  done.result = "pass";
  return {build, merged, testing, done, queue::ArmTimer{9000}};
}

std::string Json(const queue::State& s) { return engine::StateToJson(s).dump(); }

std::string Json(const std::vector<queue::Effect>& effects) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& e : effects) a.push_back(engine::EffectToJson(e));
  return a.dump();
}

struct Fixture {
  testing::TempDir dir;
  ManualClock clock{1'700'000'000'000};
  std::unique_ptr<Database> db;
  std::unique_ptr<SqliteStateStore> store;

  Fixture() { Reopen(); }
  void Reopen() {
    store.reset();
    db.reset();
    auto opened = Database::Open(dir.File("state.db"));
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().ToString()));
    db = std::move(*opened);
    store = std::make_unique<SqliteStateStore>(*db, clock);
  }
};

}  // namespace

TEST_SUITE("store") {

TEST_CASE("a committed state and its effects load back unchanged") {
  Fixture f;
  auto t = f.store->Commit(kKey, SampleState(1), SampleEffects());
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().ToString()));
  auto all = f.store->LoadAll();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  const engine::StoredQueue& q = all->front();
  CHECK(q.key == kKey);
  CHECK(Json(q.state) == Json(SampleState(1)));
  CHECK(q.state.tip == "tip1");
  CHECK(q.state.entries.at(12).priority == queue::kPriorityHigh);
  REQUIRE(q.pending.size() == 1);
  CHECK(q.pending[0].transition == *t);
  CHECK(Json(q.pending[0].effects) == Json(SampleEffects()));
  CHECK(std::holds_alternative<queue::BuildBatch>(q.pending[0].effects[0]));
}

TEST_CASE("a new commit replaces the queue's state and adds an outbox row") {
  Fixture f;
  auto t1 = f.store->Commit(kKey, SampleState(1), SampleEffects());
  auto t2 = f.store->Commit(kKey, SampleState(2), {queue::ArmTimer{1}});
  auto t3 = f.store->Commit(kKey, SampleState(3), {});
  REQUIRE((t1.ok() && t2.ok() && t3.ok()));
  CHECK(*t1 < *t2);
  CHECK(*t2 < *t3);
  auto all = f.store->LoadAll();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->front().state.tip == "tip3");
  REQUIRE(all->front().pending.size() == 3);
  CHECK(all->front().pending[0].transition == *t1);
  CHECK(all->front().pending[1].transition == *t2);
  CHECK(all->front().pending[2].effects.empty());
}

TEST_CASE("completed transitions leave the outbox, and completing twice is harmless") {
  Fixture f;
  auto t1 = f.store->Commit(kKey, SampleState(1), SampleEffects());
  auto t2 = f.store->Commit(kKey, SampleState(2), {queue::ArmTimer{1}});
  REQUIRE((t1.ok() && t2.ok()));
  CHECK(f.store->Completed(*t1).ok());
  CHECK(f.store->Completed(*t1).ok());
  auto all = f.store->LoadAll();
  REQUIRE(all.ok());
  REQUIRE(all->front().pending.size() == 1);
  CHECK(all->front().pending[0].transition == *t2);
  CHECK(f.store->Completed(*t2).ok());
  CHECK(f.store->LoadAll()->front().pending.empty());
}

TEST_CASE("queues load in key order, each with only its own outbox rows") {
  Fixture f;
  engine::QueueKey other{"acme/gadgets", "release"};
  auto a = f.store->Commit(kKey, SampleState(1), {queue::ArmTimer{1}});
  auto b = f.store->Commit(other, SampleState(2), {queue::ArmTimer{2}});
  auto c = f.store->Commit(kKey, SampleState(3), {queue::ArmTimer{3}});
  REQUIRE((a.ok() && b.ok() && c.ok()));
  auto all = f.store->LoadAll();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].key == other);
  CHECK((*all)[0].pending.size() == 1);
  CHECK((*all)[1].key == kKey);
  REQUIRE((*all)[1].pending.size() == 2);
  CHECK((*all)[1].pending[1].transition == *c);
}

TEST_CASE("history records finished batches and ended entries, newest first") {
  Fixture f;
  REQUIRE(f.store->Commit(kKey, SampleState(1), SampleEffects()).ok());
  f.clock.Advance(5000);
  queue::Report kicked;
  kicked.pr = 12;
  kicked.kind = queue::ReportKind::kKicked;
  kicked.failed_step = "unit";
  queue::Report cancelled;
  cancelled.pr = 13;
  cancelled.kind = queue::ReportKind::kCancelled;
  REQUIRE(f.store->Commit(kKey, SampleState(2), {kicked, cancelled}).ok());
  REQUIRE(f.store->Commit({"acme/other", "main"}, SampleState(3), SampleEffects()).ok());

  auto rows = f.store->History(kKey, 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 4);  // merged, batch; kicked, cancelled (not "testing", not timers)
  CHECK((*rows)[0].kind == "cancelled");
  CHECK((*rows)[0].pr == 13);
  CHECK_FALSE((*rows)[0].batch.has_value());
  CHECK((*rows)[1].kind == "kicked");
  CHECK((*rows)[1].at == f.clock.Now());
  CHECK((*rows)[1].data == engine::EffectToJson(kicked));
  CHECK((*rows)[2].kind == "batch");
  CHECK((*rows)[2].batch == 5);
  CHECK_FALSE((*rows)[2].pr.has_value());
  CHECK((*rows)[2].at == f.clock.Now() - 5000);
  CHECK((*rows)[3].kind == "merged");
  CHECK((*rows)[3].pr == 11);
  CHECK((*rows)[3].batch == 5);
  CHECK((*rows)[0].id > (*rows)[1].id);

  auto two = f.store->History(kKey, 2);
  REQUIRE(two.ok());
  CHECK(two->size() == 2);
  CHECK(f.store->History(kKey, 0)->empty());
  CHECK(f.store->History({"nobody/here", "main"}, 10)->empty());
  CHECK(f.store->History(kKey, -1).error().code == ErrorCode::kInvalid);
}

TEST_CASE("a commit that fails midway leaves the previous state and outbox") {
  Fixture f;
  auto t1 = f.store->Commit(kKey, SampleState(1), {queue::ArmTimer{1}});
  REQUIRE(t1.ok());
  for (const char* stage : {"queue", "outbox", "history"}) {
    CAPTURE(stage);
    f.store->SetCommitHookForTesting([stage](const std::string& s) {
      if (s == stage) throw std::runtime_error("injected failure");
    });
    auto t = f.store->Commit(kKey, SampleState(2), SampleEffects());
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message.find("injected failure") != std::string::npos);
    auto all = f.store->LoadAll();
    REQUIRE(all.ok());
    CHECK(all->front().state.tip == "tip1");
    REQUIRE(all->front().pending.size() == 1);
    CHECK(all->front().pending[0].transition == *t1);
    CHECK(f.store->History(kKey, 10)->empty());
  }
  f.store->SetCommitHookForTesting(nullptr);
  auto t2 = f.store->Commit(kKey, SampleState(2), SampleEffects());
  REQUIRE(t2.ok());
  CHECK(*t2 > *t1);
  CHECK(f.store->LoadAll()->front().state.tip == "tip2");
}

TEST_CASE("a process that dies inside a commit leaves the old state on disk") {
  Fixture f;
  auto t1 = f.store->Commit(kKey, SampleState(1), {queue::ArmTimer{1}});
  REQUIRE(t1.ok());
  for (const char* stage : {"outbox", "history"}) {
    CAPTURE(stage);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // A second connection in a child process, killed with the transaction open.
      auto db = Database::Open(f.dir.File("state.db"));
      if (!db.ok()) _exit(10);
      SqliteStateStore store(**db, f.clock);
      store.SetCommitHookForTesting([stage](const std::string& s) {
        if (s == stage) _exit(42);
      });
      (void)store.Commit(kKey, SampleState(2), SampleEffects());
      _exit(11);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 42);
  }
  f.Reopen();
  auto all = f.store->LoadAll();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->front().state.tip == "tip1");
  REQUIRE(all->front().pending.size() == 1);
  CHECK(all->front().pending[0].transition == *t1);
  CHECK(f.store->History(kKey, 10)->empty());
  CHECK(f.store->Commit(kKey, SampleState(2), {}).ok());
}

TEST_CASE("reopening the file sees every commit, completion and history row") {
  Fixture f;
  auto t1 = f.store->Commit(kKey, SampleState(1), SampleEffects());
  auto t2 = f.store->Commit(kKey, SampleState(2), {queue::ArmTimer{2}});
  REQUIRE((t1.ok() && t2.ok()));
  REQUIRE(f.store->Completed(*t1).ok());
  f.Reopen();
  auto all = f.store->LoadAll();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(Json(all->front().state) == Json(SampleState(2)));
  REQUIRE(all->front().pending.size() == 1);
  CHECK(all->front().pending[0].transition == *t2);
  CHECK(f.store->History(kKey, 10)->size() == 2);
  auto t3 = f.store->Commit(kKey, SampleState(3), {});
  REQUIRE(t3.ok());
  CHECK(*t3 > *t2);  // transition ids are never reused
}

TEST_CASE("commits from two threads are serialised and none is lost") {
  Fixture f;
  constexpr int kPerThread = 60;
  engine::QueueKey keys[2] = {{"acme/one", "main"}, {"acme/two", "main"}};
  std::vector<std::int64_t> ids[2];
  auto worker = [&](int w) {
    for (int i = 0; i < kPerThread; ++i) {
      auto t = f.store->Commit(keys[w], SampleState(i), {queue::ArmTimer{i}});
      if (!t.ok()) return;
      ids[w].push_back(*t);
      if (i % 2 == 0) (void)f.store->Completed(*t);
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  REQUIRE(ids[0].size() == kPerThread);
  REQUIRE(ids[1].size() == kPerThread);
  auto all = f.store->LoadAll();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  for (const auto& q : *all) {
    CHECK(q.state.tip == "tip" + std::to_string(kPerThread - 1));
    CHECK(q.pending.size() == kPerThread / 2);
  }
}

TEST_CASE("two connections to one file in two threads wait for each other") {
  testing::TempDir dir;
  ManualClock clock(1);
  auto first = Database::Open(dir.File("shared.db"));
  auto second = Database::Open(dir.File("shared.db"));
  REQUIRE((first.ok() && second.ok()));
  SqliteStateStore s1(**first, clock), s2(**second, clock);
  constexpr int kEach = 40;
  int failures = 0;
  auto worker = [&](SqliteStateStore* s, std::string repo, int* failed) {
    for (int i = 0; i < kEach; ++i) {
      if (!s->Commit({repo, "main"}, SampleState(i), {queue::ArmTimer{i}}).ok()) ++*failed;
    }
  };
  int f1 = 0, f2 = 0;
  std::thread a(worker, &s1, "acme/one", &f1), b(worker, &s2, "acme/two", &f2);
  a.join();
  b.join();
  failures = f1 + f2;
  CHECK(failures == 0);
  auto all = s1.LoadAll();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].pending.size() == kEach);
  CHECK((*all)[1].pending.size() == kEach);
}

}  // TEST_SUITE
