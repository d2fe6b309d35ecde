// GET /api/v1/openapi.json: an OpenAPI 3 document, open to all, describing
// every admin route and the execution routes — and every /api/v1 route it
// describes answers on a server with the admin API and the backend mounted.

#include <doctest/doctest.h>

#include <functional>
#include <regex>
#include <set>

#include "exec/reapi/counters.h"
#include "harness.h"

using namespace mergeyard;
using nlohmann::json;
using testing::ApiHarness;
using testing::HarnessOptions;

namespace {

struct Op {
  const char* method;
  const char* path;
  bool open;  // no token needed
};

const Op kAdminRoutes[] = {
    {"get", "/api/v1/openapi.json", true},
    {"get", "/api/v1/queues", true},
    {"get", "/api/v1/repos/{owner}/{repo}/queue", true},
    {"post", "/api/v1/repos/{owner}/{repo}/queue/pause", false},
    {"post", "/api/v1/repos/{owner}/{repo}/queue/resume", false},
    {"post", "/api/v1/repos/{owner}/{repo}/entries", false},
    {"patch", "/api/v1/repos/{owner}/{repo}/entries/{pr}", false},
    {"delete", "/api/v1/repos/{owner}/{repo}/entries/{pr}", false},
    {"get", "/api/v1/executions", true},
    {"get", "/api/v1/executors", true},
};
const Op kExecRoutes[] = {
    {"post", "/api/v1/actions/execute", false},
    {"get", "/api/v1/executions/{id}", false},
    {"get", "/api/v1/executions/{id}/log", false},
    {"post", "/api/v1/executions/{id}/leave", false},
    {"post", "/api/v1/executors/register", false},
    {"post", "/api/v1/executors/{id}/poll", false},
    {"post", "/api/v1/leases/{lease}/renew", false},
    {"post", "/api/v1/leases/{lease}/log", false},
    {"post", "/api/v1/leases/{lease}/complete", false},
};

json Document(ApiHarness& h) {
  auto r = h.Get("/api/v1/openapi.json");
  REQUIRE(r.status == 200);
  REQUIRE(r.header("Content-Type") == "application/json");
  REQUIRE(r.body.is_object());
  return r.body;
}

// Every "$ref" in the document, with where it is.
void CollectRefs(const json& j, const std::string& at, std::vector<std::pair<std::string, std::string>>* out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "$ref" && v.is_string()) out->emplace_back(at, v.get<std::string>());
      else CollectRefs(v, at + "/" + k, out);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) CollectRefs(j[i], at + "/" + std::to_string(i), out);
  }
}

}  // namespace

TEST_SUITE("api") {

TEST_CASE("the OpenAPI document is valid JSON, OpenAPI 3, served without a token") {
  ApiHarness h;
  json doc = Document(h);
  CHECK(doc["openapi"].get<std::string>().rfind("3.", 0) == 0);
  CHECK(doc["info"]["title"] == "mergeyard");
  CHECK(doc["info"].contains("version"));
  CHECK(doc["paths"].is_object());
  CHECK(doc["components"]["securitySchemes"]["adminToken"]["scheme"] == "bearer");
  CHECK(doc["components"]["securitySchemes"]["executorToken"]["scheme"] == "bearer");
  CHECK_FALSE(doc.contains("servers"));
}

TEST_CASE("the OpenAPI document lists every admin and execution route with its access") {
  ApiHarness h;
  json doc = Document(h);
  const json& paths = doc["paths"];
  auto check = [&](const Op& op, const char* scheme) {
    CAPTURE(op.method);
    CAPTURE(op.path);
    REQUIRE(paths.contains(op.path));
    REQUIRE(paths[op.path].contains(op.method));
    const json& o = paths[op.path][op.method];
    CHECK(o["responses"].is_object());
    CHECK_FALSE(o["responses"].empty());
    CHECK(o["summary"].is_string());
    if (op.open) {
      CHECK(o["security"] == json::array());
    } else {
      REQUIRE(o["security"].is_array());
      REQUIRE(o["security"].size() == 1);
      CHECK(o["security"][0].contains(scheme));
      CHECK((o["responses"].contains("401")));
    }
  };
  for (const Op& op : kAdminRoutes) check(op, "adminToken");
  for (const Op& op : kExecRoutes)
    check(op, std::string(op.path).find("/executions") != std::string::npos ||
                      std::string(op.path).find("/actions") != std::string::npos
                  ? "adminToken"
                  : "executorToken");
  for (const char* path : {"/", "/healthz", "/metrics", "/webhooks/github", "/webhooks/gitlab", "/webhooks/gitea"})
    CHECK(paths.contains(path));
  // The admin mutations document their error codes.
  const json& enqueue = paths["/api/v1/repos/{owner}/{repo}/entries"]["post"]["responses"];
  for (const char* status : {"202", "401", "403", "404", "409", "422", "503"}) CHECK(enqueue.contains(status));
}

TEST_CASE("every $ref of the OpenAPI document resolves and operation ids are unique") {
  ApiHarness h;
  json doc = Document(h);
  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(doc, "", &refs);
  CHECK(refs.size() > 50);
  for (const auto& [at, ref] : refs) {
    CAPTURE(at);
    CAPTURE(ref);
    REQUIRE(ref.rfind("#/", 0) == 0);
    CHECK(doc.contains(json::json_pointer(ref.substr(1))));
  }
  std::set<std::string> ids;
  int ops = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      ++ops;
      CAPTURE(path);
      REQUIRE(op["operationId"].is_string());
      CHECK(ids.insert(op["operationId"].get<std::string>()).second);
      // Path parameters are declared.
      std::regex param(R"(\{([a-z]+)\})");
      for (auto it = std::sregex_iterator(path.begin(), path.end(), param); it != std::sregex_iterator(); ++it) {
        bool declared = false;
        for (const auto& p : op.value("parameters", json::array())) {
          const json& resolved = p.contains("$ref") ? doc.at(json::json_pointer(p["$ref"].get<std::string>().substr(1))) : p;
          declared = declared || (resolved["in"] == "path" && resolved["name"] == (*it)[1].str());
        }
        CHECK_MESSAGE(declared, "path parameter " << (*it)[1].str());
      }
    }
  }
  CHECK(ops >= 25);
}

