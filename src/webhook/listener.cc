#include "webhook/listener.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "base/log.h"
#include "forge/payload.h"
#include "forge/signature.h"
#include "forge/webhook_headers.h"

namespace mergeyard::webhook {

namespace {

void ErrorReply(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

struct Shared {
  ListenerOptions options;
  DeliveryStore& store;
  std::function<void()> on_stored;
  metrics::CounterFamily* deliveries = nullptr;
};

// The candidate secrets that verify the delivery (every one is tried: no early exit).
std::vector<const std::string*> MatchingSecrets(const forge::WebhookMeta& meta,
                                                const std::vector<std::string>& secrets,
                                                const std::string& body) {
  std::vector<const std::string*> out;
  for (const std::string& s : secrets) {
    if (forge::VerifyWebhook(meta, s, body)) out.push_back(&s);
  }
  return out;
}

// Answers the request; returns the result it counts as (listener.h) and sets
// *from to the forge the delivery says it is from.
const char* Handle(const Shared& sh, forge::ForgeKind route, const httplib::Request& req,
                   httplib::Response& res, forge::ForgeKind* from) {
  *from = route;
  if (req.body.size() > sh.options.max_body_bytes) {
    ErrorReply(res, 413, "payload_too_large",
               "the body is larger than " + std::to_string(sh.options.max_body_bytes) + " bytes");
    return "too_large";
  }
  const forge::WebhookMeta meta = forge::ReadWebhookHeaders(
      route, [&](const std::string& name) { return req.get_header_value(name); }, req.body);
  *from = meta.kind;
  const std::vector<std::string> candidates = sh.options.secrets.Candidates(meta.kind);
  const auto matching = meta.signature.empty() ? std::vector<const std::string*>{}
                                               : MatchingSecrets(meta, candidates, req.body);
  if (matching.empty()) {
    LOG_WARN("webhook rejected: signature", {{"forge", forge::ForgeKindName(meta.kind)},
                                              {"delivery", meta.delivery_id}});
    ErrorReply(res, 401, "unauthorized", "missing or wrong webhook signature");
    return "bad_signature";
  }
  if (meta.event.empty()) {
    ErrorReply(res, 400, "missing_event", std::string("no ") + forge::EventHeader(meta.kind) + " header");
    return "missing_event";
  }
  forge::RepoRef repo;
  auto event = forge::ParsePayload(meta.kind, meta.event, req.body, &repo);
  if (!event.ok() && event.error().code == ErrorCode::kNotFound) {
    // Authentic, of a kind mergeyard does not act on: a 2xx, so the forge
    // does not count a failed delivery (GitLab disables hooks that keep
    // failing); nothing is stored.
    nlohmann::json j = {{"status", "ignored"}, {"delivery", meta.delivery_id}, {"reason", event.error().message}};
    res.status = 202;
    res.set_content(j.dump(), "application/json");
    return "ignored_kind";
  }
  if (!event.ok()) {
    ErrorReply(res, 400, "malformed_payload", event.error().message);
    return "malformed";
  }
  const std::string allowed = sh.options.secrets.For(meta.kind, repo);
  bool allowed_matched = false;
  for (const std::string* s : matching) allowed_matched = forge::ConstantTimeEquals(*s, allowed) || allowed_matched;
  if (!allowed_matched) {
    ErrorReply(res, 401, "unauthorized", "the signature is not the one for this repository");
    return "wrong_repo_secret";
  }
  NewDelivery d{forge::ForgeKindName(meta.kind), meta.delivery_id, meta.event, req.body, false, ""};
  if (const auto* ignored = std::get_if<forge::Ignored>(&*event)) {
    d.done = true;
    d.outcome = "ignored: " + ignored->reason;
  }
  auto stored = sh.store.Insert(std::move(d));
  if (!stored.ok()) {
    ErrorReply(res, 503, "unavailable", "the delivery could not be stored; retry later");
    return "store_failed";
  }
  const bool fresh = *stored == InsertOutcome::kStored;
  nlohmann::json j = {{"status", fresh ? "accepted" : "duplicate"}, {"delivery", meta.delivery_id}};
  res.status = 202;
  res.set_content(j.dump(), "application/json");
  const bool ignored = std::holds_alternative<forge::Ignored>(*event);
  if (fresh && !ignored && sh.on_stored) sh.on_stored();
  return !fresh ? "duplicate" : ignored ? "ignored" : "accepted";
}

}  // namespace

void RegisterRoutes(httplib::Server& server, ListenerOptions options, DeliveryStore& store,
                    std::function<void()> on_stored) {
  server.set_tcp_nodelay(true);
  metrics::Registry& registry = options.metrics ? *options.metrics : metrics::Default();
  auto shared = std::make_shared<Shared>(Shared{std::move(options), store, std::move(on_stored)});
  shared->deliveries = &registry.Counters("mergeyard_webhook_deliveries_total",
                                          "Webhook requests received, by forge and result.",
                                          {"forge", "result"});
  const std::pair<const char*, forge::ForgeKind> routes[] = {
      {"/webhooks/github", forge::ForgeKind::kGithub},
      {"/webhooks/gitlab", forge::ForgeKind::kGitlab},
      {"/webhooks/gitea", forge::ForgeKind::kGitea}};
  for (const auto& [path, kind] : routes) {
    server.Post(path, [shared, kind = kind](const httplib::Request& req, httplib::Response& res) {
      forge::ForgeKind from = kind;
      const char* result = "internal_error";
      try {
        result = Handle(*shared, kind, req, res, &from);
      } catch (const std::exception& e) {
        LOG_ERROR("webhook handler failed", {{"error", e.what()}});
        ErrorReply(res, 500, "internal", "internal error");
      }
      shared->deliveries->With({forge::ForgeKindName(from), result}).Inc();
    });
  }
}

}  // namespace mergeyard::webhook
