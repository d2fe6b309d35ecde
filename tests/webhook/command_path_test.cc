#include <doctest/doctest.h>

#include "harness.h"

using namespace mergeyard;
using namespace mergeyard::testing;

namespace {

const char* kConfig = "queue:\n  target_batch_size: 2\n  max_wait: 5m\n";

bool Contains(const std::vector<std::string>& texts, const std::string& needle) {
  for (const auto& t : texts) {
    if (t.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& texts) {
  std::string out;
  for (const auto& t : texts) out += t + "\n----\n";
  return out;
}

const char* Name(FakeFlavor f) {
  return f == FakeFlavor::kGithub ? "github" : f == FakeFlavor::kGitlab ? "gitlab" : "gitea";
}

}  // namespace

TEST_SUITE("webhook") {

TEST_CASE("an accepted !integrate enqueues the pinned head with who asked; the queued report answers in one status comment") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    CommandHarness h(flavor);
    h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
    const std::string head = h.OpenPull(1, "feature", {{"f.txt", "f\n"}});
    CHECK(h.Comment(1, "wendy", "  !integrate priority=high\nthanks") == 202);
    auto enq = h.sink.Of<queue::Enqueue>();
    REQUIRE(enq.size() == 1);
    CHECK(enq[0].pr == 1);
    CHECK(enq[0].head_sha == head);
    CHECK(enq[0].priority == queue::kPriorityHigh);
    CHECK(enq[0].actor == "wendy");
    auto configs = h.sink.Of<queue::ConfigChanged>();
    REQUIRE(configs.size() == 1);
    CHECK(configs[0].config.target_batch_size == 2);
    CHECK(configs[0].config.max_wait == 5 * kMinute);
    CHECK(h.sink.Events()[0].first == engine::QueueKey{CommandHarness::kRepo, "main"});
    h.reporter.Flush();
    CHECK(h.BotComments(1).empty());  // the engine's queued report answers, once

    // The engine reports it queued: the status comment says who queued which
    // commit, where it stands, and links the live dashboard.
    queue::Report queued{1, queue::ReportKind::kQueued, queue::ReportReason::kAccepted};
    queued.actor = "wendy";
    queued.head_sha = head;
    queued.priority = queue::kPriorityHigh;
    queued.position = 1;
    queued.batches_ahead = 1;
    h.reporter.Report({CommandHarness::kRepo, "main"}, queued);
    h.reporter.Flush();
    auto bot = h.BotComments(1);
    REQUIRE_MESSAGE(bot.size() == 1, Join(bot));
    CHECK(bot[0].find("**mergeyard: Queued**") != std::string::npos);
    CHECK(bot[0].find("@wendy queued commit " + head.substr(0, 10) + " at priority high at position 1") !=
          std::string::npos);
    CHECK(bot[0].find("(http://dash.example/repos/acme/widgets)") != std::string::npos);
    CHECK(bot[0].find(forge::kStatusMarker) != std::string::npos);

    // Testing is progress, shown on the dashboard: nothing is written.
    const auto before = h.fake.Requests().size();
    queue::Report testing{1, queue::ReportKind::kTesting, queue::ReportReason::kBatchStarted, 7};
    h.reporter.Report({CommandHarness::kRepo, "main"}, testing);
    h.reporter.Flush();
    CHECK(h.fake.Requests().size() == before);
    CHECK(h.fake.Statuses().empty());
  }
}

TEST_CASE("people without write permission get a polite refusal and nothing is queued") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    CommandHarness h(flavor);
    h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
    h.OpenPull(2, "feature", {{"f.txt", "f\n"}});
    h.Comment(2, "rita", "!integrate");
    h.Comment(2, "mallory", "!integrate");
    CHECK(h.sink.Events().empty());
    auto bot = h.BotComments(2);
    REQUIRE(bot.size() == 2);
    CHECK(bot[0].find("Sorry @rita") != std::string::npos);
    CHECK(bot[1].find("Sorry @mallory") != std::string::npos);
  }
}

TEST_CASE("an unsigned or wrongly signed comment is refused with 401 and never acted on") {
  CommandHarness h(FakeFlavor::kGithub);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  h.OpenPull(3, "feature", {{"f.txt", "f\n"}});
  CHECK(h.Deliver("issue_comment", h.CommentBody(3, "wendy", "!integrate").dump(), "wrong") == 401);
  h.Settle();
  CHECK(h.sink.Events().empty());
  CHECK(h.fake.Requests().empty());
}

