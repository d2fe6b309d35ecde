// Every driver's ListChecks / CancelChecks / RequiredChecks against the local
// forge with its CI enabled, and the local forge's CI webhooks received,
// verified and parsed the way mergeyard's listener does.

#include <doctest/doctest.h>
#include <httplib.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "fakes/fake_clients.h"
#include "forge/payload.h"
#include "forge/webhook_headers.h"
#include "temp_dir.h"

using namespace mergeyard;
using namespace mergeyard::forge;
using namespace mergeyard::testing;

namespace {

constexpr const char* kRepo = "acme/widgets";
constexpr const char* kSecret = "ci-webhook-secret";

const char* Name(FakeFlavor f) {
  return f == FakeFlavor::kGithub ? "github" : f == FakeFlavor::kGitlab ? "gitlab" : "gitea";
}

bool WaitFor(const std::function<bool()>& done, int timeout_ms = 10000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
  }
  return done();
}

// mergeyard's webhook path in small: a loopback server that reads the
// headers, verifies the delivery and parses it into a forge event.
class WebhookSink {
 public:
  WebhookSink() {
    server_.Post(R"(/webhooks/(github|gitlab|gitea))", [this](const httplib::Request& req, httplib::Response& res) {
      ForgeKind route = ForgeKind::kGithub;
      ParseForgeKind(req.matches[1], &route);
      const WebhookMeta meta = ReadWebhookHeaders(
          route, [&](const std::string& name) { return req.get_header_value(name); }, req.body);
      std::lock_guard<std::mutex> lock(mu_);
      if (!VerifyWebhook(meta, kSecret, req.body)) {
        ++rejected_;
        res.status = 401;
        return;
      }
      events_.push_back(meta.event);
      auto ev = ParsePayload(meta.kind, meta.event, req.body);
      if (!ev.ok()) ++unparsed_;
      else if (std::holds_alternative<CiReported>(*ev)) reports_.push_back(std::get<CiReported>(*ev));
      res.status = 202;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~WebhookSink() {
    server_.stop();
    thread_.join();
  }

  std::string Url(FakeFlavor flavor) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/webhooks/" + Name(flavor);
  }
  std::vector<std::string> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<CiReported> Reports() {
    std::lock_guard<std::mutex> lock(mu_);
    return reports_;
  }
  int Rejected() {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_ + unparsed_;
  }
  // The newest state reported for check `name` on `sha`, if any.
  std::optional<CiState> Latest(const std::string& sha, const std::string& name) {
    std::optional<CiState> state;
    for (const auto& r : Reports()) {
      for (const auto& c : r.checks) {
        if (c.sha == sha && c.name == name) state = c.state;
      }
    }
    return state;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> events_;
  std::vector<CiReported> reports_;
  int rejected_ = 0;
  int unparsed_ = 0;
};

std::optional<CiCheck> Named(const std::vector<CiCheck>& checks, const std::string& name) {
  for (const auto& c : checks) {
    if (c.name == name) return c;
  }
  return std::nullopt;
}

// The state of check `name`, nullopt when there is no such check.
std::optional<CiState> StateOf(const Result<std::vector<CiCheck>>& checks, const std::string& name) {
  REQUIRE(checks.ok());
  const auto c = Named(*checks, name);
  return c ? std::optional(c->state) : std::nullopt;
}

std::vector<std::string> Expected(FakeFlavor flavor) {
  if (flavor == FakeFlavor::kGitlab) return {kGitlabPipelineCheck, "build", "test"};
  return {"build", "test"};
}

// True when every check in `names` has left pending on `sha`.
bool Decided(ForgeApi& api, const std::string& sha, const std::vector<std::string>& names) {
  auto checks = api.ListChecks(kRepo, sha);
  if (!checks.ok()) return false;
  for (const auto& name : names) {
    auto c = Named(*checks, name);
    if (!c || c->state == CiState::kPending) return false;
  }
  return true;
}

size_t RequestsSince(FakeForge& fake, size_t before) { return fake.Requests().size() - before; }

// Where the local forge serves its pages: "http://127.0.0.1:PORT/acme/widgets/".
std::string WebPages(FakeForge& fake) {
  const std::string base = fake.base_url();
  return base.substr(0, base.find('/', std::string("http://").size())) + "/" + kRepo + "/";
}

// The local forge of `flavor` with its CI started with `ci` (webhooks to
// `sink` when given), and a client of it.
struct CiForge {
  CiForge(FakeFlavor flavor, const LocalCiOptions& ci, WebhookSink* sink = nullptr)
      : fake(flavor, kRepo), client(ConnectTo(fake, clock)), api(*client.api) {
    if (sink) fake.SetWebhook(sink->Url(flavor), kSecret);
    fake.EnableCi(ci);
  }
  // Pushes a new commit to mergeyard/batch/<n>; its sha.
  std::string Batch(int n, const std::string& file = "a.txt", const std::string& text = "a\n") {
    return fake.Commit("mergeyard/batch/" + std::to_string(n), {{file, text}});
  }

  SystemClock clock;
  FakeForge fake;
  ForgeClient client;
  ForgeApi& api;
};

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("every driver reads a passing and a failing CI run's verdicts on their exact commits, every page of them") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    CiForge w(flavor, {.command = "test ! -e broken"});  // the checked-out tree decides
    FakeForge& fake = w.fake;
    const std::string good = w.Batch(1);
    const std::string bad = w.Batch(2, "broken", "yes\n");
    REQUIRE(WaitFor([&] { return Decided(w.api, good, Expected(flavor)) && Decided(w.api, bad, Expected(flavor)); }));

    const size_t before = fake.Requests().size();
    auto passed = w.api.ListChecks(kRepo, good);
    REQUIRE(passed.ok());
    CHECK(RequestsSince(fake, before) == (flavor == FakeFlavor::kGitea ? 1u : 2u));
    CHECK(passed->size() == Expected(flavor).size());
    for (const auto& name : Expected(flavor)) CHECK(StateOf(passed, name) == CiState::kSuccess);
    for (const auto& check : *passed) {
      CAPTURE(check.name);
      CHECK(check.sha == good);
      CHECK(check.state == CiState::kSuccess);
      CHECK(check.url.rfind(WebPages(fake), 0) == 0);  // the forge's own page
    }
    auto failed = w.api.ListChecks(kRepo, bad);
    REQUIRE(failed.ok());
    CHECK(failed->size() == Expected(flavor).size());
    for (const auto& check : *failed) {
      CAPTURE(check.name);
      CHECK(check.sha == bad);
      CHECK(check.state == CiState::kFailure);
    }
    CHECK(fake.CiRuns() == std::vector<std::string>{good, bad});
    auto none = w.api.ListChecks(kRepo, fake.Tip("main"));
    REQUIRE(none.ok());
    CHECK(none->empty());

    // More checks than a page holds: every page is read. GitHub: its combined
    // status (1 page), 120 check runs (2 pages of 100); GitLab: its pipelines,
    // then 120 jobs (2 pages of 100); Gitea: 240 statuses, each context's
    // pending and success (5 pages of 50).
    std::vector<std::string> names;
    for (int i = 0; i < 120; ++i) names.push_back("check-" + std::to_string(i));
    fake.EnableCi({.checks = names});
    const std::string many = w.Batch(3);
    REQUIRE(WaitFor([&] { return Decided(w.api, many, {names.front(), names.back()}); }));
    const size_t paged = fake.Requests().size();
    auto all = w.api.ListChecks(kRepo, many);
    REQUIRE(all.ok());
    CHECK(RequestsSince(fake, paged) == (flavor == FakeFlavor::kGitea ? 5u : 3u));
    CHECK(all->size() == names.size() + (flavor == FakeFlavor::kGitlab ? 1 : 0));
    for (const auto& name : names) CHECK(StateOf(all, name) == CiState::kSuccess);
  }
}

TEST_CASE("statuses and check runs a client posts are read back beside the CI's") {
  SystemClock clock;
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    FakeForge fake(flavor, kRepo);
    ForgeClient c = ConnectTo(fake, clock, /*check_runs=*/flavor == FakeFlavor::kGithub);
    const std::string head = fake.Commit("feature", {{"f.txt", "x\n"}});
    CommitStatus st;
    st.sha = head;
    st.context = "mergeyard/batch";
    st.state = StatusState::kRunning;
    REQUIRE(c.api->SetStatus(kRepo, st).ok());
    st.state = StatusState::kFailure;
    REQUIRE(c.api->SetStatus(kRepo, st).ok());
    auto checks = c.api->ListChecks(kRepo, head);
    REQUIRE(checks.ok());
    REQUIRE(checks->size() == 1);  // the newest word of the one name
    CHECK((*checks)[0].name == "mergeyard/batch");
    CHECK((*checks)[0].state == CiState::kFailure);
  }
}

