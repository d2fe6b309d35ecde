#pragma once
// The whole webhook path on loopback: a fake forge, mergeyard's forge client,
// config source, reporter, delivery store, listener and processor, with a
// recording EventSink standing in for the engine.

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "fake_clients.h"
#include "forge/config_source.h"
#include "forge/directory.h"
#include "forge/reporter.h"
#include "forge/signature.h"
#include "store/database.h"
#include "webhook/delivery_store.h"
#include "webhook/listener.h"
#include "webhook/processor.h"

namespace mergeyard::testing {

class RecordingSink final : public engine::EventSink {
 public:
  void Post(const engine::QueueKey& key, queue::Event event) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.emplace_back(key, std::move(event));
  }
  std::vector<std::pair<engine::QueueKey, queue::Event>> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  template <class T>
  std::vector<T> Of() {
    std::vector<T> out;
    for (auto& [k, e] : Events()) {
      if (auto* v = std::get_if<T>(&e)) out.push_back(*v);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<engine::QueueKey, queue::Event>> events_;
};

// Mergeability from the fake forge's own git repository (git merge-tree).
class FakeMergeChecker final : public engine::MergeChecker {
 public:
  explicit FakeMergeChecker(FakeForge& fake) : fake_(fake) {}
  Result<engine::Mergeability> Check(const std::string&, const std::string& branch, std::int64_t,
                                      const std::string& head) override {
    engine::Mergeability m;
    m.clean = fake_.MergesCleanly(branch, head, &m.conflicting_paths);
    return m;
  }

 private:
  FakeForge& fake_;
};

inline std::string TempPath(const std::string& name) {
  static std::atomic<int> n{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("mergeyard-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

struct CommandHarness {
  static constexpr const char* kSecret = "hook-secret";
  static constexpr const char* kRepo = "acme/widgets";

  SystemClock clock;
  FakeForge fake;
  ForgeClient client;
  forge::ForgeDirectory forges;
  forge::ForgeConfigSource configs{forges};
  FakeMergeChecker merges{fake};
  forge::Reporter reporter;
  RecordingSink sink;
  forge::Admitter admitter{configs, merges, sink};
  std::unique_ptr<store::Database> db;
  std::unique_ptr<webhook::DeliveryStore> deliveries;
  std::unique_ptr<webhook::Processor> processor;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<std::int64_t> next_comment{1};

  static forge::ReporterOptions FastReporter() {
    forge::ReporterOptions o;
    o.dashboard_url = "http://dash.example";
    o.retry_backoff = 10;
    return o;
  }

  explicit CommandHarness(FakeFlavor flavor)
      : fake(flavor, kRepo), client(ConnectTo(fake, clock)), reporter(forges, configs, clock, FastReporter()) {
    forges.Add(client.api);
    auto opened = store::Database::Open(TempPath("db.sqlite"));
    REQUIRE(opened.ok());
    db = std::move(*opened);
    auto ds = webhook::DeliveryStore::Open(*db, clock);
    REQUIRE(ds.ok());
    deliveries = std::move(*ds);
    webhook::ProcessorOptions po;
    po.bot_logins = {"mergeyard-bot"};
    po.retry_delay = 0;
    // The queue holds what was enqueued and not cancelled since.
    po.queued = [this](const engine::QueueKey&, std::int64_t pr) {
      bool queued = false;
      for (const auto& [key, event] : sink.Events()) {
        if (const auto* e = std::get_if<queue::Enqueue>(&event); e && e->pr == pr) queued = true;
        if (const auto* c = std::get_if<queue::Cancel>(&event); c && c->pr == pr) queued = false;
      }
      return queued;
    };
    processor = std::make_unique<webhook::Processor>(*deliveries, forges, configs, admitter, reporter, sink,
                                                     clock, po);
    webhook::ListenerOptions lo;
    lo.secrets.default_secret = kSecret;
    webhook::RegisterRoutes(server, lo, *deliveries);
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    fake.SetPermission("wendy", "write");
    fake.SetPermission("rita", "read");
  }
  ~CommandHarness() {
    server.stop();
    thread.join();
    processor.reset();
    deliveries.reset();
    const std::string path = db->path();
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(path).parent_path(), ec);
  }

  // The configuration file on main, and a pull request #n from `branch` with `files`.
  std::string OpenPull(std::int64_t n, const std::string& branch, const std::map<std::string, std::string>& files,
                       bool draft = false) {
    const std::string head = fake.Commit(branch, files);
    FakePull p;
    p.number = n;
    p.head_branch = branch;
    p.draft = draft;
    fake.AddPull(p);
    return head;
  }

  nlohmann::json CommentBody(std::int64_t pr, const std::string& author, const std::string& text) {
    const std::int64_t id = next_comment++;
    const std::int64_t uid = fake.UserId(author);
    switch (fake.flavor()) {
      case FakeFlavor::kGithub:
        return {{"action", "created"}, {"issue", {{"number", pr}, {"pull_request", {{"url", "x"}}}}},
                {"comment", {{"id", id}, {"body", text}, {"user", {{"login", author}, {"id", uid}, {"type", "User"}}}}},
                {"repository", {{"full_name", kRepo}, {"id", 1}}}, {"installation", {{"id", 4242}}}};
      case FakeFlavor::kGitlab:
        return {{"object_kind", "note"}, {"user", {{"username", author}, {"id", uid}}},
                {"project", {{"id", 1}, {"path_with_namespace", kRepo}}},
                {"object_attributes", {{"id", id}, {"note", text}, {"noteable_type", "MergeRequest"}, {"action", "create"}}},
                {"merge_request", {{"iid", pr}, {"target_branch", "main"}}}};
      case FakeFlavor::kGitea:
        return {{"action", "created"}, {"is_pull", true}, {"issue", {{"number", pr}, {"pull_request", {{"merged", false}}}}},
                {"comment", {{"id", id}, {"body", text}, {"user", {{"login", author}, {"id", uid}}}}},
                {"repository", {{"full_name", kRepo}, {"id", 1}}}};
    }
    return {};
  }

  // Signs and posts a webhook the way the fake's forge would; returns the HTTP status.
  int Deliver(const std::string& event, const std::string& body, const std::string& secret = kSecret) {
    httplib::Client cli("127.0.0.1", port);
    httplib::Headers h;
    const std::string id = "d-" + std::to_string(next_comment++);
    const std::string hex = forge::HmacSha256Hex(secret, body);
    std::string route;
    switch (fake.flavor()) {
      case FakeFlavor::kGithub:
        h = {{"X-GitHub-Event", event}, {"X-GitHub-Delivery", id}, {"X-Hub-Signature-256", "sha256=" + hex}};
        route = "/webhooks/github";
        break;
      case FakeFlavor::kGitlab:
        h = {{"X-Gitlab-Event", event}, {"Idempotency-Key", id}, {"X-Gitlab-Token", secret}};
        route = "/webhooks/gitlab";
        break;
      case FakeFlavor::kGitea:
        h = {{"X-Gitea-Event-Type", event}, {"X-Gitea-Delivery", id}, {"X-Gitea-Signature", hex}};
        route = "/webhooks/gitea";
        break;
    }
    auto r = cli.Post(route, h, body, "application/json");
    return r ? r->status : -1;
  }

  std::string CommentEvent() const {
    switch (fake.flavor()) {
      case FakeFlavor::kGithub: return "issue_comment";
      case FakeFlavor::kGitlab: return "Note Hook";
      case FakeFlavor::kGitea: return "pull_request_comment";
    }
    return "";
  }

  // Posts a comment webhook, processes it, and waits for the replies.
  int Comment(std::int64_t pr, const std::string& author, const std::string& text) {
    const int status = Deliver(CommentEvent(), CommentBody(pr, author, text).dump());
    Settle();
    return status;
  }

  void Settle() {
    while (processor->RunOnce() > 0) {
    }
    reporter.Flush();
  }

  // Text of the comments mergeyard wrote on the pull request.
  std::vector<std::string> BotComments(std::int64_t pr) {
    std::vector<std::string> out;
    for (const auto& c : fake.Comments(pr)) {
      if (c.author == "mergeyard-bot") out.push_back(c.body);
    }
    return out;
  }
};

}  // namespace mergeyard::testing
