#include "exec/http_routes.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <memory>

#include "base/log.h"
#include "exec/action_json.h"
#include "exec/http_json.h"
#include "exec/reapi/cas.h"

namespace mergeyard::exec {
namespace {

using nlohmann::json;

Duration WaitParam(const httplib::Request& req, Duration max) {
  if (!req.has_param("wait")) return 0;
  try {
    double s = std::stod(req.get_param_value("wait"));
    return std::clamp(static_cast<Duration>(s * 1000), Duration{0}, max);
  } catch (...) {
    return 0;
  }
}

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

Handler Guard(std::string token, Handler h) {
  return [token = std::move(token), h = std::move(h)](const httplib::Request& req,
                                                      httplib::Response& res) {
    if (!TokenMatches(req.get_header_value("Authorization"), token)) {
      SendError(res, 401, "unauthorized", "missing or invalid bearer token");
      return;
    }
    try {
      h(req, res);
    } catch (const std::exception& e) {
      LOG_ERROR("exec api handler failed", {{"path", req.path}, {"error", e.what()}});
      SendError(res, 500, "internal", "internal error");
    }
  };
}

json ViewJson(const core::ExecutionView& v) {
  json j = ViewToJson(v);
  j["log_url"] = "/api/v1/executions/" + v.id + "/log";
  return j;
}

void Execute(ExecService& service, TreeResolver* trees, const httplib::Request& req,
             httplib::Response& res) {
  auto body = ParseJsonObject(req, res);
  if (!body) return;
  auto action = ActionFromJson(*body);
  if (!action) return SendError(res, 422, "invalid_action", action.error().message);
  if (action->has_input) {
    if (!trees) return SendError(res, 422, "invalid_action", "this server cannot resolve inputs");
    Status s = ResolveInputTree(*trees, *action);
    if (!s) return SendError(res, 422, "invalid_action", s.error().message);
  }
  core::SubmitOptions opts;
  opts.skip_cache = body->value("skip_cache", false);
  opts.no_merge = body->value("no_merge", false);
  core::Submitted s = service.Submit(*action, opts, nullptr);
  json out = {{"execution_id", s.execution}, {"action_digest", s.digest},
              {"status", core::SubmitStatusName(s.status)}, {"waiter_id", s.waiter}};
  if (s.cached) {
    json r = ResultToJson(*s.cached);
    r["cached"] = true;
    out["result"] = r;
  }
  SendJson(res, out);
}

void RegisterClientRoutes(httplib::Server& server, ExecService& service, TreeResolver* trees,
                          const std::string& token, const LogLinks* links) {
  server.Post("/api/v1/actions/execute", Guard(token, [&service, trees](const httplib::Request& req, httplib::Response& res) {
                Execute(service, trees, req, res);
              }));
  server.Get(R"(/api/v1/executions/([^/]+))", Guard(token, [&service](const httplib::Request& req, httplib::Response& res) {
               std::string id = req.matches[1];
               Duration wait = WaitParam(req, 60 * kSecond);
               auto v = wait > 0 ? service.Wait(id, wait) : service.View(id);
               if (!v) return SendError(res, 404, "not_found", "no execution " + id);
               SendJson(res, ViewJson(*v));
             }));
  auto read_log = [&service](const httplib::Request& req, httplib::Response& res) {
    auto log = service.ReadLog(req.matches[1]);
    if (!log) return SendError(res, log.error());
    res.set_content(*log, "text/plain; charset=utf-8");
  };
  server.Get(R"(/api/v1/executions/([^/]+)/log)",
             [links, guarded = Guard(token, read_log), read_log](const httplib::Request& req, httplib::Response& res) {
               if (links && req.has_param("sig") && links->Verify(req.matches[1], req.get_param_value("sig"))) {
                 return read_log(req, res);
               }
               guarded(req, res);
             });
  server.Post(R"(/api/v1/executions/([^/]+)/leave)", Guard(token, [&service](const httplib::Request& req, httplib::Response& res) {
                auto body = ParseJsonObject(req, res);
                if (!body) return;
                if (!body->contains("waiter_id") || !(*body)["waiter_id"].is_number_unsigned())
                  return SendError(res, 422, "invalid", "waiter_id must be a number");
                if (!service.Leave((*body)["waiter_id"].get<core::WaiterId>()))
                  return SendError(res, 404, "not_found", "no such waiter");
                SendJson(res, json::object());
              }));
}

void Register(ExecService& service, const httplib::Request& req, httplib::Response& res) {
  auto body = ParseJsonObject(req, res);
  if (!body) return;
  core::ExecutorInfo info;
  info.id = body->value("id", "");
  if (info.id.empty() || info.id.find('/') != std::string::npos)
    return SendError(res, 422, "invalid", "id must be a non-empty name without '/'");
  info.capacity = core::Resources{1, 0, {}};
  if (body->contains("resources") && (*body)["resources"].is_object()) {
    json wrapper = {{"command", {"x"}}, {"resources", (*body)["resources"]}};
    auto parsed = ActionFromJson(wrapper);
    if (!parsed) return SendError(res, 422, "invalid", parsed.error().message);
    info.capacity = parsed->resources;
  }
  if (body->contains("labels") && (*body)["labels"].is_object())
    for (const auto& [k, v] : (*body)["labels"].items())
      if (v.is_string()) info.labels[k] = v.get<std::string>();
  if (body->contains("warm_repos") && (*body)["warm_repos"].is_array())
    for (const auto& r : (*body)["warm_repos"])
      if (r.is_string()) info.warm_repos.insert(r.get<std::string>());
  service.RegisterExecutor(info, nullptr);
  SendJson(res, {{"executor_id", info.id}});
}

// Executors read and write content-store blobs (REAPI inputs and outputs):
// GET and HEAD 200 with the bytes / 404; PUT stores the body when its
// SHA-256 is the one in the path (else 422, nothing kept).
void RegisterBlobRoutes(httplib::Server& server, ContentStore& cas, const std::string& token) {
  server.Get(R"(/api/v1/blobs/([0-9a-f]{64}))", Guard(token, [&cas](const httplib::Request& req, httplib::Response& res) {
               const std::string hash = req.matches[1];
               auto size = cas.SizeOf(hash);
               if (!size) return SendError(res, 404, "not_found", "no blob " + hash);
               const std::int64_t total = *size;
               res.set_content_provider(
                   static_cast<std::size_t>(total), "application/octet-stream",
                   [&cas, hash](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                     auto chunk = cas.Read(hash, static_cast<std::int64_t>(offset),
                                           static_cast<std::int64_t>(std::min<std::size_t>(length, 1 << 20)));
                     if (!chunk || chunk->empty()) return false;
                     return sink.write(chunk->data(), chunk->size());
                   });
             }));
  server.Put(R"(/api/v1/blobs/([0-9a-f]{64}))", Guard(token, [&cas](const httplib::Request& req, httplib::Response& res) {
               const std::string hash = req.matches[1];
               if (cas.Has(hash)) return SendJson(res, json::object());
               std::string actual = reapi::DigestOf(req.body).hash();
               if (actual != hash) return SendError(res, 422, "digest_mismatch", "the body's SHA-256 is " + actual);
               auto stored = cas.Put(req.body);
               if (!stored) return SendError(res, 500, "internal", stored.error().message);
               SendJson(res, json::object());
             }));
}

void RegisterExecutorRoutes(httplib::Server& server, ExecService& service, const std::string& token,
                            Duration lease, Duration grace) {
  server.Post("/api/v1/executors/register",
              Guard(token, [&service, lease, grace](const httplib::Request& req, httplib::Response& res) {
                Register(service, req, res);
                if (res.status == 200) {
                  json j = json::parse(res.body);
                  j["lease_duration_ms"] = lease;
                  j["lease_grace_ms"] = grace;
                  SendJson(res, j);
                }
              }));
  server.Post(R"(/api/v1/executors/([^/]+)/poll)", Guard(token, [&service](const httplib::Request& req, httplib::Response& res) {
                auto work = service.PollWork(req.matches[1], WaitParam(req, 30 * kSecond));
                if (!work) return SendError(res, 404, "not_registered", work.error().message);
                json list = json::array();
                for (const auto& a : *work) {
                  json j = AssignmentToJson(a);
                  auto url = a.action.has_input ? service.FetchUrl(a.action.input.repo) : std::nullopt;
                  j["fetch_url"] = url ? *url : "";
                  list.push_back(j);
                }
                SendJson(res, {{"assignments", list}});
              }));
  server.Post(R"(/api/v1/leases/([^/]+)/renew)", Guard(token, [&service](const httplib::Request& req, httplib::Response& res) {
                Status s = service.Renew(req.matches[1]);
                if (!s) return SendError(res, 404, "lease_lost", s.error().message);
                SendJson(res, json::object());
              }));
  server.Post(R"(/api/v1/leases/([^/]+)/log)", Guard(token, [&service](const httplib::Request& req, httplib::Response& res) {
                Status s = service.AppendLog(req.matches[1], req.body);
                if (!s) return SendError(res, 404, "lease_lost", s.error().message);
                SendJson(res, json::object());
              }));
  RegisterBlobRoutes(server, service.content(), token);
  server.Post(R"(/api/v1/leases/([^/]+)/complete)", Guard(token, [&service](const httplib::Request& req, httplib::Response& res) {
                auto body = ParseJsonObject(req, res);
                if (!body) return;
                if (!body->contains("result") || !(*body)["result"].is_object())
                  return SendError(res, 422, "invalid", "result must be an object");
                Status s = service.Complete(req.matches[1], ResultFromJson((*body)["result"]));
                if (!s) return SendError(res, 409, "refused", s.error().message);
                SendJson(res, json::object());
              }));
}

}  // namespace

bool TokenMatches(const std::string& header, const std::string& expected) {
  static const std::string kPrefix = "Bearer ";
  if (expected.empty() || header.size() != kPrefix.size() + expected.size()) {
    // Same work either way; the length of the expected token is not secret-critical.
    volatile int sink = CRYPTO_memcmp(expected.data(), expected.data(), expected.size());
    (void)sink;
    return false;
  }
  if (header.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  return CRYPTO_memcmp(header.data() + kPrefix.size(), expected.data(), expected.size()) == 0;
}

Status ResolveInputTree(TreeResolver& trees, core::Action& action) {
  if (!action.has_input) return Ok();
  if (action.input.paths.empty()) {
    auto tree = trees.TreeId(action.input.repo, action.input.commit);
    if (!tree) return tree.error();
    action.input.tree = *tree;
    return Ok();
  }
  if (auto tree = trees.TreeId(action.input.repo, action.input.commit); !tree) return tree.error();
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& p : action.input.paths) {
    auto id = trees.PathId(action.input.repo, action.input.commit, p);
    entries.emplace_back(p, id ? *id : "missing");
  }
  action.input.tree = core::PathsTreeDigest(std::move(entries));
  return Ok();
}

void RegisterRoutes(httplib::Server& server, ExecService& service, TreeResolver* trees,
                    ApiTokens tokens) {
  RegisterClientRoutes(server, service, trees, tokens.admin, tokens.log_links);
  const auto& cfg = service.config();
  RegisterExecutorRoutes(server, service, tokens.executor, cfg.lease_duration, cfg.lease_grace);
}

}  // namespace mergeyard::exec