TEST_CASE("drafts, closed pull requests, conflicts and missing configuration are refused with the reason") {
  CommandHarness h(FakeFlavor::kGitea);
  h.OpenPull(4, "no-config", {{"n.txt", "n\n"}});
  h.Comment(4, "wendy", "!integrate");
  CHECK(Contains(h.BotComments(4), "has no `.mergeyard.yml`"));

  h.fake.Commit("main", {{".mergeyard.yml", kConfig}, {"shared.txt", "main version\n"}});
  h.OpenPull(5, "drafty", {{"d.txt", "d\n"}}, /*draft=*/true);
  h.Comment(5, "wendy", "!integrate");
  CHECK(Contains(h.BotComments(5), "it is a draft"));

  h.fake.Commit("clash", {{"shared.txt", "clash version\n"}}, "main~1");
  h.fake.AddPull({6, "clash"});
  h.Comment(6, "wendy", "!integrate");
  auto bot = h.BotComments(6);
  CHECK_MESSAGE(Contains(bot, "does not merge cleanly"), Join(bot));
  CHECK(Contains(bot, "`shared.txt`"));
  CHECK(h.sink.Of<queue::Enqueue>().empty());
}

TEST_CASE("an invalid .mergeyard.yml is reported with line and column and nothing is queued") {
  CommandHarness h(FakeFlavor::kGitlab);
  h.fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 2\n  concurency: 3\n"}});
  h.OpenPull(7, "feature", {{"f.txt", "f\n"}});
  h.Comment(7, "wendy", "!integrate");
  auto bot = h.BotComments(7);
  REQUIRE(bot.size() == 1);
  CHECK_MESSAGE(bot[0].find("line 3, column 3") != std::string::npos, bot[0]);
  CHECK(bot[0].find("concurency") != std::string::npos);
  CHECK(h.sink.Events().empty());
}

TEST_CASE("a broken configuration pushed later keeps the last good one") {
  CommandHarness h(FakeFlavor::kGithub);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  h.OpenPull(8, "feature", {{"f.txt", "f\n"}});
  h.Comment(8, "wendy", "!integrate");
  REQUIRE(h.sink.Of<queue::ConfigChanged>().size() == 1);
  const std::string bad = h.fake.Commit("main", {{".mergeyard.yml", "queue: [\n"}});
  nlohmann::json push = {{"ref", "refs/heads/main"}, {"before", "0"}, {"after", bad},
                         {"repository", {{"full_name", CommandHarness::kRepo}}},
                         {"commits", {{{"modified", {".mergeyard.yml"}}}}}};
  CHECK(h.Deliver("push", push.dump()) == 202);
  h.Settle();
  CHECK(h.sink.Of<queue::ConfigChanged>().size() == 1);  // not replaced by the broken one
  auto moved = h.sink.Of<queue::TargetMoved>();
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].tip == bad);
  REQUIRE(h.configs.LastGood(CommandHarness::kRepo, "main").has_value());
  CHECK(h.configs.LastGood(CommandHarness::kRepo, "main")->queue.target_batch_size == 2);
  // a good file pushed afterwards replaces it
  const std::string good = h.fake.Commit("main", {{".mergeyard.yml", "queue:\n  concurrency: 3\n"}});
  push["after"] = good;
  CHECK(h.Deliver("push", push.dump()) == 202);
  h.Settle();
  auto configs = h.sink.Of<queue::ConfigChanged>();
  REQUIRE(configs.size() == 2);
  CHECK(configs[1].config.concurrency == 3);
}

