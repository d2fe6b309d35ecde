// Admin enqueue: POST /api/v1/repos/{owner}/{repo}/entries looks the pull
// request up on the forge (the fake forges of tests/forge/fakes, over real
// HTTP, through mergeyard's real forge clients) and enqueues its head.

#include <doctest/doctest.h>

#include "fake_clients.h"
#include "forge/config_source.h"
#include "harness.h"

using namespace mergeyard;
using nlohmann::json;
using testing::ApiHarness;
using testing::FakeFlavor;
using testing::HarnessOptions;

namespace {

// A fake forge serving acme/widgets, a client of it, and the API harness using it.
// A merge check that answers what the test says.
class ScriptedMerges final : public engine::MergeChecker {
 public:
  using Answer = std::function<Result<engine::Mergeability>(const std::string& repo, const std::string& branch,
                                                            std::int64_t pr, const std::string& head)>;
  explicit ScriptedMerges(Answer answer) : answer_(std::move(answer)) {}
  Result<engine::Mergeability> Check(const std::string& repo, const std::string& branch, std::int64_t pr,
                                     const std::string& head) override {
    return answer_(repo, branch, pr, head);
  }

 private:
  Answer answer_;
};

struct ForgeSetup {
  SystemClock clock;
  testing::FakeForge fake;
  testing::ForgeClient client;
  forge::ForgeDirectory forges;
  forge::ForgeConfigSource configs{forges};
  ScriptedMerges clean{[](const std::string&, const std::string&, std::int64_t,
                          const std::string&) -> Result<engine::Mergeability> { return engine::Mergeability{}; }};
  std::unique_ptr<ApiHarness> h;

  // `opted_in`: main has a .mergeyard.yml from the start. `merges`: the merge
  // check (default: every pull request merges cleanly).
  explicit ForgeSetup(FakeFlavor flavor = FakeFlavor::kGithub, bool opted_in = true,
                      engine::MergeChecker* merges = nullptr)
      : fake(flavor, ApiHarness::kRepo), client(testing::ConnectTo(fake, clock)) {
    forges.Add(client.api);
    if (opted_in) fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 2\n"}});
    HarnessOptions o;
    o.forges = &forges;
    o.configs = &configs;
    o.merges = merges ? merges : &clean;
    h = std::make_unique<ApiHarness>(o);
  }

  // Pull request #n from a new branch, based on `base`; returns its head.
  std::string Open(std::int64_t n, const std::string& base = "main", bool draft = false, bool closed = false) {
    const std::string branch = "topic-" + std::to_string(n);
    const std::string head = fake.Commit(branch, {{"file-" + std::to_string(n) + ".txt", "change\n"}}, base);
    testing::FakePull p;
    p.number = n;
    p.head_branch = branch;
    p.base_branch = base;
    p.draft = draft;
    p.closed = closed;
    fake.AddPull(p);
    return head;
  }
};

const char* Name(FakeFlavor f) {
  return f == FakeFlavor::kGithub ? "github" : f == FakeFlavor::kGitlab ? "gitlab" : "gitea";
}

}  // namespace

TEST_SUITE("api") {

TEST_CASE("admin enqueue pins the pull request's head and enqueues it in its base branch's queue") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    ForgeSetup f(flavor);
    const std::string head = f.Open(301);
    auto r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 301, "priority": "high"})");
    CHECK(r.status == 202);
    CHECK(r.body["repo"] == "acme/widgets");
    CHECK(r.body["branch"] == "main");
    CHECK(r.body["pr"] == 301);
    CHECK(r.body["head_sha"] == head);
    CHECK(r.body["priority"] == queue::kPriorityHigh);
    CHECK(r.body["status"] == "accepted");
    f.h->Drain();
    auto s = f.h->State();
    REQUIRE(s.entries.count(301) == 1);
    CHECK(s.entries.at(301).head_sha == head);
    CHECK(s.entries.at(301).priority == queue::kPriorityHigh);
    // The queue tells the pull request, as for a comment command.
    bool told = false;
    for (const auto& rep : f.h->ports().reports())
      told = told || (rep.pr == 301 && rep.kind == queue::ReportKind::kQueued);
    CHECK(told);
  }
}

TEST_CASE("admin enqueue takes numeric priorities and defaults to normal") {
  ForgeSetup f;
  f.Open(1);
  f.Open(2);
  f.fake.Commit("release", {{"RELEASE", "1.0\n"}});
  f.Open(3, "release");
  CHECK(f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 1, "priority": 7})").status == 202);
  CHECK(f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 2})").status == 202);
  auto r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 3, "priority": "low"})");
  CHECK(r.status == 202);
  CHECK(r.body["branch"] == "release");
  f.h->Drain();
  CHECK(f.h->State().entries.at(1).priority == 7);
  CHECK(f.h->State().entries.at(2).priority == queue::kPriorityNormal);
  CHECK(f.h->State("release").entries.at(3).priority == queue::kPriorityLow);
  // The new queue is listed at once.
  auto list = f.h->Get("/api/v1/queues");
  CHECK(list.body["queues"].size() == 2);
}

TEST_CASE("admin enqueue without a priority keeps the priority of an entry already queued") {
  ForgeSetup f;
  f.Open(5);
  REQUIRE(f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 5, "priority": "high"})").status == 202);
  f.h->Drain();
  REQUIRE(f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 5})").status == 202);
  f.h->Drain();
  CHECK(f.h->State().entries.at(5).priority == queue::kPriorityHigh);
  REQUIRE(f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 5, "priority": "low"})").status == 202);
  f.h->Drain();
  CHECK(f.h->State().entries.at(5).priority == queue::kPriorityLow);
}

