#pragma once
// The admin API's bearer token (DESIGN.md section 5).
//
// A request presents `Authorization: Bearer <token>` (the scheme in any case).
// The presented token and the configured one are both hashed with SHA-256 and
// the two digests are compared with CRYPTO_memcmp, so the time taken depends
// neither on where they differ nor on the presented token's length.
//
// Verdicts, in this order:
//   no admin token configured        -> 403 "admin_disabled" (never open by default)
//   header missing / not Bearer      -> 401 "unauthorized" (+ WWW-Authenticate: Bearer)
//   token differs                    -> 403 "forbidden"
//   token matches                    -> the handler runs

#include <httplib.h>

#include <array>
#include <functional>
#include <string>

namespace mergeyard::api {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

enum class AuthVerdict { kOk, kNotConfigured, kMissing, kWrong };

class AdminAuth {
 public:
  // `token` empty: no admin token; every check answers kNotConfigured.
  explicit AdminAuth(const std::string& token);

  bool configured() const { return configured_; }
  // Judges an Authorization header value ("" when absent).
  AuthVerdict Judge(const std::string& authorization_header) const;
  // Judges the request; when it is not kOk, writes the JSON error answer.
  bool Allow(const httplib::Request& req, httplib::Response& res) const;

 private:
  bool configured_ = false;
  std::array<unsigned char, 32> digest_{};
};

// `handler` behind the admin token; exceptions become 500.
Handler Guarded(const AdminAuth& auth, Handler handler);
// `handler` open to anyone (read-only data, the OpenAPI document); exceptions become 500.
Handler Public(Handler handler);

}  // namespace mergeyard::api
