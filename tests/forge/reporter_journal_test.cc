// forge::Reporter with a journal: what it was handed survives the Reporter
// (a crash), runs again in order on the next one, and replays are harmless.
// A real forge client on loopback against the fake forge.

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <memory>
#include <thread>

#include "engine/memory_report_journal.h"
#include "fake_clients.h"
#include "forge/config_source.h"
#include "forge/directory.h"
#include "forge/reporter.h"

using namespace mergeyard;
using namespace mergeyard::testing;

namespace {

constexpr const char* kRepo = "acme/widgets";
const engine::QueueKey kKey{kRepo, "main"};
constexpr const char* kSquashConfig = "queue:\n  merge_method: squash\nmerged_label: landed\n";

forge::ReporterOptions FastReporter() {
  forge::ReporterOptions o;
  o.dashboard_url = "http://dash.example";
  o.retry_backoff = 10;
  o.max_attempts = 1000;  // the forge stays down until the test says so
  return o;
}

// The forge and a client of it. Each Process() is one run of the service:
// fresh configuration source and Reporter, over the journal that outlives them.
// The Reporters read `time` (handover times); the client the system clock.
struct World {
  SystemClock clock;
  ManualClock time{1'700'000'000'000};
  FakeForge fake{FakeFlavor::kGithub, kRepo};
  ForgeClient client = ConnectTo(fake, clock);
  forge::ForgeDirectory forges;
  engine::MemoryReportJournal journal;

  struct Process {
    forge::ForgeConfigSource configs;
    forge::Reporter reporter;
    explicit Process(World& w) : configs(w.forges), reporter(w.forges, configs, w.time, FastReporter(), &w.journal) {}
  };

  World() { forges.Add(client.api); }

  std::string OpenPull(std::int64_t n) {
    const std::string head = fake.Commit("feature-" + std::to_string(n), {{"f" + std::to_string(n), "x\n"}});
    FakePull p;
    p.number = n;
    p.head_branch = "feature-" + std::to_string(n);
    fake.AddPull(p);
    return head;
  }

  std::vector<FakeComment> BotComments(std::int64_t pr) {
    std::vector<FakeComment> out;
    for (const auto& c : fake.Comments(pr)) {
      if (c.author == "mergeyard-bot") out.push_back(c);
    }
    return out;
  }

  std::size_t Pending() {
    auto p = journal.Pending();
    REQUIRE(p.ok());
    return p->size();
  }