TEST_CASE("GitHub's CI reports check runs or commit statuses, each with its webhooks") {
  for (bool check_runs : {true, false}) {
    CAPTURE(check_runs);
    WebhookSink sink;
    CiForge w(FakeFlavor::kGithub, {.check_runs = check_runs}, &sink);
    const std::string sha = w.Batch(7);
    REQUIRE(WaitFor([&] { return sink.Latest(sha, kLocalCiWorkflow) == CiState::kSuccess; }));
    CHECK(sink.Latest(sha, "build") == CiState::kSuccess);
    CHECK(sink.Latest(sha, "test") == CiState::kSuccess);
    CHECK(sink.Rejected() == 0);
    const auto events = sink.Events();
    auto count = [&](const char* e) { return std::count(events.begin(), events.end(), e); };
    CHECK(count("check_run") == (check_runs ? 4 : 0));  // created and completed, per check
    CHECK(count("check_suite") == (check_runs ? 1 : 0));
    CHECK(count("status") == (check_runs ? 0 : 4));     // pending and success, per check
    CHECK(count("workflow_run") == 2);
    if (check_runs) {
      bool polled = false;
      for (const auto& r : sink.Reports()) polled |= r.poll_shas == std::vector<std::string>{sha};
      CHECK(polled);
    }
    for (const auto& r : sink.Reports()) {
      CHECK(r.repo.full_name == kRepo);
      CHECK(r.repo.installation_id == w.fake.installation_id());
    }
    auto listed = w.api.ListChecks(kRepo, sha);
    REQUIRE(listed.ok());
    CHECK(listed->size() == 2);
    CHECK(StateOf(listed, "build") == CiState::kSuccess);
    CHECK(StateOf(listed, "test") == CiState::kSuccess);
  }
}

