#pragma once
// The admin REST API (DESIGN.md section 5), its OpenAPI document and the
// dashboard, mounted by app/ on the service's one listener:
//
//   api::AdminDeps deps{&engine, &store, &forges, &exec_stack->service()};
//   deps.reapi = reapi_server ? &reapi_server->counters() : nullptr;
//   api::MountAdminApi(http, deps, {config.admin_token, config.public_url});
//   api::MountDashboard(http);
//
// Access. Reading the queues and the execution backend's state is open:
// the dashboard polls it from the browser, and it holds no secrets (PR
// numbers, commit ids, step names, log URLs whose content stays behind the
// token). Everything that changes something needs
// `Authorization: Bearer <admin token>` (api/auth.h: 401 missing, 403 wrong,
// 403 "admin_disabled" when no token is configured — never open by default).
//
//   public  GET    /api/v1/openapi.json                       OpenAPI 3.0 document of every route
//   public  GET    /api/v1/queues                             {"queues":[summary...]}
//   public  GET    /api/v1/repos/{owner}/{repo}/queue[?branch=B][&history=N]
//                  {"repo","queues":[detail...]} — always a list, one element per
//                  target branch (just B with ?branch=); history N rows (default
//                  50, 0..500). 404 unknown_repo / unknown_queue. Shapes: queue_view.h.
//   admin   POST   /api/v1/repos/{owner}/{repo}/queue/pause[?branch=B]
//   admin   POST   /api/v1/repos/{owner}/{repo}/queue/resume[?branch=B]
//                  202 {"repo","paused","queues":[{"repo","branch"}]}: SetPaused posted
//                  to each queue (a paused queue finishes what is testing and forms no
//                  new batches). 404 unknown_repo / unknown_queue.
//   admin   POST   /api/v1/repos/{owner}/{repo}/entries   {"pr": N, "priority": P}
//                  P: 0..255 or "high"|"normal"|"low" (default normal; without P an
//                  entry already queued keeps its priority). Runs the admission
//                  path of `!integrate` (forge::Admitter) and posts Enqueue{pr, head,
//                  P} to {repo, its base branch} durably. 202 {"repo","branch","pr","head_sha",
//                  "priority","status":"accepted"}. 422 invalid_body / invalid_pr /
//                  invalid_priority / no_forge / not_opted_in / invalid_config,
//                  404 unknown_pr, 409 pr_closed / pr_draft / pr_conflicts, 503 forge_unavailable
//                  (no forge configured, or it failed transiently), 502 forge_error.
//   admin   PATCH  /api/v1/repos/{owner}/{repo}/entries/{pr}[?branch=B]  {"priority": P}
//                  202 {"repo","branch","pr","priority","status":"accepted"} (Reprioritize)
//   admin   DELETE /api/v1/repos/{owner}/{repo}/entries/{pr}[?branch=B]
//                  202 {"repo","branch","pr","status":"accepted"}
//                  (Cancel{pr, kCancelledByAdmin}).
//                  Both: 404 unknown_repo / unknown_entry (not a live entry of any of
//                  the repository's queues), 400 invalid_pr, 422 invalid_body/priority.
//   public  GET    /api/v1/executions[?limit=N]
//                  {"available","executions":[...live, then N recent (default 50,
//                  0..1000)],"counters":{...}}  (exec_view.h); each execution's
//                  "kind" is "step" (a pipeline step) or "reapi" (a REAPI action).
//   public  GET    /api/v1/executors   {"available","executors":[...],"counters":{...}}
//                  "available" is false (and the lists empty) when deps.exec is null.
//                  "counters": the backend's (CountersJson) plus "cas" (the content
//                  store, ContentStoreJson) and "reapi" (ReapiCountersJson; null
//                  without deps.reapi); null when deps.exec is null.
//
// {owner}/{repo} is the repository's full name; a GitLab project path with
// subgroups may use more segments (/api/v1/repos/group/sub/project/queue).
// Errors are {"error":{"code","message"}}; 400 is a bad query parameter.
// The routes /api/v1/actions/execute and /api/v1/executions/{id}[/log|/leave]
// belong to exec/http_routes.h and are only described by the OpenAPI document.
//
// The engine is touched only through Engine::Post, Snapshot and Queues
// (thread-safe); posted events are processed later by the engine thread, so
// mutating routes answer 202 Accepted.

#include <httplib.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "exec/exec_service.h"
#include "exec/reapi/counters.h"
#include "forge/admission.h"
#include "forge/ci_gate.h"
#include "forge/directory.h"
#include "store/sqlite_state_store.h"

namespace mergeyard::api {

struct AdminOptions {
  std::string admin_token;  // empty: admin routes answer 403 admin_disabled
  std::string public_url;   // prefixes log URLs and is the OpenAPI server ("" = same origin)
};

// Every pointer must outlive the server's handlers (stop the server first).
struct AdminDeps {
  engine::Engine* engine = nullptr;             // required
  store::SqliteStateStore* history = nullptr;   // may be null: no history, trees from live nodes only
  forge::ForgeDirectory* forges = nullptr;      // may be null: admin enqueue answers 503
  exec::ExecService* exec = nullptr;            // may be null: "available": false
  // The REAPI server's counters (exec::ExecStack::reapi_server()); may be
  // null (no REAPI server): "counters"."reapi" is null.
  const exec::reapi::Counters* reapi = nullptr;
  // The one admission path, shared with the `!integrate` command: admin
  // enqueue answers 503 without it. Refusals answer 409 (closed, merged,
  // draft, pr_conflicts naming the paths when known) or 422 (not_opted_in,
  // invalid_config); forge or git errors 503 (transient) or 502.
  forge::Admitter* admission = nullptr;
  // May be null. When set, batches waiting on external CI show their
  // required checks in the queue detail.
  forge::CiGate* ci = nullptr;
};

void MountAdminApi(httplib::Server& server, AdminDeps deps, AdminOptions options);

// GET / (the dashboard page) and GET /dashboard/{app.js,style.css}: static
// files built into the binary (src/api/dashboard/). The page polls the
// public GET routes above every 2 s; an admin token typed into it is kept in
// the tab's sessionStorage and sent only to this origin's admin routes.
void MountDashboard(httplib::Server& server);

}  // namespace mergeyard::api