TEST_CASE("a later push to the pull request and closing it reach the queue") {
  CommandHarness h(FakeFlavor::kGitea);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  h.OpenPull(9, "feature", {{"f.txt", "f\n"}});
  h.Comment(9, "wendy", "!integrate");
  const std::string newer = h.fake.Commit("feature", {{"f.txt", "g\n"}});
  nlohmann::json sync = {{"action", "synchronized"}, {"number", 9},
                         {"pull_request", {{"head", {{"sha", newer}}}, {"base", {{"ref", "main"}}}}},
                         {"repository", {{"full_name", CommandHarness::kRepo}}}};
  CHECK(h.Deliver("pull_request_sync", sync.dump()) == 202);
  nlohmann::json closed = {{"action", "closed"}, {"number", 9},
                           {"pull_request", {{"merged", false}, {"base", {{"ref", "main"}}}}},
                           {"repository", {{"full_name", CommandHarness::kRepo}}}};
  CHECK(h.Deliver("pull_request", closed.dump()) == 202);
  h.Settle();
  auto heads = h.sink.Of<queue::HeadChanged>();
  REQUIRE(heads.size() == 1);
  CHECK(heads[0].pr == 9);
  CHECK(heads[0].head_sha == newer);
  auto cancels = h.sink.Of<queue::Cancel>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].pr == 9);
  // the engine then reports the removal: the status comment says so
  h.reporter.Report({CommandHarness::kRepo, "main"},
                    {9, queue::ReportKind::kCancelled, queue::ReportReason::kNewHead});
  h.reporter.Flush();
  auto bot = h.BotComments(9);
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].find("Removed from the queue") != std::string::npos);
}

TEST_CASE("cancelling a pull request that is not queued is answered by a reply and changes nothing") {
  CommandHarness h(FakeFlavor::kGitlab);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  h.OpenPull(15, "feature", {{"f.txt", "f\n"}});
  h.Comment(15, "wendy", "!integrate cancel");
  h.Settle();
  CHECK(h.sink.Of<queue::Cancel>().empty());
  h.reporter.Flush();
  auto bot = h.BotComments(15);
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].find("@wendy this pull request is not in the queue of `main`") != std::string::npos);
  CHECK(bot[0].find(forge::kStatusMarker) == std::string::npos);
}

TEST_CASE("cancel, retry and unknown subcommands") {
  CommandHarness h(FakeFlavor::kGithub);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  h.OpenPull(10, "feature", {{"f.txt", "f\n"}});
  h.Comment(10, "wendy", "!integrate priority=17");
  h.Comment(10, "wendy", "!integrate cancel");
  h.Comment(10, "wendy", "!integrate retry");
  h.Comment(10, "wendy", "!integrate sometime");
  h.Comment(10, "mergeyard-bot", "!integrate");  // its own comments never loop
  auto enq = h.sink.Of<queue::Enqueue>();
  REQUIRE(enq.size() == 2);
  CHECK(enq[0].priority == 17);
  CHECK(enq[1].priority == 17);  // retry keeps the priority
  auto cancels = h.sink.Of<queue::Cancel>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].reason == queue::ReportReason::kCancelledBy);
  CHECK(cancels[0].actor == "wendy");
  // The cancel itself writes nothing: the engine's report of the removal does.
  CHECK_FALSE(Contains(h.BotComments(10), "Cancel"));
  auto bot = h.BotComments(10);
  CHECK(Contains(bot, "`sometime` is not understood"));
  CHECK(Contains(bot, "!integrate priority=high|normal|low|<0-255>"));
}

TEST_CASE("a forge that is down delays processing; the delivery is retried, not lost") {
  CommandHarness h(FakeFlavor::kGitlab);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  const std::string head = h.OpenPull(11, "feature", {{"f.txt", "f\n"}});
  h.fake.InjectFaults(std::vector<Fault>(5, Fault{503}));
  CHECK(h.Deliver("Note Hook", h.CommentBody(11, "wendy", "!integrate").dump()) == 202);
  CHECK(h.processor->RunOnce() == 1);
  CHECK(h.sink.Events().empty());
  CHECK(*h.deliveries->Count("pending") == 1);
  h.Settle();
  auto enq = h.sink.Of<queue::Enqueue>();
  REQUIRE(enq.size() == 1);
  CHECK(enq[0].head_sha == head);
  CHECK(*h.deliveries->Count("pending") == 0);
}

