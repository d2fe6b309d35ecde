// The execution backend's read routes for the dashboard: executions (live and
// recent), executors with their load, and the counters — next to the
// backend's own routes on the same server.

#include <doctest/doctest.h>

#include "harness.h"

using namespace mergeyard;
using nlohmann::json;
using testing::ApiHarness;
using testing::HarnessOptions;

namespace {

const json* FindBy(const json& list, const char* key, const json& value) {
  for (const auto& item : list)
    if (item.contains(key) && item[key] == value) return &item;
  return nullptr;
}

HarnessOptions WithExec() {
  HarnessOptions o;
  o.exec = true;
  o.public_url = "https://merge.example.com";
  return o;
}

}  // namespace

TEST_SUITE("api") {

TEST_CASE("GET /api/v1/executions lists live executions first, then recent ones, with counters") {
  ApiHarness h(WithExec());
  auto sc = testing::BuildExecScenario(h);
  auto r = h.Get("/api/v1/executions");
  REQUIRE(r.status == 200);
  CHECK(r.body["available"] == true);
  const json& list = r.body["executions"];
  REQUIRE(list.size() == 2);
  CHECK(list[0]["execution_id"] == sc.lint);
  CHECK(list[0]["state"] == "running");
  CHECK(list[0]["name"] == "lint");
  CHECK(list[0]["executor"] == sc.lint_executor);
  CHECK(list[0]["result"].is_null());
  CHECK(list[1]["execution_id"] == sc.unit);
  CHECK(list[1]["state"] == "completed");
  CHECK(list[1]["merged_submissions"] == 1);
  CHECK(list[1]["group"] == "acme/widgets");
  CHECK(list[1]["result"]["exit_code"] == 0);
  CHECK(list[1]["result"]["duration_ms"] == 83 * kSecond);
  CHECK(list[1]["log_url"] == "https://merge.example.com/api/v1/executions/" + sc.unit + "/log");

  const json& c = r.body["counters"];
  CHECK(c["cache_hits"] == 1);
  CHECK(c["merged"] == 1);
  CHECK(c["hedges"] == 0);
  CHECK(c["submitted"] == 4);
  CHECK(c["completed"] == 1);
  CHECK(c["running"] == 1);
}

TEST_CASE("?limit= bounds the finished executions listed; live ones are always there") {
  ApiHarness h(WithExec());
  auto sc = testing::BuildExecScenario(h);
  auto r = h.Get("/api/v1/executions?limit=0");
  REQUIRE(r.status == 200);
  REQUIRE(r.body["executions"].size() == 1);
  CHECK(r.body["executions"][0]["execution_id"] == sc.lint);
  for (const char* bad : {"-1", "1001", "many"}) {
    auto b = h.Get(std::string("/api/v1/executions?limit=") + bad);
    CHECK(b.status == 400);
    CHECK(b.code() == "invalid_parameter");
  }
}

TEST_CASE("GET /api/v1/executors shows each executor's capacity, load and running executions") {
  ApiHarness h(WithExec());
  auto sc = testing::BuildExecScenario(h);
  auto r = h.Get("/api/v1/executors");
  REQUIRE(r.status == 200);
  CHECK(r.body["available"] == true);
  const json& list = r.body["executors"];
  REQUIRE(list.size() == 2);
  const json* one = FindBy(list, "id", "runner-1");
  const json* two = FindBy(list, "id", "runner-2");
  REQUIRE(one);
  REQUIRE(two);
  CHECK((*one)["capacity"]["cpu"] == 4);
  CHECK((*one)["capacity"]["memory_bytes"] == std::int64_t{8} << 30);
  CHECK((*one)["capacity"]["license"] == 1);
  CHECK((*one)["labels"]["os"] == "linux");
  CHECK((*one)["last_seen_ms"].get<Time>() > 0);
  const json* busy = sc.lint_executor == "runner-1" ? one : two;
  const json* idle = busy == one ? two : one;
  CHECK((*busy)["running"] == 1);
  CHECK((*busy)["executions"] == json::array({sc.lint}));
  CHECK((*busy)["used"]["cpu"].get<double>() > 0);
  CHECK((*idle)["running"] == 0);
  CHECK((*idle)["used"]["cpu"] == 0);
  CHECK(r.body["counters"]["cache_hits"] == 1);
}

TEST_CASE("the backend's own routes still answer on the same server") {
  ApiHarness h(WithExec());
  auto sc = testing::BuildExecScenario(h);
  auto r = h.Send("GET", "/api/v1/executions/" + sc.unit, "", h.token());
  REQUIRE(r.status == 200);
  CHECK(r.body["execution_id"] == sc.unit);
  CHECK(r.body["state"] == "completed");
  auto log = h.Send("GET", "/api/v1/executions/" + sc.unit + "/log", "", h.token());
  CHECK(log.status == 200);
  CHECK(log.text.find("all 42 tests passed") != std::string::npos);
}

TEST_CASE("without an execution backend the read routes say it is not available") {
  ApiHarness h;
  for (const char* path : {"/api/v1/executions", "/api/v1/executors"}) {
    CAPTURE(path);
    auto r = h.Get(path);
    REQUIRE(r.status == 200);
    CHECK(r.body["available"] == false);
    CHECK(r.body["counters"].is_null());
  }
  CHECK(h.Get("/api/v1/executions").body["executions"].empty());
  CHECK(h.Get("/api/v1/executors").body["executors"].empty());
}

}  // TEST_SUITE
