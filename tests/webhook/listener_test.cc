#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <sstream>
#include <thread>

#include "base/metrics.h"
#include "forge/signature.h"
#include "store/database.h"
#include "webhook/delivery_store.h"
#include "webhook/listener.h"
#include "../forge/fixture.h"

using namespace mergeyard;
using namespace mergeyard::webhook;
using mergeyard::testing::ReadFixture;

namespace {

std::string TempDbPath() {
  static std::atomic<int> n{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("mergeyard-webhook-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::create_directories(dir);
  return (dir / "db.sqlite").string();
}

// A listener on 127.0.0.1 with a fresh database.
struct Harness {
  SystemClock clock;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<DeliveryStore> deliveries;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<int> wakeups{0};

  explicit Harness(ListenerOptions options) {
    auto opened = store::Database::Open(TempDbPath());
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().ToString()));
    db = std::move(*opened);
    auto ds = DeliveryStore::Open(*db, clock);
    REQUIRE(ds.ok());
    deliveries = std::move(*ds);
    RegisterRoutes(server, std::move(options), *deliveries, [this] { ++wakeups; });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Harness() {
    server.stop();
    thread.join();
    deliveries.reset();
    const std::string path = db->path();
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(path).parent_path(), ec);
  }
  std::int64_t Count(const std::string& state) { return *deliveries->Count(state); }
};

ListenerOptions Options() {
  ListenerOptions o;
  o.secrets.default_secret = "s3cret";
  o.secrets.per_repo["Aneesh-Hegde/gitea-webhook"] = "repo-secret";
  o.max_body_bytes = 64 * 1024;
  return o;
}

httplib::Result PostGithub(int port, const std::string& body, const std::string& event,
                           const std::string& delivery, const std::string& secret) {
  httplib::Client cli("127.0.0.1", port);
  httplib::Headers h = {{"X-GitHub-Event", event}, {"X-GitHub-Delivery", delivery}};
  if (!secret.empty()) h.emplace("X-Hub-Signature-256", "sha256=" + forge::HmacSha256Hex(secret, body));
  return cli.Post("/webhooks/github", h, body, "application/json");
}

// The value of the sample `series` (name and labels exactly as rendered), or -1.
double Sample(const metrics::Registry& r, const std::string& series) {
  std::istringstream in(r.Render());
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

std::string ErrorCodeOf(const httplib::Result& r) {
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  return j.is_object() ? j["error"]["code"].get<std::string>() : "";
}

}  // namespace

TEST_SUITE("webhook") {

TEST_CASE("a signed delivery is stored and answered 202, a redelivery only acknowledged") {
  Harness h(Options());
  const std::string body = ReadFixture("github/issue_comment.created.json");
  auto r = PostGithub(h.port, body, "issue_comment", "guid-1", "s3cret");
  REQUIRE(r);
  CHECK(r->status == 202);
  CHECK(nlohmann::json::parse(r->body)["status"] == "accepted");
  CHECK(h.Count("pending") == 1);
  CHECK(h.wakeups == 1);
  auto again = PostGithub(h.port, body, "issue_comment", "guid-1", "s3cret");
  REQUIRE(again);
  CHECK(again->status == 202);
  CHECK(nlohmann::json::parse(again->body)["status"] == "duplicate");
  CHECK(h.Count("pending") == 1);
  CHECK(h.wakeups == 1);
  auto stored = h.deliveries->Due(h.clock.Now() + 1000, 10);
  REQUIRE(stored.ok());
  REQUIRE(stored->size() == 1);
  CHECK((*stored)[0].body == body);  // byte for byte
  CHECK((*stored)[0].event == "issue_comment");
}

TEST_CASE("a missing or wrong signature gets 401 and nothing is stored") {
  Harness h(Options());
  const std::string body = ReadFixture("github/push.json");
  auto missing = PostGithub(h.port, body, "push", "g-2", "");
  REQUIRE(missing);
  CHECK(missing->status == 401);
  CHECK(ErrorCodeOf(missing) == "unauthorized");
  auto wrong = PostGithub(h.port, body, "push", "g-3", "not-the-secret");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(h.Count("pending") + h.Count("done") == 0);
}

TEST_CASE("a repository with its own secret accepts only that one") {
  Harness h(Options());
  const std::string body = ReadFixture("gitea/issue_comment.created.json");
  httplib::Client cli("127.0.0.1", h.port);
  auto post = [&](const std::string& secret) {
    httplib::Headers hd = {{"X-Gitea-Event", "issue_comment"}, {"X-Gitea-Event-Type", "pull_request_comment"},
                           {"X-Gitea-Delivery", "gd-" + secret},
                           {"X-Gitea-Signature", forge::HmacSha256Hex(secret, body)}};
    return cli.Post("/webhooks/gitea", hd, body, "application/json");
  };
  auto with_default = post("s3cret");
  REQUIRE(with_default);
  CHECK(with_default->status == 401);
  auto with_repo = post("repo-secret");
  REQUIRE(with_repo);
  CHECK(with_repo->status == 202);
  CHECK(h.Count("pending") == 1);
}

TEST_CASE("GitLab token, Forgejo signature and ignored events are stored the right way") {
  Harness h(Options());
  httplib::Client cli("127.0.0.1", h.port);
  const std::string note = ReadFixture("gitlab/note.merge_request.json");
  auto bad = cli.Post("/webhooks/gitlab", {{"X-Gitlab-Event", "Note Hook"}, {"X-Gitlab-Token", "nope"}},
                      note, "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 401);
  auto good = cli.Post("/webhooks/gitlab",
                       {{"X-Gitlab-Event", "Note Hook"}, {"X-Gitlab-Token", "s3cret"},
                        {"Idempotency-Key", "idem-1"}}, note, "application/json");
  REQUIRE(good);
  CHECK(good->status == 202);
  const std::string push = ReadFixture("forgejo/push.json");
  auto fj = cli.Post("/webhooks/gitea",
                     {{"X-Forgejo-Event", "push"}, {"X-Forgejo-Event-Type", "push"},
                      {"X-Forgejo-Delivery", "fj-1"},
                      {"X-Forgejo-Signature", forge::HmacSha256Hex("s3cret", push)}},
                     push, "application/json");
  REQUIRE(fj);
  CHECK(fj->status == 202);
  const std::string issue_note = ReadFixture("gitlab/note.issue.json");
  auto ignored = cli.Post("/webhooks/gitlab",
                          {{"X-Gitlab-Event", "Note Hook"}, {"X-Gitlab-Token", "s3cret"},
                           {"X-Gitlab-Event-UUID", "uuid-7"}}, issue_note, "application/json");
  REQUIRE(ignored);
  CHECK(ignored->status == 202);
  CHECK(h.Count("pending") == 2);
  CHECK(h.Count("done") == 1);  // the issue note: kept for dedup, never processed
}

TEST_CASE("malformed JSON and oversized bodies get a 4xx JSON error; authentic unknown kinds a 2xx; nothing is stored") {
  Harness h(Options());
  auto malformed = PostGithub(h.port, "{\"action\": ", "issue_comment", "m-1", "s3cret");
  REQUIRE(malformed);
  CHECK(malformed->status == 400);
  CHECK(ErrorCodeOf(malformed) == "malformed_payload");
  auto unknown = PostGithub(h.port, "{}", "sponsorship", "m-2", "s3cret");
  REQUIRE(unknown);
  CHECK(unknown->status == 202);
  CHECK(nlohmann::json::parse(unknown->body)["status"] == "ignored");
  auto forged = PostGithub(h.port, "{}", "sponsorship", "m-2b", "wrong-secret");
  REQUIRE(forged);
  CHECK(forged->status == 401);  // only an authentic delivery is answered 2xx
  auto no_event = PostGithub(h.port, "{}", "", "m-3", "s3cret");
  REQUIRE(no_event);
  CHECK(no_event->status == 400);
  const std::string big(70 * 1024, ' ');
  auto too_big = PostGithub(h.port, "{" + big + "}", "push", "m-4", "s3cret");
  REQUIRE(too_big);
  CHECK(too_big->status == 413);
  CHECK(ErrorCodeOf(too_big) == "payload_too_large");
  CHECK(h.Count("pending") + h.Count("done") + h.Count("failed") == 0);
}

TEST_CASE("concurrent deliveries are all stored once each") {
  Harness h(Options());
  const std::string body = ReadFixture("github/pull_request.synchronize.json");
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        // every delivery is sent twice, by two threads
        auto r = PostGithub(h.port, body, "pull_request", "c-" + std::to_string((t % 2) * 25 + i), "s3cret");
        if (r && r->status == 202 && nlohmann::json::parse(r->body)["status"] == "accepted") ++accepted;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(accepted == 50);
  CHECK(h.Count("pending") == 50);
}

TEST_CASE("retries are scheduled and give up after the last attempt") {
  Harness h(Options());
  const std::string body = ReadFixture("github/push.json");
  REQUIRE(PostGithub(h.port, body, "push", "r-1", "s3cret")->status == 202);
  auto due = h.deliveries->Due(h.clock.Now() + 1000, 10);
  REQUIRE(due->size() == 1);
  const std::int64_t id = (*due)[0].id;
  const Time later = h.clock.Now() + 60'000;
  CHECK(h.deliveries->MarkRetry(id, "forge down", later, 2).ok());
  CHECK(h.deliveries->Due(h.clock.Now() + 1000, 10)->empty());
  CHECK(h.deliveries->Due(later, 10)->size() == 1);
  CHECK(h.deliveries->MarkRetry(id, "forge down", later, 2).ok());
  CHECK(h.Count("failed") == 1);
  CHECK(h.deliveries->Due(later + 1, 10)->empty());
}

TEST_CASE("every delivery is counted by forge and result in the metrics") {
  metrics::Registry registry;
  ListenerOptions options = Options();
  options.metrics = &registry;
  Harness h(std::move(options));
  const std::string body = ReadFixture("github/issue_comment.created.json");
  REQUIRE(PostGithub(h.port, body, "issue_comment", "x-1", "wrong")->status == 401);
  REQUIRE(PostGithub(h.port, body, "issue_comment", "x-2", "s3cret")->status == 202);
  REQUIRE(PostGithub(h.port, body, "issue_comment", "x-2", "s3cret")->status == 202);
  REQUIRE(PostGithub(h.port, ReadFixture("github/push.tag-deleted.json"), "push", "x-3", "s3cret")->status == 202);
  REQUIRE(PostGithub(h.port, "{}", "sponsorship", "x-4", "s3cret")->status == 202);
  REQUIRE(PostGithub(h.port, "{\"action\": ", "issue_comment", "x-5", "s3cret")->status == 400);
  REQUIRE(PostGithub(h.port, "{" + std::string(70 * 1024, ' ') + "}", "push", "x-6", "s3cret")->status == 413);
  httplib::Client cli("127.0.0.1", h.port);
  REQUIRE(cli.Post("/webhooks/gitlab", {{"X-Gitlab-Event", "Note Hook"}, {"X-Gitlab-Token", "nope"}},
                   ReadFixture("gitlab/note.merge_request.json"), "application/json")->status == 401);

  auto deliveries = [&](const std::string& forge, const std::string& result) {
    return Sample(registry, "mergeyard_webhook_deliveries_total{forge=\"" + forge + "\",result=\"" + result + "\"}");
  };
  CHECK(deliveries("github", "bad_signature") == 1);
  CHECK(deliveries("github", "accepted") == 1);
  CHECK(deliveries("github", "duplicate") == 1);
  CHECK(deliveries("github", "ignored") == 1);
  CHECK(deliveries("github", "ignored_kind") == 1);
  CHECK(deliveries("github", "malformed") == 1);
  CHECK(deliveries("github", "too_large") == 1);
  CHECK(deliveries("gitlab", "bad_signature") == 1);
  CHECK(deliveries("gitlab", "accepted") == -1);  // no such series yet
  CHECK(registry.Render().find("# TYPE mergeyard_webhook_deliveries_total counter\n") != std::string::npos);
}

TEST_CASE("handled deliveries are pruned after the retention, pending ones never") {
  Harness h(Options());
  REQUIRE(PostGithub(h.port, ReadFixture("github/push.json"), "push", "p-1", "s3cret")->status == 202);
  REQUIRE(PostGithub(h.port, ReadFixture("github/push.tag-deleted.json"), "push", "p-2", "s3cret")->status == 202);
  CHECK(h.Count("pending") == 1);
  CHECK(h.Count("done") == 1);
  CHECK(*h.deliveries->Prune(h.clock.Now() - 60'000) == 0);  // both are newer
  CHECK(*h.deliveries->Prune(h.clock.Now() + 60'000) == 1);  // only the handled one goes
  CHECK(h.Count("pending") == 1);
  CHECK(h.Count("done") == 0);
  // once pruned, the same delivery id is accepted again
  auto again = PostGithub(h.port, ReadFixture("github/push.tag-deleted.json"), "push", "p-2", "s3cret");
  CHECK(nlohmann::json::parse(again->body)["status"] == "accepted");
}

}  // TEST_SUITE