TEST_CASE("landing with merge leaves the pull request to the forge and marks the landed commit once") {
  CommandHarness h(FakeFlavor::kGithub);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  const std::string head = h.OpenPull(12, "feature", {{"f.txt", "f\n"}});
  h.Comment(12, "wendy", "!integrate");
  h.fake.SetBranch("main", head);  // the git layer pushed the tested batch commit
  const auto before = h.fake.Requests().size();
  h.reporter.Report({CommandHarness::kRepo, "main"},
                    {12, queue::ReportKind::kMerged, queue::ReportReason::kLanded, 3, head});
  h.reporter.Flush();
  CHECK_FALSE(h.fake.IsClosed(12));
  auto bot = h.BotComments(12);
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].find("Landed in commit " + head) != std::string::npos);
  CHECK(bot[0].find("Waited") == std::string::npos);  // the report does not say when it was queued
  // The forge marks the pull request merged: its head needs no status. The
  // landed commit gets one, once for the batch however many it landed.
  h.reporter.Report({CommandHarness::kRepo, "main"},
                    {13, queue::ReportKind::kMerged, queue::ReportReason::kLanded, 3, head});
  h.reporter.Flush();
  auto statuses = h.fake.Statuses();
  REQUIRE(statuses.size() == 1);
  CHECK(statuses[0].state == "success");
  CHECK(statuses[0].context == "mergeyard/batch");
  CHECK(statuses[0].sha == head);
  const auto requests = h.fake.Requests();
  for (std::size_t i = before; i < requests.size(); ++i) CHECK(requests[i].find("/pulls/") == std::string::npos);
}

TEST_CASE("landing with squash closes the pull request naming the commit and sets the label") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    CommandHarness h(flavor);
    h.fake.Commit("main", {{".mergeyard.yml", "queue:\n  merge_method: squash\nmerged_label: landed\n"}});
    h.OpenPull(13, "feature", {{"f.txt", "f\n"}});
    h.Comment(13, "wendy", "!integrate");
    const std::string squashed = h.fake.Commit("main", {{"f.txt", "f\n"}});
    h.reporter.Report({CommandHarness::kRepo, "main"},
                      {13, queue::ReportKind::kQueued, queue::ReportReason::kAccepted});
    queue::Report merged{13, queue::ReportKind::kMerged, queue::ReportReason::kLanded, 5, squashed};
    merged.queued_at = h.clock.Now() - 5 * kMinute;
    h.reporter.Report({CommandHarness::kRepo, "main"}, merged);
    h.reporter.Flush();
    CHECK(h.fake.IsClosed(13));
    CHECK(h.fake.Labels(13) == std::vector<std::string>{"landed"});
    auto bot = h.BotComments(13);
    REQUIRE_MESSAGE(bot.size() == 2, Join(bot));
    CHECK(bot[0].find("Waited 5m in the queue") != std::string::npos);
    CHECK(bot[1].find("squashed as commit " + squashed) != std::string::npos);
  }
}

TEST_CASE("a kicked pull request is told the failing step, the evidence and the log") {
  CommandHarness h(FakeFlavor::kGitea);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  const std::string head = h.OpenPull(14, "feature", {{"f.txt", "f\n"}});
  queue::Report kicked{14, queue::ReportKind::kKicked, queue::ReportReason::kFailed, 5};
  kicked.failed_step = "unit";
  kicked.log_url = "http://dash.example/logs/5/unit";
  kicked.base_sha = std::string(40, 'b');
  kicked.bisect_root = 2;
  h.reporter.Report({CommandHarness::kRepo, "main"}, kicked);
  h.reporter.Flush();
  auto bot = h.BotComments(14);
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].find("Failed step `unit` when tested alone on bbbbbbbbbb (bisection of batch #2).") != std::string::npos);
  CHECK(bot[0].find("http://dash.example/logs/5/unit") != std::string::npos);
  auto statuses = h.fake.Statuses();
  REQUIRE(statuses.size() == 1);
  CHECK(statuses[0].sha == head);
  CHECK(statuses[0].state == "failure");
  CHECK(statuses[0].target_url == "http://dash.example/logs/5/unit");

  // Queued again with the same head: the failure gives way to pending.
  queue::Report again{14, queue::ReportKind::kQueued, queue::ReportReason::kAccepted};
  again.head_sha = head;
  h.reporter.Report({CommandHarness::kRepo, "main"}, again);
  h.reporter.Flush();
  statuses = h.fake.Statuses();
  REQUIRE(statuses.size() == 2);
  CHECK(statuses[1].sha == head);
  CHECK(statuses[1].state == "pending");

  // Landed with that head: success.
  const std::string tip = h.fake.Commit("main", {{"f.txt", "f\n"}});
  h.reporter.Report({CommandHarness::kRepo, "main"},
                    {14, queue::ReportKind::kMerged, queue::ReportReason::kLanded, 9, tip});
  h.reporter.Flush();
  statuses = h.fake.Statuses();
  REQUIRE(statuses.size() == 4);
  CHECK(statuses[2].sha == head);
  CHECK(statuses[2].state == "success");
  CHECK(statuses[3].sha == tip);
  CHECK(statuses[3].context == "mergeyard/batch");
}