TEST_CASE("every /api/v1 route the document describes answers on the server") {
  HarnessOptions o;
  o.exec = true;
  ApiHarness h(o);
  h.Post(queue::TargetMoved{testing::Sha('f', 1)});
  json doc = Document(h);
  int checked = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    if (path.rfind("/api/v1/", 0) != 0) continue;
    std::string concrete = std::regex_replace(path, std::regex(R"(\{owner\}/\{repo\})"), "acme/widgets");
    concrete = std::regex_replace(concrete, std::regex(R"(\{pr\})"), "1");
    concrete = std::regex_replace(concrete, std::regex(R"(\{[a-z]+\})"), "x");
    for (const auto& [method, op] : item.items()) {
      std::string m = method;
      for (auto& ch : m) ch = static_cast<char>(std::toupper(ch));
      CAPTURE(m);
      CAPTURE(concrete);
      auto r = h.Send(m, concrete, "{}");  // no token
      // A route that does not exist answers httplib's bare 404; ours always answer JSON.
      CHECK(r.status > 0);
      CHECK(r.body.is_object());
      ++checked;
    }
  }
  CHECK(checked >= 19);
}

TEST_CASE("the Execution and Counters schemas name every key GET /api/v1/executions answers with") {
  exec::reapi::Counters reapi;
  HarnessOptions o;
  o.exec = true;
  o.reapi_counters = &reapi;
  ApiHarness h(o);
  testing::BuildExecScenario(h);
  json doc = Document(h);
  const json& schemas = doc["components"]["schemas"];
  auto r = h.Get("/api/v1/executions");
  REQUIRE(r.status == 200);
  auto check_keys = [&](const json& object, const char* schema) {
    CAPTURE(schema);
    REQUIRE(object.is_object());
    for (const auto& [key, value] : object.items()) {
      CAPTURE(key);
      CHECK(schemas[schema]["properties"].contains(key));
    }
  };
  REQUIRE(!r.body["executions"].empty());
  for (const json& e : r.body["executions"]) check_keys(e, "Execution");
  check_keys(r.body["counters"], "Counters");
  check_keys(r.body["counters"]["cas"], "ContentStoreCounters");
  check_keys(r.body["counters"]["reapi"], "ReapiCounters");
  const json& kinds = schemas["Execution"]["properties"]["kind"]["enum"];
  CHECK(kinds == json::array({"step", "reapi"}));
}

TEST_CASE("the OpenAPI document names the public URL as its server") {
  HarnessOptions o;
  o.public_url = "https://merge.example.com";
  ApiHarness h(o);
  json doc = Document(h);
  CHECK(doc["servers"] == json::array({{{"url", "https://merge.example.com"}}}));
}

}  // TEST_SUITE