TEST_CASE("the local forge's CI webhooks verify and parse into CiReported for every flavour") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    WebhookSink sink;
    CiForge w(flavor, {.command = "exit 3"}, &sink);
    const std::string sha = w.Batch(3);
    REQUIRE(WaitFor([&] {
      for (const auto& name : Expected(flavor)) {
        if (sink.Latest(sha, name) != CiState::kFailure) return false;
      }
      return true;
    }));
    CHECK(sink.Rejected() == 0);
    bool saw_pending = false;
    for (const auto& r : sink.Reports()) {
      CHECK(r.repo.full_name == kRepo);
      for (const auto& c : r.checks) {
        CHECK(c.sha == sha);
        CHECK_FALSE(c.url.empty());
        saw_pending |= c.state == CiState::kPending && c.name == "build";
      }
    }
    CHECK(saw_pending);  // the run was reported as running before its verdict
    if (flavor == FakeFlavor::kGitlab) {
      const auto events = sink.Events();
      CHECK(std::count(events.begin(), events.end(), "Pipeline Hook") == 2);
      CHECK(std::count(events.begin(), events.end(), "Job Hook") == 4);
    }
  }
}

TEST_CASE("with webhooks dropped the verdicts are only visible through REST") {
  WebhookSink sink;
  CiForge w(FakeFlavor::kGitlab, {.send_webhooks = false}, &sink);
  const std::string sha = w.Batch(1);
  REQUIRE(WaitFor([&] { return Decided(w.api, sha, Expected(FakeFlavor::kGitlab)); }));
  CHECK(StateOf(w.api.ListChecks(kRepo, sha), kGitlabPipelineCheck) == CiState::kSuccess);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(sink.Events().empty());
}

TEST_CASE("a check that never reports stays pending, and so does its run, until cancelled") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab}) {
    CAPTURE(Name(flavor));
    CiForge w(flavor, {.never_report = {"test"}});
    const std::string sha = w.Batch(4);
    const std::string other = w.Batch(5);  // another commit's run, left alone
    REQUIRE(WaitFor([&] { return Decided(w.api, sha, {"build"}) && Decided(w.api, other, {"build"}); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto checks = w.api.ListChecks(kRepo, sha);
    CHECK(StateOf(checks, "build") == CiState::kSuccess);
    CHECK(StateOf(checks, "test") == CiState::kPending);
    if (flavor == FakeFlavor::kGitlab) CHECK(StateOf(checks, kGitlabPipelineCheck) == CiState::kPending);

    REQUIRE(w.api.CancelChecks(kRepo, sha).ok());
    CHECK(w.fake.CiCancelled() == std::vector<std::string>{sha});
    REQUIRE(WaitFor([&] { return Decided(w.api, sha, {"test"}); }));
    checks = w.api.ListChecks(kRepo, sha);
    CHECK(StateOf(checks, "build") == CiState::kSuccess);  // a verdict stays
    CHECK(StateOf(checks, "test") == CiState::kFailure);
    CHECK(StateOf(w.api.ListChecks(kRepo, other), "test") == CiState::kPending);
  }
}

TEST_CASE("cancelling a slow run kills its command and reports it cancelled") {
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab}) {
    CAPTURE(Name(flavor));
    TempDir tmp;
    CiForge w(flavor, {.command = "echo $$ > " + tmp.File("pid") + "; sleep 30"});
    FakeForge& fake = w.fake;
    const std::string sha = w.Batch(5);
    int pid = 0;
    REQUIRE(WaitFor([&] { return (std::ifstream(tmp.File("pid")) >> pid) && pid > 0; }));

    const auto started = std::chrono::steady_clock::now();
    REQUIRE(w.api.CancelChecks(kRepo, sha).ok());
    REQUIRE(WaitFor([&] { return Decided(w.api, sha, Expected(flavor)); }, 5000));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    CHECK(fake.CiCancelled() == std::vector<std::string>{sha});
    CHECK(::kill(pid, 0) != 0);  // the command is gone (and reaped)
    auto checks = w.api.ListChecks(kRepo, sha);
    REQUIRE(checks.ok());
    CHECK(checks->size() == Expected(flavor).size());
    for (const auto& check : *checks) {
      CAPTURE(check.name);
      CHECK(check.state == CiState::kFailure);
      CHECK(check.conclusion == (flavor == FakeFlavor::kGithub ? "cancelled" : "canceled"));
    }

    const size_t before = fake.Requests().size();
    REQUIRE(w.api.CancelChecks(kRepo, sha).ok());  // idempotent: nothing left to cancel
    CHECK(RequestsSince(fake, before) == 1);          // the listing only
    CHECK(fake.CiCancelled().size() == 1);
  }
}