TEST_CASE("a pull request kicked by a required check is told the check, the forge's word and its page") {
  CommandHarness h(FakeFlavor::kGithub);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  h.OpenPull(16, "feature", {{"f.txt", "f\n"}});
  queue::Report kicked{16, queue::ReportKind::kKicked, queue::ReportReason::kFailed, 6};
  kicked.failure = queue::FailureKind::kCheck;
  kicked.failed_step = "test (ubuntu-latest)";
  kicked.failure_detail = "timed_out";
  kicked.log_url = "https://ci.example/runs/6";
  kicked.base_sha = std::string(40, 'c');
  h.reporter.Report({CommandHarness::kRepo, "main"}, kicked);
  h.reporter.Flush();
  auto bot = h.BotComments(16);
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].find("Failed check `test (ubuntu-latest)` (timed_out) when tested alone on cccccccccc. "
                    "Log: https://ci.example/runs/6") != std::string::npos);
  CHECK(bot[0].find("step") == std::string::npos);
  auto statuses = h.fake.Statuses();
  REQUIRE(statuses.size() == 1);
  CHECK(statuses[0].target_url == "https://ci.example/runs/6");
}

TEST_CASE("after a restart the status comment is found again by its marker, across pages") {
  CommandHarness h(FakeFlavor::kGithub);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  h.OpenPull(15, "feature", {{"f.txt", "f\n"}});
  h.fake.AddUserComment(15, "mergeyard-bot", std::string("**old status**\n\n") + forge::kStatusMarker);
  for (int i = 0; i < 120; ++i) h.fake.AddUserComment(15, "bob", "chatter");
  queue::Report queued{15, queue::ReportKind::kQueued, queue::ReportReason::kAccepted};
  queued.position = 2;
  queued.batches_ahead = 1;
  h.reporter.Report({CommandHarness::kRepo, "main"}, queued);
  h.reporter.Flush();
  auto bot = h.BotComments(15);
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].find("Queued at position 2 (expected in batch 1 from now).") != std::string::npos);
}

}  // TEST_SUITE

#include "webhook/service.h"

TEST_SUITE("webhook") {

TEST_CASE("the service processes deliveries in the background as they arrive") {
  CommandHarness h(FakeFlavor::kGitea);
  h.fake.Commit("main", {{".mergeyard.yml", kConfig}});
  const std::string head = h.OpenPull(20, "feature", {{"f.txt", "f\n"}});
  httplib::Server server;
  webhook::ServiceOptions options;
  options.listener.secrets.default_secret = CommandHarness::kSecret;
  options.processor.idle_poll = 10 * kSecond;  // only the new delivery's wake-up can explain quick processing
  auto service = webhook::Service::Start(server, *h.db, h.forges, h.configs, h.admitter, h.reporter, h.sink,
                                         h.clock, options);
  REQUIRE(service.ok());
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string body = h.CommentBody(20, "wendy", "!integrate").dump();
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Post("/webhooks/gitea",
                    {{"X-Gitea-Event-Type", "pull_request_comment"}, {"X-Gitea-Delivery", "svc-1"},
                     {"X-Gitea-Signature", forge::HmacSha256Hex(CommandHarness::kSecret, body)}},
                    body, "application/json");
  REQUIRE(r);
  CHECK(r->status == 202);
  for (int i = 0; i < 500 && h.sink.Of<queue::Enqueue>().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto enq = h.sink.Of<queue::Enqueue>();
  REQUIRE(enq.size() == 1);
  CHECK(enq[0].head_sha == head);
  server.stop();
  t.join();
  service->reset();
}

}  // TEST_SUITE
