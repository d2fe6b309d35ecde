#include "api/admin_api.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/embedded_files.h"
#include "api/exec_view.h"
#include "exec/http_json.h"
#include "api/queue_view.h"
#include "base/log.h"
#include "forge/command.h"

namespace mergeyard::api {

using exec::ParseJsonObject;
using exec::SendError;
using exec::SendJson;
namespace {

using nlohmann::json;
using Request = httplib::Request;
using Response = httplib::Response;

// "owner/name", or more segments for GitLab subgroups.
constexpr char kRepoPattern[] = R"(/api/v1/repos/([^/]+(?:/[^/]+)+))";
constexpr int kDefaultHistory = 50, kMaxHistory = 500;
constexpr int kDefaultExecutions = 50, kMaxExecutions = 1000;
constexpr int kHistoryForTrees = 200;  // rows read to rebuild finished bisection trees

struct Api {
  AdminDeps deps;
  AdminOptions options;
  AdminAuth auth;
  json openapi;  // null when the embedded document does not parse (a build bug)
};

std::string Route(const std::string& suffix) { return std::string(kRepoPattern) + suffix; }

// An integer query parameter in [lo, hi]; `fallback` when absent. Answers 400.
std::optional<int> IntParam(const Request& req, Response& res, const char* name, int fallback,
                            int lo, int hi) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi) {
    SendError(res, 400, "invalid_parameter",
              std::string(name) + " must be an integer from " + std::to_string(lo) + " to " +
                  std::to_string(hi));
    return std::nullopt;
  }
  return value;
}

// The repository's queues (all its target branches, or ?branch=). Answers
// 404 and returns nullopt when there are none.
std::optional<std::vector<engine::QueueKey>> SelectQueues(const Api& api, const Request& req,
                                                          Response& res, const std::string& repo) {
  std::vector<engine::QueueKey> keys;
  for (auto& key : api.deps.engine->Queues())
    if (key.repo == repo) keys.push_back(std::move(key));
  if (keys.empty()) {
    SendError(res, 404, "unknown_repo", "mergeyard has no queue for " + repo);
    return std::nullopt;
  }
  if (req.has_param("branch")) {
    const std::string branch = req.get_param_value("branch");
    std::erase_if(keys, [&](const engine::QueueKey& k) { return k.branch != branch; });
    if (keys.empty()) {
      SendError(res, 404, "unknown_queue", repo + " has no queue for branch " + branch);
      return std::nullopt;
    }
  }
  return keys;
}

// "pr" of a path: a positive integer. Answers 400.
std::optional<queue::PrNumber> PathPr(const std::string& text, Response& res) {
  queue::PrNumber pr = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pr);
  if (ec != std::errc() || end != text.data() + text.size() || pr <= 0) {
    SendError(res, 400, "invalid_pr", "the pull request number must be a positive integer");
    return std::nullopt;
  }
  return pr;
}

// A priority: an integer 0..255 or "high"/"normal"/"low". Answers 422.
std::optional<int> BodyPriority(const json& v, Response& res) {
  int p = 0;
  if (v.is_number_integer()) {
    const auto n = v.get<std::int64_t>();
    if (n >= 0 && n <= 255) return static_cast<int>(n);
  } else if (v.is_string() && forge::ParsePriority(v.get<std::string>(), &p)) {
    return p;
  }
  SendError(res, 422, "invalid_priority",
            "priority must be an integer from 0 to 255 or one of \"high\", \"normal\", \"low\"");
  return std::nullopt;
}

// A forge error as an answer: the forge is mergeyard's upstream.
void SendForgeError(Response& res, const Error& e, const std::string& what) {
  if (e.code == ErrorCode::kTransient)
    return SendError(res, 503, "forge_unavailable", what + ": " + e.message + " (try again)");
  SendError(res, 502, "forge_error", what + ": " + e.message);
}

// ---- reads ----------------------------------------------------------------

void ListQueues(const Api& api, const Request&, Response& res) {
  json queues = json::array();
  for (const auto& key : api.deps.engine->Queues())
    if (auto state = api.deps.engine->Snapshot(key)) queues.push_back(QueueSummaryJson(key, *state));
  SendJson(res, {{"queues", std::move(queues)}});
}

