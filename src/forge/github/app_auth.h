#pragma once
// GitHub App authentication: an RS256 JWT signed with the App's private key
// is exchanged for installation tokens, cached per installation and renewed
// five minutes before they expire. The installation of a repository comes
// from webhooks (RememberInstallation) or `GET /repos/{repo}/installation`.
// Thread-safe. Keys and tokens are never logged.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "forge/rest_client.h"

namespace mergeyard::forge::github {

// A JWT for the App: header {"alg":"RS256","typ":"JWT"}, claims iat = now-60s,
// exp = now+9m, iss = app_id. Errors: kInvalid when the PEM key is unusable.
Result<std::string> MakeAppJwt(const std::string& app_id, const std::string& private_key_pem, Time now);

// Parses "2016-07-11T22:14:10Z" into milliseconds since the epoch.
std::optional<Time> ParseIsoTime(const std::string& text);

class AppAuth final : public AuthProvider {
 public:
  // `api` carries the base URL (GitHub Enterprise: https://host/api/v3).
  AppAuth(std::string app_id, std::string private_key_pem, RestOptions api, const Clock& clock,
          RestClient::Sleeper sleep = {});
  ~AppAuth() override;

  void RememberInstallation(const std::string& repo, std::int64_t installation_id);

  // Authorization: Bearer <installation token> for the repository's installation.
  Result<HeaderList> Headers(const std::string& repo) override;

  // A valid token for the installation (cached). Errors: those of the API.
  Result<std::string> InstallationToken(std::int64_t installation_id);

  // Tokens minted so far (tests check the cache).
  int tokens_minted() const;

 private:
  class JwtAuth;
  Result<std::int64_t> InstallationFor(const std::string& repo);

  std::string app_id_;
  std::string key_pem_;
  const Clock& clock_;
  std::unique_ptr<JwtAuth> jwt_auth_;
  std::unique_ptr<RestClient> app_client_;
  mutable std::mutex mu_;
  struct Token {
    std::string value;
    Time expires_at = 0;
  };
  std::map<std::int64_t, Token> tokens_;
  std::map<std::string, std::int64_t> installations_;
  int minted_ = 0;
};

}  // namespace mergeyard::forge::github
