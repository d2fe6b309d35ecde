#pragma once
// The execution backend's HTTP API, mounted by app/ on the one listener.
//
// Client routes (Authorization: Bearer <admin token>):
//   POST /api/v1/actions/execute      body: an action (DESIGN.md section 5), plus
//        optional "skip_cache"/"no_merge" booleans. 200
//        {"execution_id","action_digest","status":"cached"|"merged"|"queued","waiter_id"}
//        (+ "result" when cached). 422 invalid action or unknown commit.
//   GET  /api/v1/executions/{id}[?wait=SECONDS]   the execution; with wait,
//        long-polls (at most 60 s) until it is completed or cancelled.
//   GET  /api/v1/executions/{id}/log  text/plain
//   POST /api/v1/executions/{id}/leave  {"waiter_id": N}: stop waiting
// Executor protocol (Authorization: Bearer <executor token>):
//   POST /api/v1/executors/register   {"id","resources","labels","warm_repos"}
//        -> {"executor_id","lease_duration_ms","lease_grace_ms"}
//   POST /api/v1/executors/{id}/poll[?wait=SECONDS] -> {"assignments":[...]}
//        (each with "fetch_url"); 404 not_registered: register again
//   POST /api/v1/leases/{lease}/renew  -> 200 {} | 404 lease_lost (stop the step)
//   POST /api/v1/leases/{lease}/log    raw bytes appended to the live log
//   POST /api/v1/leases/{lease}/complete {"result":{...}} -> 200 | 409 refused
// Errors: {"error":{"code","message"}}; 401 missing or wrong token (compared
// in constant time), 404 unknown id, 422 invalid input.

#include <httplib.h>

#include <string>

#include "exec/exec_service.h"
#include "exec/workspace.h"

#include "exec/log_links.h"

namespace mergeyard::exec {

struct ApiTokens {
  std::string admin;     // empty: client routes refuse everything
  std::string executor;  // empty: executor routes refuse everything
  // Also lets GET /api/v1/executions/{id}/log?sig=... through without a
  // token when sig is the link's signature (may be null: token only).
  const LogLinks* log_links = nullptr;
};

// `trees` resolves input trees for submitted actions (may be null: actions
// with an input are then refused with 422).
void RegisterRoutes(httplib::Server& server, ExecService& service, TreeResolver* trees,
                    ApiTokens tokens);

// Resolves action.input.tree: the commit's tree id, or PathsTreeDigest of
// the declared paths. kNotFound when the commit is unknown.
Status ResolveInputTree(TreeResolver& trees, core::Action& action);

// Constant-time comparison of a presented bearer token with the expected one.
bool TokenMatches(const std::string& authorization_header, const std::string& expected);

}  // namespace mergeyard::exec
