#include "api/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>

#include "exec/http_json.h"
#include "base/log.h"

namespace mergeyard::api {

using exec::SendError;
namespace {

std::array<unsigned char, 32> Sha256(const std::string& text) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

// The token of a "Bearer <token>" header (scheme case-insensitive), or false.
bool BearerToken(const std::string& header, std::string* token) {
  static constexpr char kScheme[] = "bearer";
  constexpr size_t n = sizeof kScheme - 1;
  if (header.size() <= n + 1 || header[n] != ' ') return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  size_t start = header.find_first_not_of(' ', n);
  if (start == std::string::npos) return false;
  size_t end = header.find_last_not_of(" \t");
  *token = header.substr(start, end - start + 1);
  return !token->empty();
}

Handler Protect(Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res);
    } catch (const std::exception& e) {
      LOG_ERROR("admin api handler failed", {{"path", req.path}, {"error", e.what()}});
      SendError(res, 500, "internal", "internal error");
    }
  };
}

}  // namespace

AdminAuth::AdminAuth(const std::string& token) : configured_(!token.empty()) {
  if (configured_) digest_ = Sha256(token);
}

AuthVerdict AdminAuth::Judge(const std::string& header) const {
  if (!configured_) return AuthVerdict::kNotConfigured;
  std::string token;
  if (!BearerToken(header, &token)) return AuthVerdict::kMissing;
  const auto presented = Sha256(token);
  return CRYPTO_memcmp(presented.data(), digest_.data(), digest_.size()) == 0 ? AuthVerdict::kOk
                                                                              : AuthVerdict::kWrong;
}

bool AdminAuth::Allow(const httplib::Request& req, httplib::Response& res) const {
  switch (Judge(req.get_header_value("Authorization"))) {
    case AuthVerdict::kOk:
      return true;
    case AuthVerdict::kNotConfigured:
      SendError(res, 403, "admin_disabled",
                "no admin token is configured (set MERGEYARD_ADMIN_TOKEN or admin_token); "
                "admin routes are disabled");
      return false;
    case AuthVerdict::kMissing:
      res.set_header("WWW-Authenticate", "Bearer realm=\"mergeyard\"");
      SendError(res, 401, "unauthorized", "this route needs Authorization: Bearer <admin token>");
      return false;
    case AuthVerdict::kWrong:
      SendError(res, 403, "forbidden", "the bearer token is not the admin token");
      return false;
  }
  return false;
}

Handler Guarded(const AdminAuth& auth, Handler handler) {
  return Protect([auth, handler = std::move(handler)](const httplib::Request& req,
                                                      httplib::Response& res) {
    if (auth.Allow(req, res)) handler(req, res);
  });
}

Handler Public(Handler handler) { return Protect(std::move(handler)); }

}  // namespace mergeyard::api