  // Blocks until the forge answers again (every injected fault consumed).
  void ForgeComesBack() {
    for (int i = 0; i < 200; ++i) {
      if (client.api->GetPullRequest(kRepo, 1).ok()) return;
    }
    FAIL("the forge did not come back");
  }
};

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

std::string LandedText(const std::string& commit) {
  return "Landed on `main` squashed as commit " + commit + " by mergeyard; closing this pull request.";
}

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("jobs handed over while the forge is down survive the Reporter and are posted by the next one, in order") {
  World w;
  w.fake.Commit("main", {{".mergeyard.yml", kSquashConfig}});
  const std::string head = w.OpenPull(1);
  const std::string squashed = w.fake.Commit("main", {{"f1", "x\n"}});
  w.fake.InjectFaults(std::vector<Fault>(60, Fault{503}));
  {
    World::Process first(w);
    const Time queued_at = w.time.Now();
    first.reporter.Report(kKey, {1, queue::ReportKind::kQueued, queue::ReportReason::kAccepted});
    first.reporter.Reply(kRepo, 1, "Noted, @wendy.");
    w.time.Advance(5 * kMinute);
    queue::Report merged{1, queue::ReportKind::kMerged, queue::ReportReason::kLanded, 5, squashed};
    merged.queued_at = queued_at;  // the engine's record of the entry
    first.reporter.Report(kKey, merged);
    // Journaled before Report returned; the queued report's comment may
    // already be given over to the merged one's (it is done, having nothing
    // else to write).
    CHECK(w.Pending() >= 2);
    REQUIRE(WaitFor([&] { return w.fake.Requests().size() >= 2; }));  // it tried, and the forge failed it
  }  // the process dies with the jobs unposted
  CHECK(w.fake.Comments(1).empty());
  CHECK(w.fake.Statuses().empty());
  CHECK_FALSE(w.fake.IsClosed(1));
  CHECK(w.Pending() >= 2);

  w.ForgeComesBack();
  w.time.Advance(kHour);  // the restart
  World::Process second(w);
  second.reporter.Flush();
  CHECK(w.Pending() == 0);
  auto bot = w.BotComments(1);
  REQUIRE(bot.size() == 3);
  // In order; the queued report's status comment was coalesced into the
  // merged one's: one comment, written once, saying what is true now.
  CHECK(bot[0].body == "Noted, @wendy.");
  CHECK(bot[1].body.find(forge::kStatusMarker) != std::string::npos);
  CHECK(bot[1].body.find("**mergeyard: Merged**") != std::string::npos);
  CHECK(bot[1].body.find("Waited 5m in the queue.") != std::string::npos);  // not the hour of the restart
  CHECK(bot[1].edits == 0);
  CHECK(bot[2].body.find(LandedText(squashed)) != std::string::npos);
  CHECK(bot[0].id < bot[1].id);
  CHECK(bot[1].id < bot[2].id);
  // The replayed landing read the squash configuration itself (nothing had loaded it).
  CHECK(w.fake.IsClosed(1));
  CHECK(w.fake.Labels(1) == std::vector<std::string>{"landed"});
  auto statuses = w.fake.Statuses();
  // Queued sets none; a squash landing closes the pull request, so its head
  // says it landed, and the landed commit says it was tested.
  REQUIRE(statuses.size() == 2);
  CHECK(statuses[0].sha == head);
  CHECK(statuses[0].state == "success");
  CHECK(statuses[1].sha == squashed);
  CHECK(statuses[1].context == "mergeyard/batch");
}

TEST_CASE("a job that was carried out is not replayed by the next Reporter") {
  World w;
  w.fake.Commit("main", {{".mergeyard.yml", kSquashConfig}});
  w.OpenPull(2);
  {
    World::Process first(w);
    first.reporter.Report(kKey, {2, queue::ReportKind::kQueued, queue::ReportReason::kAccepted});
    first.reporter.Reply(kRepo, 2, "Retrying.");
    first.reporter.Flush();
  }
  CHECK(w.Pending() == 0);
  CHECK(w.journal.appended() == 2);
  const auto requests = w.fake.Requests().size();
  const auto statuses = w.fake.Statuses().size();
  {
    World::Process second(w);
    second.reporter.Flush();
  }
  CHECK(w.fake.Requests().size() == requests);
  CHECK(w.fake.Statuses().size() == statuses);
  auto bot = w.BotComments(2);
  REQUIRE(bot.size() == 2);
  CHECK(bot[0].edits == 0);
}

TEST_CASE("replaying a landing and a status update that already reached the forge is harmless") {
  World w;
  w.fake.Commit("main", {{".mergeyard.yml", kSquashConfig}});
  const std::string head = w.OpenPull(3);
  const std::string squashed = w.fake.Commit("main", {{"f3", "x\n"}});
  const queue::Report merged{3, queue::ReportKind::kMerged, queue::ReportReason::kLanded, 8, squashed};

  SUBCASE("the whole landing was done: nothing new is posted") {
    {
      World::Process first(w);
      first.reporter.Report(kKey, {3, queue::ReportKind::kQueued, queue::ReportReason::kAccepted});
      first.reporter.Report(kKey, merged);
      first.reporter.Flush();
    }
    REQUIRE(w.fake.IsClosed(3));
    REQUIRE(w.BotComments(3).size() == 2);
    const std::size_t statuses_before = w.fake.Statuses().size();
    // A crash after posting, before the jobs were marked done.
    engine::ReportJob job;
    job.kind = engine::ReportJob::Kind::kReport;
    job.key = kKey;
    job.report = merged;
    REQUIRE(w.journal.Append(job).ok());
    REQUIRE(w.journal.Append(job).ok());
    {
      World::Process second(w);
      second.reporter.Flush();
    }
    CHECK(w.Pending() == 0);
    auto bot = w.BotComments(3);
    REQUIRE(bot.size() == 2);  // the status comment (edited again) and one landing comment
    CHECK(bot[0].body.find("**mergeyard: Merged**") != std::string::npos);
    CHECK(bot[1].body.find(LandedText(squashed)) != std::string::npos);
    CHECK(w.fake.Labels(3) == std::vector<std::string>{"landed"});
    // The statuses were set again, to what they already were: the head's
    // by each replay, the landed commit's once.
    auto statuses = w.fake.Statuses();
    REQUIRE(statuses.size() == statuses_before + 3);
    int batch = 0;
    for (std::size_t i = statuses_before; i < statuses.size(); ++i) {
      CHECK(statuses[i].state == "success");
      const bool of_batch = statuses[i].context == "mergeyard/batch";
      batch += of_batch;
      CHECK(statuses[i].sha == (of_batch ? squashed : head));
    }
    CHECK(batch == 1);
  }

  SUBCASE("the landing comment was posted, the close was not: it closes without a second comment") {
    w.fake.AddUserComment(3, "mergeyard-bot", LandedText(squashed));
    {
      World::Process first(w);
      first.reporter.Report(kKey, merged);
      first.reporter.Flush();
    }
    CHECK(w.fake.IsClosed(3));
    CHECK(w.fake.Labels(3) == std::vector<std::string>{"landed"});
    int landed = 0;
    for (const auto& c : w.BotComments(3)) landed += c.body.find(LandedText(squashed)) != std::string::npos;
    CHECK(landed == 1);
  }
}

// What a SQLite index does, in memory.
class MemoryIndex final : public engine::StatusCommentIndex {
 public:
  Result<std::optional<std::int64_t>> Find(const std::string& repo, std::int64_t pr) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ids_.find(repo + "#" + std::to_string(pr));
    return it == ids_.end() ? std::optional<std::int64_t>() : std::optional(it->second);
  }
  Status Remember(const std::string& repo, std::int64_t pr, std::int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    ids_[repo + "#" + std::to_string(pr)] = id;
    return Ok();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::int64_t> ids_;
};

int CommentListings(FakeForge& fake) {
  int n = 0;
  for (const auto& r : fake.Requests()) n += r.rfind("GET ", 0) == 0 && r.find("/comments") != std::string::npos;
  return n;
}

TEST_CASE("with a status comment index a pull request's comments are searched once, not after a restart") {
  World w;
  w.OpenPull(5);
  MemoryIndex index;
  {
    forge::ForgeConfigSource configs(w.forges);
    forge::Reporter reporter(w.forges, configs, w.clock, FastReporter(), &w.journal, &index);
    reporter.Report(kKey, {5, queue::ReportKind::kQueued, queue::ReportReason::kAccepted});
    reporter.Flush();
  }
  {
    forge::ForgeConfigSource configs(w.forges);
    forge::Reporter reporter(w.forges, configs, w.clock, FastReporter(), &w.journal, &index);
    reporter.Report(kKey, {5, queue::ReportKind::kKicked, queue::ReportReason::kConflict});
    reporter.Flush();
  }
  CHECK(CommentListings(w.fake) == 1);  // the first time: it may have one from before the index
  auto bot = w.BotComments(5);
  REQUIRE(bot.size() == 1);  // one status comment, edited by the second process
  CHECK(bot[0].edits == 1);
  CHECK(bot[0].body.find("**mergeyard: Kicked out of the queue**") != std::string::npos);
}

TEST_CASE("a replayed job searches for the status comment a crash left unrecorded") {
  World w;
  w.OpenPull(6);
  MemoryIndex index;  // empty: the crash came between making the comment and recording it
  w.fake.AddUserComment(6, "mergeyard-bot", std::string("**mergeyard: Queued**\n\n") + forge::kStatusMarker);
  engine::ReportJob job;
  job.kind = engine::ReportJob::Kind::kReport;
  job.key = kKey;
  job.report = {6, queue::ReportKind::kCancelled, queue::ReportReason::kClosed};
  REQUIRE(w.journal.Append(job).ok());
  forge::ForgeConfigSource configs(w.forges);
  forge::Reporter reporter(w.forges, configs, w.clock, FastReporter(), &w.journal, &index);
  reporter.Flush();
  CHECK(CommentListings(w.fake) == 1);
  auto bot = w.BotComments(6);
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].body.find("Removed from the queue") != std::string::npos);
  CHECK(**index.Find(kRepo, 6) == bot[0].id);
}

TEST_CASE("without a journal the Reporter works as before") {
  World w;
  w.OpenPull(4);
  forge::ForgeConfigSource configs(w.forges);
  forge::Reporter reporter(w.forges, configs, w.clock, FastReporter());
  reporter.Report(kKey, {4, queue::ReportKind::kQueued, queue::ReportReason::kAccepted});
  reporter.Flush();
  CHECK(w.BotComments(4).size() == 1);
  CHECK(w.journal.appended() == 0);
}

}