// Each batch gated on external CI gets "checks": [{"name","state",
// "conclusion","url","source"}] and "checks_cached" (decided by the verdict
// cache); other batches get neither.
void AddRequiredChecks(const forge::CiGate& ci, const engine::QueueKey& key, json& queue) {
  for (json& b : queue["batches"]) {
    auto view = ci.View(key, b.value("id", queue::BatchId{0}));
    if (!view) continue;
    json checks = json::array();
    for (const auto& c : view->checks) {
      checks.push_back({{"name", c.name}, {"state", forge::CiStateName(c.state)}, {"conclusion", c.conclusion},
                        {"url", c.url}, {"source", c.source}});
    }
    b["checks"] = std::move(checks);
    b["checks_cached"] = view->cached;
  }
}

void GetQueue(const Api& api, const Request& req, Response& res) {
  const std::string repo = req.matches[1];
  auto history_limit = IntParam(req, res, "history", kDefaultHistory, 0, kMaxHistory);
  if (!history_limit) return;
  auto keys = SelectQueues(api, req, res, repo);
  if (!keys) return;
  json queues = json::array();
  for (const auto& key : *keys) {
    auto state = api.deps.engine->Snapshot(key);
    if (!state) continue;
    std::vector<store::HistoryRow> rows;
    std::string history_error;
    if (api.deps.history) {
      auto read = api.deps.history->History(key, std::max(*history_limit, kHistoryForTrees));
      if (read.ok()) rows = std::move(*read);
      else history_error = read.error().message;
    }
    json q = QueueDetailJson(key, *state, rows, static_cast<std::size_t>(*history_limit));
    if (!history_error.empty()) q["history_error"] = history_error;
    if (api.deps.ci) AddRequiredChecks(*api.deps.ci, key, q);
    queues.push_back(std::move(q));
  }
  SendJson(res, {{"repo", repo}, {"queues", std::move(queues)}});
}

// The "counters" object of the execution routes: the backend's, the content
// store's ("cas") and the REAPI server's ("reapi", null without one).
// REQUIRES: api.deps.exec.
json BackendCounters(const Api& api) {
  json counters = CountersJson(api.deps.exec->Stats());
  counters["cas"] = ContentStoreJson(api.deps.exec->content().stats());
  counters["reapi"] = api.deps.reapi ? ReapiCountersJson(*api.deps.reapi) : json(nullptr);
  return counters;
}

void ListExecutions(const Api& api, const Request& req, Response& res) {
  auto limit = IntParam(req, res, "limit", kDefaultExecutions, 0, kMaxExecutions);
  if (!limit) return;
  json list = json::array();
  json counters = nullptr;
  if (api.deps.exec) {
    for (const auto& v : api.deps.exec->ListExecutions(static_cast<std::size_t>(*limit)))
      list.push_back(ExecutionJson(v, api.options.public_url));
    counters = BackendCounters(api);
  }
  SendJson(res, {{"available", api.deps.exec != nullptr}, {"executions", std::move(list)},
                 {"counters", std::move(counters)}});
}

void ListExecutors(const Api& api, const Request&, Response& res) {
  json list = json::array();
  json counters = nullptr;
  if (api.deps.exec) {
    for (const auto& v : api.deps.exec->ListExecutors()) list.push_back(ExecutorJson(v));
    counters = BackendCounters(api);
  }
  SendJson(res, {{"available", api.deps.exec != nullptr}, {"executors", std::move(list)},
                 {"counters", std::move(counters)}});
}

// ---- changes ----------------------------------------------------------------

void SetPaused(const Api& api, const Request& req, Response& res, bool paused) {
  const std::string repo = req.matches[1];
  auto keys = SelectQueues(api, req, res, repo);
  if (!keys) return;
  json queues = json::array();
  for (const auto& key : *keys) {
    api.deps.engine->Post(key, queue::SetPaused{paused});
    queues.push_back({{"repo", key.repo}, {"branch", key.branch}});
  }
  LOG_INFO(paused ? "admin paused queues" : "admin resumed queues",
           {{"repo", repo}, {"queues", std::to_string(keys->size())}});
  SendJson(res, {{"repo", repo}, {"paused", paused}, {"queues", std::move(queues)}}, 202);
}