TEST_CASE("Gitea has nothing to cancel: CancelChecks asks nothing and the run goes on") {
  CiForge w(FakeFlavor::kGitea, {.delay_ms = 150});
  const std::string sha = w.Batch(6);
  REQUIRE(WaitFor([&] { return w.fake.CiRuns().size() == 1; }));
  const size_t before = w.fake.Requests().size();
  REQUIRE(w.api.CancelChecks(kRepo, sha).ok());
  CHECK(RequestsSince(w.fake, before) == 0);
  REQUIRE(WaitFor([&] { return Decided(w.api, sha, {"build", "test"}); }));
  CHECK(StateOf(w.api.ListChecks(kRepo, sha), "test") == CiState::kSuccess);
  CHECK(w.fake.CiCancelled().empty());
}

TEST_CASE("required checks come from branch protection; an unprotected branch requires none") {
  SystemClock clock;
  for (FakeFlavor flavor : {FakeFlavor::kGithub, FakeFlavor::kGitlab, FakeFlavor::kGitea}) {
    CAPTURE(Name(flavor));
    FakeForge fake(flavor, kRepo);
    ForgeClient c = ConnectTo(fake, clock);
    const std::vector<std::string> names = {"build", "test (ubuntu-latest)"};
    fake.SetRequiredChecks("main", names);
    fake.SetRequiredChecks("release/1.x", {"build"});
    const size_t before = fake.Requests().size();
    auto main = c.api->RequiredChecks(kRepo, "main");
    REQUIRE(main.ok());
    auto release = c.api->RequiredChecks(kRepo, "release/1.x");
    REQUIRE(release.ok());
    auto dev = c.api->RequiredChecks(kRepo, "dev");
    REQUIRE(dev.ok());
    CHECK(dev->empty());
    if (flavor == FakeFlavor::kGitlab) {
      CHECK(main->empty());  // GitLab has no such rule, and nothing is asked
      CHECK(RequestsSince(fake, before) == 0);
    } else {
      CHECK(*main == names);
      CHECK(*release == std::vector<std::string>{"build"});
    }
  }
}

TEST_CASE("a batch branch pushed again runs CI on its new commit; a commit runs once") {
  FakeForge fake(FakeFlavor::kGithub, kRepo);
  LocalCiOptions ci;
  ci.delay_for = [](const std::string&) { return 0; };
  fake.EnableCi(ci);
  fake.Commit("feature", {{"f.txt", "f\n"}});  // not a batch branch
  const std::string first = fake.Commit("mergeyard/batch/1", {{"a.txt", "a\n"}});
  REQUIRE(WaitFor([&] { return fake.CiRuns().size() == 1; }));
  const std::string second = fake.Commit("mergeyard/batch/1", {{"a.txt", "b\n"}});
  REQUIRE(WaitFor([&] { return fake.CiRuns().size() == 2; }));
  fake.SetBranch("mergeyard/batch/2", first);  // a commit CI already ran
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(fake.CiRuns() == std::vector<std::string>{first, second});
}

TEST_CASE("a run's verdicts wait for its delay") {
  CiForge w(FakeFlavor::kGithub, {.delay_for = [](const std::string&) { return 400; }, .check_runs = false});
  const auto pushed = std::chrono::steady_clock::now();
  const std::string sha = w.Batch(9);
  REQUIRE(WaitFor([&] { return w.api.ListChecks(kRepo, sha)->size() == 2; }));
  CHECK(StateOf(w.api.ListChecks(kRepo, sha), "build") == CiState::kPending);
  REQUIRE(WaitFor([&] { return Decided(w.api, sha, {"build", "test"}); }));
  CHECK(std::chrono::steady_clock::now() - pushed >= std::chrono::milliseconds(400));
}

}  // TEST_SUITE
