#pragma once
// The webhook listener: POST /webhooks/github, /webhooks/gitlab, /webhooks/gitea
// (Forgejo posts to the Gitea route). For each request, in this order:
//   1. a body over the size limit: 413;
//   2. the signature (or GitLab token) is checked over the raw body in
//      constant time: 401 when missing or wrong;
//   3. the event header and the JSON body are read: 400 when malformed; an
//      event of a kind mergeyard does not act on (the signature already
//      proved it authentic) is answered 202 {"status": "ignored"} and not
//      stored; a delivery signed with a secret that is not the one for its
//      repository: 401;
//   4. the delivery is committed to the DeliveryStore (deduplicated by its
//      delivery id) and answered 202 — also for a redelivery, which is not
//      stored again. Processing happens later (Processor).
// Errors are JSON {"error": {"code": "...", "message": "..."}}; nothing is
// stored for any of them. Secrets are never logged.
//
// Every request counts once in mergeyard_webhook_deliveries_total{forge,
// result}, result one of: accepted, ignored (stored, nothing to do),
// ignored_kind (a kind mergeyard does not use; not stored), duplicate,
// too_large, bad_signature, wrong_repo_secret, missing_event, malformed,
// store_failed, internal_error.

#include <cstddef>
#include <functional>

#include "base/metrics.h"
#include "webhook/delivery_store.h"
#include "webhook/secrets.h"

namespace httplib { class Server; }

namespace mergeyard::webhook {

struct ListenerOptions {
  WebhookSecrets secrets;
  std::size_t max_body_bytes = 25 * 1024 * 1024;  // the forges' own cap
  metrics::Registry* metrics = &metrics::Default();  // where the delivery counters go
};

// Mounts the three routes on `server` and turns TCP_NODELAY on. `store` must
// outlive the server. `on_stored` (may be empty) runs after a new delivery is
// committed, e.g. to wake the Processor.
void RegisterRoutes(httplib::Server& server, ListenerOptions options, DeliveryStore& store,
                    std::function<void()> on_stored = {});

}  // namespace mergeyard::webhook