TEST_CASE("admin enqueue refuses drafts and closed pull requests with 409, unknown ones with 404") {
  ForgeSetup f;
  f.Open(10, "main", /*draft=*/true);
  f.Open(11, "main", false, /*closed=*/true);
  auto r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 10})");
  CHECK(r.status == 409);
  CHECK(r.code() == "pr_draft");
  r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 11})");
  CHECK(r.status == 409);
  CHECK(r.code() == "pr_closed");
  r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 999})");
  CHECK(r.status == 404);
  CHECK(r.code() == "unknown_pr");
  CHECK(r.body["error"]["message"].get<std::string>().find("#999") != std::string::npos);
  f.h->Drain();
  CHECK(f.h->engine().Queues().empty());
}

TEST_CASE("admin enqueue answers 422 for a bad body without asking the forge") {
  ForgeSetup f;
  f.Open(1);
  const size_t before = f.fake.Requests().size();
  struct Case { const char* body; const char* code; };
  for (const Case& c : {Case{"", "invalid_body"}, Case{"{", "invalid_body"}, Case{"42", "invalid_body"},
                        Case{"{}", "invalid_pr"}, Case{R"({"pr": "1"})", "invalid_pr"},
                        Case{R"({"pr": 0})", "invalid_pr"}, Case{R"({"pr": -3})", "invalid_pr"},
                        Case{R"({"pr": 1.5})", "invalid_pr"}, Case{R"({"pr": 1, "priority": 300})", "invalid_priority"},
                        Case{R"({"pr": 1, "priority": "asap"})", "invalid_priority"},
                        Case{R"({"pr": 1, "priority": null})", "invalid_priority"}}) {
    CAPTURE(c.body);
    auto r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", c.body);
    CHECK(r.status == 422);
    CHECK(r.code() == c.code);
  }
  CHECK(f.fake.Requests().size() == before);
}

TEST_CASE("admin enqueue without a forge answers 503 and says so") {
  ApiHarness h;
  auto r = h.Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 1})");
  CHECK(r.status == 503);
  CHECK(r.code() == "forge_unavailable");
  CHECK(r.body["error"]["message"].get<std::string>().find("no forge is configured") != std::string::npos);
}

TEST_CASE("admin enqueue answers 503 when the forge keeps failing") {
  ForgeSetup f;
  f.Open(1);
  std::vector<testing::Fault> faults(12, testing::Fault{502});
  f.fake.InjectFaults(faults);
  auto r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 1})");
  CHECK(r.status == 503);
  CHECK(r.code() == "forge_unavailable");
  f.h->Drain();
  CHECK(f.h->engine().Queues().empty());
}

TEST_CASE("admin enqueue needs .mergeyard.yml and applies its queue settings") {
  ForgeSetup f(FakeFlavor::kGithub, /*opted_in=*/false);
  f.Open(1);
  auto r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 1})");
  CHECK(r.status == 422);
  CHECK(r.code() == "not_opted_in");

  f.fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: 3\n  max_wait: 5m\n"}});
  r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 1})");
  CHECK(r.status == 202);
  f.h->Drain();
  auto s = f.h->State();
  CHECK(s.entries.count(1) == 1);
  CHECK(s.config.target_batch_size == 3);
  CHECK(s.config.max_wait == 5 * kMinute);

  f.fake.Commit("main", {{".mergeyard.yml", "queue:\n  target_batch_size: [\n"}});
  f.Open(2);
  r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 2})");
  CHECK(r.status == 202);  // the queue keeps its last good configuration
}

TEST_CASE("admin enqueue asks whether the pull request merges: conflicts answer 409 naming the files") {
  std::vector<std::string> asked;
  engine::Mergeability answer{false, {"src/a.c", "README.md"}};
  ScriptedMerges merges([&](const std::string& repo, const std::string& branch, std::int64_t pr,
                            const std::string& head) -> Result<engine::Mergeability> {
    asked.push_back(repo + "@" + branch + "#" + std::to_string(pr) + ":" + head);
    return answer;
  });
  ForgeSetup f(FakeFlavor::kGithub, true, &merges);
  const std::string head = f.Open(401);
  auto r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 401})");
  CHECK(r.status == 409);
  CHECK(r.body["error"]["code"] == "pr_conflicts");
  CHECK(r.body["error"]["message"].get<std::string>().find("src/a.c, README.md") != std::string::npos);
  REQUIRE(asked.size() == 1);
  CHECK(asked[0] == "acme/widgets@main#401:" + head);
  f.h->Drain();
  CHECK_FALSE(f.h->engine().Snapshot({ApiHarness::kRepo, "main"}).has_value());  // nothing was posted

  answer.conflicting_paths.clear();  // git could not name them: still refused
  r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 401})");
  CHECK(r.status == 409);
  CHECK(r.body["error"]["message"] == "pull request #401 does not merge cleanly with main");

  answer.clean = true;  // clean now
  r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 401})");
  CHECK(r.status == 202);
  f.h->Drain();
  CHECK(f.h->State().entries.count(401) == 1);
}

TEST_CASE("admin enqueue answers 503 when the merge check fails transiently, and enqueues nothing") {
  ScriptedMerges merges([](const std::string&, const std::string&, std::int64_t,
                           const std::string&) -> Result<engine::Mergeability> { return Transient("fetch failed"); });
  ForgeSetup f(FakeFlavor::kGithub, true, &merges);
  f.Open(402);
  auto r = f.h->Admin("POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 402})");
  CHECK(r.status == 503);
  f.h->Drain();
  CHECK_FALSE(f.h->engine().Snapshot({ApiHarness::kRepo, "main"}).has_value());
}

}  // TEST_SUITE
