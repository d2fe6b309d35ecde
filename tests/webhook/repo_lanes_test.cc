// Deliveries of different repositories do not wait on each other: one whose
// forge hangs delays no other repository's admission.
#include <doctest/doctest.h>

#include <chrono>

#include "harness.h"

using namespace mergeyard;
using namespace mergeyard::testing;

TEST_SUITE("webhook") {

TEST_CASE("a repository whose forge hangs delays no other repository's admission") {
  CommandHarness h(FakeFlavor::kGitlab);
  h.fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 2\n"}});
  const std::string head = h.OpenPull(11, "feature", {{"f.txt", "f\n"}});

  // Another repository, on a GitHub whose every answer comes later than the
  // client waits (1 s): each of its forge calls fails after all its retries.
  FakeForge slow(FakeFlavor::kGithub, "slow/repo");
  ForgeClient slow_client = ConnectTo(slow, h.clock);
  h.forges.Add(slow_client.api);
  slow.InjectFaults(std::vector<Fault>(30, Fault{0, -1, 1500}));
  nlohmann::json stuck = {{"action", "created"},
                          {"issue", {{"number", 5}, {"pull_request", {{"url", "x"}}}}},
                          {"comment", {{"id", 77}, {"body", "!integrate"},
                                       {"user", {{"login", "wendy"}, {"id", 9}, {"type", "User"}}}}},
                          {"repository", {{"full_name", "slow/repo"}, {"id", 2}}},
                          {"installation", {{"id", 4343}}}};
  // Older than the GitLab comment: in arrival order it would go first.
  REQUIRE(h.deliveries->Insert({"github", "gh-1", "issue_comment", stuck.dump()}).ok());
  REQUIRE(h.Deliver("Note Hook", h.CommentBody(11, "wendy", "!integrate").dump()) == 202);

  const auto start = std::chrono::steady_clock::now();
  h.processor->Start();
  h.processor->Notify();
  bool queued = false;
  while (!queued && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    queued = !h.sink.Of<queue::Enqueue>().empty();
    if (!queued) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(queued);
  CHECK(h.sink.Of<queue::Enqueue>()[0].head_sha == head);
  CHECK(took < std::chrono::seconds(2));
  CHECK(*h.deliveries->Count("pending") == 1);  // the GitHub one, still failing
  h.processor->Stop();
}

}  // TEST_SUITE
