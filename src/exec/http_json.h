#pragma once
// JSON answers for every HTTP API of the service (the execution API here,
// the admin API in api/): errors are {"error": {"code": "...", "message":
// "..."}} with a fitting status code.

#include <httplib.h>

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace mergeyard::exec {

// Sets Cache-Control: no-store; invalid UTF-8 in strings is replaced, not thrown.
void SendJson(httplib::Response& res, const nlohmann::json& body, int status = 200);
void SendError(httplib::Response& res, int status, std::string_view code, std::string_view message);
// An Error from a lower layer, with HttpStatusOf(e.code) and its code name.
void SendError(httplib::Response& res, const Error& e);

// kInvalid 422, kNotFound 404, kConflict 409, kUnauthorized 401,
// kForbidden 403, kTransient 503, kInternal 500.
int HttpStatusOf(ErrorCode code);

// The body as a JSON object. Otherwise answers 422 "invalid_body" naming the
// problem and returns nullopt.
std::optional<nlohmann::json> ParseJsonObject(const httplib::Request& req, httplib::Response& res);

}  // namespace mergeyard::exec