// Why forge::Admitter did not let pull request `pr` in, as an HTTP error.
void SendRefusal(Response& res, const std::string& repo, queue::PrNumber pr, const forge::Admission& a) {
  const std::string which = "pull request #" + std::to_string(pr);
  const std::string& branch = a.key.branch;
  switch (a.refusal) {
    case forge::Refusal::kNone: break;
    case forge::Refusal::kMerged: return SendError(res, 409, "pr_closed", which + " is already merged");
    case forge::Refusal::kClosed: return SendError(res, 409, "pr_closed", which + " is closed");
    case forge::Refusal::kDraft: return SendError(res, 409, "pr_draft", which + " is a draft");
    case forge::Refusal::kNotOptedIn:
      return SendError(res, 422, "not_opted_in",
                       "the target branch " + branch + " of " + repo + " has no .mergeyard.yml");
    case forge::Refusal::kInvalidConfig:
      return SendError(res, 422, "invalid_config",
                       ".mergeyard.yml on " + branch + " is invalid:\n" + a.config_errors);
    case forge::Refusal::kConflicts: {
      std::string list;
      for (const auto& p : a.conflicting_paths) list += (list.empty() ? ": " : ", ") + p;
      return SendError(res, 409, "pr_conflicts", which + " does not merge cleanly with " + branch + list);
    }
  }
}

void Enqueue(const Api& api, const Request& req, Response& res) {
  const std::string repo = req.matches[1];
  auto body = ParseJsonObject(req, res);
  if (!body) return;
  const json pr_field = body->value("pr", json());
  if (!pr_field.is_number_integer() || pr_field.get<std::int64_t>() <= 0)
    return SendError(res, 422, "invalid_pr", "\"pr\" must be a positive integer (the pull request number)");
  const auto pr = pr_field.get<queue::PrNumber>();
  int priority = queue::kPriorityNormal;
  const bool priority_given = body->contains("priority");
  if (priority_given) {
    auto p = BodyPriority((*body)["priority"], res);
    if (!p) return;
    priority = *p;
  }
  if (!api.deps.forges || !api.deps.admission)
    return SendError(res, 503, "forge_unavailable",
                     "no forge is configured: admin enqueue needs one to look the pull request up");
  forge::ForgeApi* forge_api = api.deps.forges->ForRepo(repo);
  if (!forge_api)
    return SendError(res, 422, "no_forge",
                     "no forge is known to serve " + repo +
                         " (several forges are configured and none has sent a webhook for it)");
  auto admitted = api.deps.admission->Admit(*forge_api, repo, pr, priority, priority_given);
  if (!admitted.ok()) {
    if (admitted.error().code == ErrorCode::kNotFound)
      return SendError(res, 404, "unknown_pr", repo + " has no pull request #" + std::to_string(pr));
    return SendForgeError(res, admitted.error(), "admitting pull request #" + std::to_string(pr));
  }
  const forge::Admission& a = *admitted;
  const engine::QueueKey& key = a.key;
  if (!a.admitted()) return SendRefusal(res, repo, pr, a);
  LOG_INFO("admin enqueued", {{"repo", repo}, {"branch", key.branch}, {"pr", std::to_string(pr)},
                              {"priority", std::to_string(priority)}});
  SendJson(res,
           {{"repo", repo}, {"branch", key.branch}, {"pr", pr}, {"head_sha", a.head_sha},
            {"priority", priority}, {"status", "accepted"}},
           202);
}

// The queues of the repository (?branch= filter) where `pr` is a live entry.
// Answers 404 and returns nullopt when there is none.
std::optional<std::vector<engine::QueueKey>> QueuesHolding(const Api& api, const Request& req,
                                                           Response& res, const std::string& repo,
                                                           queue::PrNumber pr) {
  auto keys = SelectQueues(api, req, res, repo);
  if (!keys) return std::nullopt;
  std::erase_if(*keys, [&](const engine::QueueKey& k) {
    auto state = api.deps.engine->Snapshot(k);
    return !state || state->entries.count(pr) == 0;
  });
  if (keys->empty()) {
    SendError(res, 404, "unknown_entry",
              "pull request #" + std::to_string(pr) + " is not in a queue of " + repo);
    return std::nullopt;
  }
  return keys;
}

