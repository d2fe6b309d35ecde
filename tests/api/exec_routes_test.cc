// The execution backend's read routes for the dashboard: executions (live and
// recent), executors with their load, and the counters — next to the
// backend's own routes on the same server. REAPI executions, run through a
// real REAPI server over gRPC, show beside pipeline steps with their counters.

#include <doctest/doctest.h>

#include "../exec/reapi/reapi_test_util.h"
#include "api/metrics.h"
#include "base/metrics.h"
#include "harness.h"

using namespace mergeyard;
using nlohmann::json;
using testing::ApiHarness;
using testing::HarnessOptions;
namespace rt = mergeyard::exec::reapi::testing;

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
  CHECK(list[0]["kind"] == "step");
  CHECK(list[1]["kind"] == "step");

  const json& c = r.body["counters"];
  CHECK(c["cache_hits"] == 1);
  CHECK(c["merged"] == 1);
  CHECK(c["hedges"] == 0);
  CHECK(c["submitted"] == 4);
  CHECK(c["completed"] == 1);
  CHECK(c["running"] == 1);
  // No REAPI server here; the content store holds the finished step's log.
  CHECK(c["reapi"].is_null());
  const exec::ContentStore::Stats cas = h.exec().content().stats();
  CHECK(cas.blobs >= 1);
  CHECK(c["cas"]["blobs"] == cas.blobs);
  CHECK(c["cas"]["bytes"] == cas.bytes);
  CHECK(c["cas"]["bytes_written"] == cas.bytes_written);
  CHECK(c["cas"]["bytes_read"] == cas.bytes_read);
  CHECK(c["cas"]["max_bytes"] == 0);
}

TEST_CASE("REAPI executions show beside pipeline steps, with the REAPI and content store counters") {
  HarnessOptions o;
  o.reapi = true;
  ApiHarness h(o);
  rt::Client client(h.reapi_target());
  rt::ActionSpec spec;
  spec.argv = {"sh", "-c", "echo built > out.txt"};
  spec.input_root = rt::EmptyDir(client);
  spec.output_files = {"out.txt"};
  const rt::rex::Digest action = rt::UploadAction(client, spec);
  auto first = client.Execute(action, false, nullptr, "invocation-42");
  REQUIRE(client.last_status.ok());
  REQUIRE(first.result().exit_code() == 0);
  CHECK_FALSE(first.cached_result());
  auto second = client.Execute(action, false, nullptr, "invocation-42");
  REQUIRE(client.last_status.ok());
  CHECK(second.cached_result());
  REQUIRE(second.result().output_files_size() == 1);
  CHECK(client.Read(second.result().output_files(0).digest()) == "built\n");
  // A pipeline step on the same backend.
  auto step = h.exec().Submit(testing::TestAction("lint", "true"), {}, nullptr);
  REQUIRE(step.status == exec::core::SubmitStatus::kQueued);
  auto done = h.exec().Wait(step.execution, 60 * kSecond);
  REQUIRE(done);
  REQUIRE(done->state == exec::core::ExecState::kCompleted);

  auto r = h.Get("/api/v1/executions");
  REQUIRE(r.status == 200);
  const json& list = r.body["executions"];
  REQUIRE(list.size() == 2);  // the second Execute was answered from the action cache
  const json* remote = FindBy(list, "kind", "reapi");
  const json* lint = FindBy(list, "kind", "step");
  REQUIRE(remote);
  REQUIRE(lint);
  CHECK((*remote)["action_digest"].get<std::string>().rfind("reapi:", 0) == 0);
  CHECK((*remote)["action_digest"].get<std::string>().find(action.hash()) != std::string::npos);
  CHECK((*remote)["name"] == "reapi");  // the client sent no action mnemonic
  CHECK((*remote)["group"] == "invocation-42");
  CHECK((*remote)["state"] == "completed");
  CHECK((*lint)["execution_id"] == step.execution);
  CHECK((*lint)["name"] == "lint");

  const json& c = r.body["counters"];
  REQUIRE(c["reapi"].is_object());
  CHECK(c["reapi"]["executes"] == 2);
  CHECK(c["reapi"]["executed"] == 1);
  CHECK(c["reapi"]["cache_hits"] == 1);
  CHECK(c["reapi"]["merged"] == 0);
  CHECK(c["reapi"]["hedged"] == 0);
  CHECK(c["reapi"]["missing_inputs"] == 0);
  CHECK(c["reapi"]["unauthenticated"] == 0);
  CHECK(c["submitted"] == 2);  // the backend counts the REAPI execution beside the step
  CHECK(c["completed"] == 2);
  // CAS bytes in: at least the Action and Command uploaded; out: at least out.txt.
  const exec::ContentStore::Stats cas = h.exec().content().stats();
  CHECK(cas.bytes_written >= static_cast<std::uint64_t>(action.size_bytes()) + 6);
  CHECK(cas.bytes_read >= 6);
  CHECK(c["cas"]["bytes_written"] == cas.bytes_written);
  CHECK(c["cas"]["bytes_read"] == cas.bytes_read);
  CHECK(c["cas"]["bytes"] == cas.bytes);
  CHECK(c["cas"]["blobs"] == cas.blobs);
  // GET /api/v1/executors carries the same counters.
  CHECK(h.Get("/api/v1/executors").body["counters"]["reapi"]["cache_hits"] == 1);

  // /metrics renders the same values.
  metrics::Registry registry;
  SystemClock clock;
  const std::string text = api::RenderMetrics(h.engine(), &h.exec(), registry, clock, &h.reapi_counters());
  CHECK(text.find("\nmergeyard_reapi_executes_total 2\n") != std::string::npos);
  CHECK(text.find("\nmergeyard_reapi_cache_hits_total 1\n") != std::string::npos);
  CHECK(text.find("\nmergeyard_reapi_executed_total 1\n") != std::string::npos);
  CHECK(text.find("\nmergeyard_reapi_merged_total 0\n") != std::string::npos);
  CHECK(text.find("\nmergeyard_cas_written_bytes_total " + std::to_string(cas.bytes_written) + "\n") !=
        std::string::npos);
  CHECK(text.find("\nmergeyard_cas_stored_blobs " + std::to_string(cas.blobs) + "\n") != std::string::npos);
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
