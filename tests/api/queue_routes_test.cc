// The queue routes over real HTTP: listing, a repository's queue in detail
// (entries, speculative stack, bisection trees, history from SQLite), pause
// and resume, reprioritise and cancel — each checked against the engine's state.

#include <doctest/doctest.h>

#include <algorithm>

#include "harness.h"

using namespace mergeyard;
using nlohmann::json;
using testing::ApiHarness;
using testing::HarnessOptions;
using testing::Sha;

namespace {

const json* FindBy(const json& list, const char* key, const json& value) {
  for (const auto& item : list)
    if (item.contains(key) && item[key] == value) return &item;
  return nullptr;
}

json OnlyQueue(const testing::Reply& r) {
  REQUIRE(r.status == 200);
  REQUIRE(r.body["queues"].size() == 1);
  return r.body["queues"][0];
}

std::vector<std::int64_t> Prs(const json& node) { return node["prs"].get<std::vector<std::int64_t>>(); }

}  // namespace

TEST_SUITE("api") {

TEST_CASE("GET /api/v1/queues lists every queue with its counts") {
  ApiHarness h;
  testing::BuildScenario(h);
  h.Post(queue::TargetMoved{Sha('f', 9)}, "release");
  h.Enqueue(900, queue::kPriorityNormal, "release");
  auto r = h.Get("/api/v1/queues");
  REQUIRE(r.status == 200);
  REQUIRE(r.body["queues"].size() == 2);
  const json& main = r.body["queues"][0];
  CHECK(main["repo"] == "acme/widgets");
  CHECK(main["branch"] == "main");
  CHECK(main["paused"] == false);
  CHECK(main["tip"] == Sha('c', 1));  // the landed batch's commit
  CHECK(main["counts"]["waiting"] == 3);
  CHECK(main["counts"]["in_batch"] == 4);
  CHECK(main["counts"]["bisecting"] == 1);
  CHECK(main["counts"]["main"] == 2);
  CHECK(main["counts"]["testing"] == 3);
  CHECK(main["counts"]["bisect_nodes"] == 1);
  CHECK(main["counts"]["entries"] == 8);
  const json& release = r.body["queues"][1];
  CHECK(release["branch"] == "release");
  CHECK(release["counts"]["waiting"] == 1);
}

TEST_CASE("GET a repository's queue shows entries in order, the speculative stack, the bisection tree and history") {
  ApiHarness h;
  auto sc = testing::BuildScenario(h);
  auto r = h.Get("/api/v1/repos/acme/widgets/queue");
  CHECK(r.body["repo"] == "acme/widgets");
  json q = OnlyQueue(r);
  CHECK(q["branch"] == "main");
  CHECK(q["config"]["target_batch_size"] == 2);

  SUBCASE("entries: waiting first in queue order (priority, then arrival), then those in batches") {
    const json& e = q["entries"];
    REQUIRE(e.size() == 8);
    CHECK(e[0]["pr"] == 207);
    CHECK(e[0]["position"] == 1);
    CHECK(e[0]["priority"] == queue::kPriorityHigh);
    CHECK(e[0]["status"] == "waiting");
    CHECK(e[0]["head_sha"] == Sha('a', 207));
    CHECK(e[0]["batch"].is_null());
    CHECK(e[0]["enqueued_at"].get<Time>() > 0);
    CHECK(e[1]["pr"] == 208);
    CHECK(e[1]["position"] == 2);
    CHECK(e[2]["pr"] == 209);
    const json* batched = FindBy(e, "pr", 205);
    REQUIRE(batched);
    CHECK((*batched)["status"] == "batched");
    CHECK((*batched)["position"].is_null());
    CHECK((*batched)["batch"] == sc.stack_next);
    const json* bisecting = FindBy(e, "pr", 202);
    REQUIRE(bisecting);
    CHECK((*bisecting)["status"] == "bisecting");
    CHECK((*bisecting)["batch"] == sc.open_node);
  }

  SUBCASE("batches and main order: the second batch is stacked on the first") {
    CHECK(q["main"] == json::array({sc.stack_head, sc.stack_next}));
    const json* head = FindBy(q["batches"], "id", sc.stack_head);
    const json* next = FindBy(q["batches"], "id", sc.stack_next);
    REQUIRE(head);
    REQUIRE(next);
    CHECK((*head)["kind"] == "main");
    CHECK((*head)["state"] == "testing");
    CHECK((*head)["parent"] == 0);
    CHECK((*head)["main_position"] == 1);
    CHECK((*head)["base_sha"] == Sha('c', sc.landed));
    CHECK((*head)["commit"] == Sha('c', sc.stack_head));
    CHECK((*next)["parent"] == sc.stack_head);
    CHECK((*next)["main_position"] == 2);
    CHECK((*next)["base_sha"] == Sha('c', sc.stack_head));
    CHECK((*next)["prs"] == json::array({205, 206}));
    CHECK((*next)["holds"] == json::array({203, 204, 205, 206}));
    CHECK((*next)["started_at"].get<Time>() > 0);
    const json* node = FindBy(q["batches"], "id", sc.open_node);
    REQUIRE(node);
    CHECK((*node)["kind"] == "bisect");
    CHECK((*node)["bisect_root"] == sc.failed_root);
    CHECK((*node)["bisect_parent"] == sc.failed_root);
    CHECK((*node)["main_position"].is_null());
  }

  SUBCASE("the bisection tree: the failed root, its failed and kicked half, its half still testing") {
    REQUIRE(q["bisections"].size() == 1);
    const json& t = q["bisections"][0];
    CHECK(t["root"] == sc.failed_root);
    CHECK(t["active"] == true);
    const json& root = t["tree"];
    CHECK(root["id"] == sc.failed_root);
    CHECK(root["kind"] == "main");
    CHECK(root["result"] == "fail");
    CHECK(root["failed_step"] == "unit");
    CHECK(Prs(root) == std::vector<std::int64_t>{201, 202});
    REQUIRE(root["children"].size() == 2);
    const json& left = root["children"][0];
    const json& right = root["children"][1];
    CHECK(left["id"] == sc.culprit_node);
    CHECK(Prs(left) == std::vector<std::int64_t>{201});
    CHECK(left["result"] == "fail");
    CHECK(left["culprit"] == true);
    CHECK(left["log_url"] == sc.kick_log);
    CHECK(right["id"] == sc.open_node);
    CHECK(Prs(right) == std::vector<std::int64_t>{202});
    CHECK(right["result"].is_null());
    CHECK(right["state"] == "testing");
    CHECK(right["culprit"] == false);
  }

  SUBCASE("history from the store, newest first: the kick with its log, the failure, the landing") {
    const json& hist = q["history"];
    REQUIRE(hist.size() >= 6);
    for (size_t i = 1; i < hist.size(); ++i) CHECK(hist[i - 1]["id"].get<int>() > hist[i]["id"].get<int>());
    const json* kicked = FindBy(hist, "kind", "kicked");
    REQUIRE(kicked);
    CHECK((*kicked)["pr"] == 201);
    CHECK((*kicked)["batch"] == sc.culprit_node);
    CHECK((*kicked)["failed_step"] == "unit");
    CHECK((*kicked)["log_url"] == sc.kick_log);
    CHECK((*kicked)["message"].get<std::string>().find("Failed step `unit`") != std::string::npos);
    int merged = 0;
    for (const auto& row : hist) {
      if (row["kind"] == "merged") {
        ++merged;
        CHECK(row["commit"] == Sha('c', sc.landed));
      }
    }
    CHECK(merged == 2);
    const json* landed = FindBy(hist, "batch", sc.landed);
    REQUIRE(landed);
    CHECK((*landed)["kind"] == "batch");
    CHECK((*landed)["result"] == "pass");
    CHECK((*landed)["prs"] == json::array({101, 102}));
    const json* root = FindBy(hist, "batch", sc.failed_root);
    REQUIRE(root);
    CHECK((*root)["result"] == "fail");
    CHECK((*root)["batch_kind"] == "main");
  }

  SUBCASE("?history= bounds the rows listed") {
    json limited = OnlyQueue(h.Get("/api/v1/repos/acme/widgets/queue?history=2"));
    CHECK(limited["history"].size() == 2);
    CHECK(limited["bisections"].size() == 1);  // trees still come from the whole read
    CHECK(OnlyQueue(h.Get("/api/v1/repos/acme/widgets/queue?history=0"))["history"].empty());
    for (const char* bad : {"-1", "501", "ten", "3x"}) {
      auto b = h.Get(std::string("/api/v1/repos/acme/widgets/queue?history=") + bad);
      CHECK(b.status == 400);
      CHECK(b.code() == "invalid_parameter");
    }
  }
}

TEST_CASE("a finished bisection stays visible as a tree with each half's result") {
  ApiHarness h;
  auto sc = testing::BuildScenario(h);
  h.Finish(sc.open_node, true);   // [202] passes; it waits while main batches are in flight,
  h.Finish(sc.stack_head, true);  // and once they move the tip it returns to the queue: done
  json q = OnlyQueue(h.Get("/api/v1/repos/acme/widgets/queue"));
  REQUIRE(q["bisections"].size() == 1);
  const json& t = q["bisections"][0];
  CHECK(t["active"] == false);
  const json& children = t["tree"]["children"];
  REQUIRE(children.size() == 2);
  CHECK(children[0]["result"] == "fail");
  CHECK(children[1]["result"] == "pass");
  CHECK(children[1]["state"] == "done");
}

TEST_CASE("entries that failed only together show whom they are kept apart from") {
  ApiHarness h;
  h.Post(queue::TargetMoved{Sha('f', 1)});
  h.Enqueue(301);
  h.Enqueue(302);
  const queue::BatchId together = h.BatchOf(301);
  h.Enqueue(303);
  h.Enqueue(304);  // stacked on `together`
  h.Tick(5 * kMinute);
  h.Finish(together, false, "unit");  // on the tip: it counts; 303+304 rebuild on the tip
  const queue::BatchId left = h.BatchOf(301), right = h.BatchOf(302);
  REQUIRE(left != right);
  h.Finish(left, true);   // both halves pass while the main batch tests: neither lands yet
  h.Finish(right, true);
  json q = OnlyQueue(h.Get("/api/v1/repos/acme/widgets/queue"));
  const json* a = FindBy(q["entries"], "pr", 301);
  const json* b = FindBy(q["entries"], "pr", 302);
  const json* c = FindBy(q["entries"], "pr", 303);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK((*a)["kept_apart_from"] == json::array({302}));
  CHECK((*b)["kept_apart_from"] == json::array({301}));
  CHECK((*c)["kept_apart_from"] == json::array());
}

TEST_CASE("without a history store the queue detail still answers, trees from live nodes only") {
  HarnessOptions o;
  o.history = false;
  ApiHarness h(o);
  auto sc = testing::BuildScenario(h);
  json q = OnlyQueue(h.Get("/api/v1/repos/acme/widgets/queue"));
  CHECK(q["history"].empty());
  REQUIRE(q["bisections"].size() == 1);
  CHECK(q["bisections"][0]["tree"]["id"] == sc.failed_root);
  CHECK(Prs(q["bisections"][0]["tree"]) == std::vector<std::int64_t>{202});  // all that is known
}

TEST_CASE("a repository with several target branches answers all its queues, or one with ?branch=") {
  ApiHarness h;
  h.Post(queue::TargetMoved{Sha('f', 1)}, "main");
  h.Post(queue::TargetMoved{Sha('f', 2)}, "release/1.x");
  h.Enqueue(7, queue::kPriorityNormal, "release/1.x");
  auto all = h.Get("/api/v1/repos/acme/widgets/queue");
  REQUIRE(all.status == 200);
  REQUIRE(all.body["queues"].size() == 2);
  CHECK(all.body["queues"][0]["branch"] == "main");
  CHECK(all.body["queues"][1]["branch"] == "release/1.x");
  json one = OnlyQueue(h.Get("/api/v1/repos/acme/widgets/queue?branch=release%2F1.x"));
  CHECK(one["branch"] == "release/1.x");
  CHECK(one["entries"][0]["pr"] == 7);
}

TEST_CASE("an unknown repository or branch answers 404 with a JSON error") {
  ApiHarness h;
  h.Post(queue::TargetMoved{Sha('f', 1)});
  auto r = h.Get("/api/v1/repos/acme/gadgets/queue");
  CHECK(r.status == 404);
  CHECK(r.code() == "unknown_repo");
  r = h.Get("/api/v1/repos/acme/widgets/queue?branch=nope");
  CHECK(r.status == 404);
  CHECK(r.code() == "unknown_queue");
  r = h.Admin("POST", "/api/v1/repos/acme/gadgets/queue/pause");
  CHECK(r.status == 404);
  CHECK(r.code() == "unknown_repo");
  r = h.Admin("POST", "/api/v1/repos/acme/widgets/queue/pause?branch=nope");
  CHECK(r.status == 404);
  CHECK(r.code() == "unknown_queue");
}

TEST_CASE("a GitLab project path with subgroups is one repository") {
  ApiHarness h;
  h.engine().Post({"group/sub/project", "main"}, queue::TargetMoved{Sha('f', 1)});
  h.engine().Post({"group/sub/project", "main"}, queue::Enqueue{3, Sha('a', 3), 128});
  h.Drain();
  json q = OnlyQueue(h.Get("/api/v1/repos/group/sub/project/queue"));
  CHECK(q["repo"] == "group/sub/project");
  CHECK(q["entries"][0]["pr"] == 3);
  auto r = h.Admin("DELETE", "/api/v1/repos/group/sub/project/entries/3");
  CHECK(r.status == 202);
  CHECK(r.body["repo"] == "group/sub/project");
}

TEST_CASE("pause stops batch formation while testing batches go on; resume forms batches again") {
  ApiHarness h;
  h.Post(queue::TargetMoved{Sha('f', 1)});
  h.Enqueue(1);
  h.Enqueue(2);
  const auto testing_batch = h.BatchOf(1);

  auto r = h.Admin("POST", "/api/v1/repos/acme/widgets/queue/pause");
  CHECK(r.status == 202);
  CHECK(r.body["paused"] == true);
  CHECK(r.body["queues"] == json::array({{{"repo", "acme/widgets"}, {"branch", "main"}}}));
  CHECK_FALSE(h.State().paused);  // posted, not yet processed by the engine
  h.Drain();
  CHECK(h.State().paused);
  CHECK(h.Get("/api/v1/queues").body["queues"][0]["paused"] == true);

  h.Enqueue(3);
  h.Enqueue(4);
  auto s = h.State();
  CHECK(s.main.size() == 1);  // nothing new formed
  CHECK(s.entries.at(3).status == queue::EntryStatus::kWaiting);
  h.Finish(testing_batch, true);  // what was testing still lands
  CHECK(h.ports().landed() == std::vector<queue::BatchId>{testing_batch});
  CHECK(h.State().main.empty());

  r = h.Admin("POST", "/api/v1/repos/acme/widgets/queue/resume");
  CHECK(r.status == 202);
  CHECK(r.body["paused"] == false);
  h.Drain();
  s = h.State();
  CHECK_FALSE(s.paused);
  REQUIRE(s.main.size() == 1);
  CHECK(s.batches.at(s.main[0]).prs == std::vector<queue::PrNumber>{3, 4});
}

TEST_CASE("pause with ?branch= pauses only that queue") {
  ApiHarness h;
  h.Post(queue::TargetMoved{Sha('f', 1)}, "main");
  h.Post(queue::TargetMoved{Sha('f', 2)}, "next");
  auto r = h.Admin("POST", "/api/v1/repos/acme/widgets/queue/pause?branch=next");
  CHECK(r.status == 202);
  CHECK(r.body["queues"].size() == 1);
  h.Drain();
  CHECK(h.State("next").paused);
  CHECK_FALSE(h.State("main").paused);
  h.Admin("POST", "/api/v1/repos/acme/widgets/queue/pause");
  h.Drain();
  CHECK(h.State("main").paused);
}

TEST_CASE("PATCH an entry reprioritises it and reorders the waiting entries") {
  ApiHarness h;
  h.Post(queue::TargetMoved{Sha('f', 1)});
  h.Admin("POST", "/api/v1/repos/acme/widgets/queue/pause");
  h.Drain();
  h.Enqueue(1);
  h.Tick();
  h.Enqueue(2);
  CHECK(queue::WaitingInOrder(h.State()) == std::vector<queue::PrNumber>{1, 2});

  auto r = h.Admin("PATCH", "/api/v1/repos/acme/widgets/entries/2", R"({"priority": "high"})");
  CHECK(r.status == 202);
  CHECK(r.body["pr"] == 2);
  CHECK(r.body["branch"] == "main");
  CHECK(r.body["priority"] == queue::kPriorityHigh);
  h.Drain();
  CHECK(h.State().entries.at(2).priority == queue::kPriorityHigh);
  CHECK(queue::WaitingInOrder(h.State()) == std::vector<queue::PrNumber>{2, 1});
  json q = OnlyQueue(h.Get("/api/v1/repos/acme/widgets/queue"));
  CHECK(q["entries"][0]["pr"] == 2);
  CHECK(q["entries"][0]["position"] == 1);

  r = h.Admin("PATCH", "/api/v1/repos/acme/widgets/entries/1", R"({"priority": 255})");
  CHECK(r.status == 202);
  h.Drain();
  CHECK(h.State().entries.at(1).priority == 255);
}

TEST_CASE("PATCH refuses bad input and entries that are not live") {
  ApiHarness h;
  h.Post(queue::TargetMoved{Sha('f', 1)});
  h.Enqueue(1);
  struct Case { const char* path; const char* body; int status; const char* code; };
  for (const Case& c : {Case{"/api/v1/repos/acme/widgets/entries/1", "not json", 422, "invalid_body"},
                        Case{"/api/v1/repos/acme/widgets/entries/1", "[1]", 422, "invalid_body"},
                        Case{"/api/v1/repos/acme/widgets/entries/1", "{}", 422, "invalid_body"},
                        Case{"/api/v1/repos/acme/widgets/entries/1", R"({"priority": 256})", 422, "invalid_priority"},
                        Case{"/api/v1/repos/acme/widgets/entries/1", R"({"priority": -1})", 422, "invalid_priority"},
                        Case{"/api/v1/repos/acme/widgets/entries/1", R"({"priority": "urgent"})", 422, "invalid_priority"},
                        Case{"/api/v1/repos/acme/widgets/entries/1", R"({"priority": 1.5})", 422, "invalid_priority"},
                        Case{"/api/v1/repos/acme/widgets/entries/abc", R"({"priority": 1})", 400, "invalid_pr"},
                        Case{"/api/v1/repos/acme/widgets/entries/0", R"({"priority": 1})", 400, "invalid_pr"},
                        Case{"/api/v1/repos/acme/widgets/entries/99", R"({"priority": 1})", 404, "unknown_entry"},
                        Case{"/api/v1/repos/acme/gadgets/entries/1", R"({"priority": 1})", 404, "unknown_repo"}}) {
    CAPTURE(c.path);
    CAPTURE(c.body);
    auto r = h.Admin("PATCH", c.path, c.body);
    CHECK(r.status == c.status);
    CHECK(r.code() == c.code);
  }
  h.Drain();
  CHECK(h.State().entries.at(1).priority == queue::kPriorityNormal);
}

TEST_CASE("DELETE an entry cancels it: a batch holding it is rebuilt without it, history says why") {
  ApiHarness h;
  h.Post(queue::TargetMoved{Sha('f', 1)});
  h.Enqueue(1);
  h.Enqueue(2);
  const auto first = h.BatchOf(1);
  auto r = h.Admin("DELETE", "/api/v1/repos/acme/widgets/entries/1");
  CHECK(r.status == 202);
  CHECK(r.body["pr"] == 1);
  CHECK(r.body["status"] == "accepted");
  h.Drain();
  auto s = h.State();
  CHECK(s.entries.count(1) == 0);
  CHECK(s.batches.count(first) == 0);
  REQUIRE(s.entries.count(2) == 1);

  json q = OnlyQueue(h.Get("/api/v1/repos/acme/widgets/queue"));
  const json* cancelled = FindBy(q["history"], "kind", "cancelled");
  REQUIRE(cancelled);
  CHECK((*cancelled)["pr"] == 1);
  CHECK((*cancelled)["message"].get<std::string>().find("ancelled by the admin API") != std::string::npos);  // the queue capitalises it

  r = h.Admin("DELETE", "/api/v1/repos/acme/widgets/entries/1");  // gone now
  CHECK(r.status == 404);
  CHECK(r.code() == "unknown_entry");
}

}  // TEST_SUITE
