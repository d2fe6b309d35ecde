#pragma once
// JSON answers for the admin API: every error is
// {"error": {"code": "...", "message": "..."}} with a fitting status code.
// Handlers wrapped by Guarded/Public (auth.h) never let an exception escape:
// one becomes 500 {"error":{"code":"internal",...}}.

#include <httplib.h>

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace mergeyard::api {

void SendJson(httplib::Response& res, const nlohmann::json& body, int status = 200);
void SendError(httplib::Response& res, int status, std::string_view code, std::string_view message);

// An Error from a lower layer: kInvalid 422, kNotFound 404, kConflict 409,
// kUnauthorized 401, kForbidden 403, kTransient 503, kInternal 500.
int HttpStatusOf(ErrorCode code);

// The body as a JSON object. Otherwise answers 422 "invalid_body" naming the
// problem and returns nullopt.
std::optional<nlohmann::json> ParseJsonObject(const httplib::Request& req, httplib::Response& res);

}  // namespace mergeyard::api