void Reprioritize(const Api& api, const Request& req, Response& res) {
  const std::string repo = req.matches[1];
  auto pr = PathPr(req.matches[2], res);
  if (!pr) return;
  auto body = ParseJsonObject(req, res);
  if (!body) return;
  if (!body->contains("priority"))
    return SendError(res, 422, "invalid_body", "the body must hold \"priority\"");
  auto priority = BodyPriority((*body)["priority"], res);
  if (!priority) return;
  auto keys = QueuesHolding(api, req, res, repo, *pr);
  if (!keys) return;
  for (const auto& key : *keys) api.deps.engine->Post(key, queue::Reprioritize{*pr, *priority});
  SendJson(res,
           {{"repo", repo}, {"branch", keys->front().branch}, {"pr", *pr}, {"priority", *priority},
            {"status", "accepted"}},
           202);
}

void Cancel(const Api& api, const Request& req, Response& res) {
  const std::string repo = req.matches[1];
  auto pr = PathPr(req.matches[2], res);
  if (!pr) return;
  auto keys = QueuesHolding(api, req, res, repo, *pr);
  if (!keys) return;
  for (const auto& key : *keys) api.deps.engine->Post(key, queue::Cancel{*pr, queue::ReportReason::kCancelledByAdmin, ""});
  LOG_INFO("admin cancelled", {{"repo", repo}, {"pr", std::to_string(*pr)}});
  SendJson(res, {{"repo", repo}, {"branch", keys->front().branch}, {"pr", *pr}, {"status", "accepted"}},
           202);
}

void OpenApi(const Api& api, const Request&, Response& res) {
  if (api.openapi.is_null())
    return SendError(res, 500, "internal", "the built-in OpenAPI document does not parse");
  SendJson(res, api.openapi);
}

json LoadOpenApi(const std::string& public_url) {
  const EmbeddedFile* file = FindEmbeddedFile("openapi.json");
  if (!file) return nullptr;
  json doc = json::parse(file->bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    LOG_ERROR("the built-in OpenAPI document does not parse", {});
    return nullptr;
  }
  if (!public_url.empty()) doc["servers"] = json::array({{{"url", public_url}}});
  return doc;
}

}  // namespace

void MountAdminApi(httplib::Server& server, AdminDeps deps, AdminOptions options) {
  auto api = std::make_shared<Api>(Api{deps, options, AdminAuth(options.admin_token),
                                       LoadOpenApi(options.public_url)});
  if (!api->auth.configured())
    LOG_WARN("no admin token is configured: the admin API's changing routes answer 403", {});
  auto open = [api](void (*fn)(const Api&, const Request&, Response&)) {
    return Public([api, fn](const Request& req, Response& res) { fn(*api, req, res); });
  };
  auto admin = [api](void (*fn)(const Api&, const Request&, Response&)) {
    return Guarded(api->auth, [api, fn](const Request& req, Response& res) { fn(*api, req, res); });
  };

  server.Get("/api/v1/openapi.json", open(OpenApi));
  server.Get("/api/v1/queues", open(ListQueues));
  server.Get(Route("/queue"), open(GetQueue));
  server.Post(Route("/queue/pause"), admin([](const Api& a, const Request& q, Response& r) {
    SetPaused(a, q, r, true);
  }));
  server.Post(Route("/queue/resume"), admin([](const Api& a, const Request& q, Response& r) {
    SetPaused(a, q, r, false);
  }));
  server.Post(Route("/entries"), admin(Enqueue));
  server.Patch(Route("/entries/([^/]+)"), admin(Reprioritize));
  server.Delete(Route("/entries/([^/]+)"), admin(Cancel));
  server.Get("/api/v1/executions", open(ListExecutions));
  server.Get("/api/v1/executors", open(ListExecutors));
}

}  // namespace mergeyard::api
