#include "exec/http_json.h"

namespace mergeyard::exec {

using nlohmann::json;

void SendJson(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int status, std::string_view code, std::string_view message) {
  SendJson(res, json{{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}},
           status);
}

void SendError(httplib::Response& res, const Error& e) {
  SendError(res, HttpStatusOf(e.code), ErrorCodeName(e.code), e.message);
}

int HttpStatusOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalid: return 422;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kTransient: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::optional<json> ParseJsonObject(const httplib::Request& req, httplib::Response& res) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    SendError(res, 422, "invalid_body", "the body is not valid JSON");
    return std::nullopt;
  }
  if (!body.is_object()) {
    SendError(res, 422, "invalid_body", "the body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

}  // namespace mergeyard::exec
