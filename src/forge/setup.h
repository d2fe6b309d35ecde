#pragma once
// Builds the forge clients from settings (the service configuration, or the
// environment: MERGEYARD_GITHUB_URL / _TOKEN / _APP_ID / _PRIVATE_KEY_FILE,
// MERGEYARD_GITLAB_URL / _TOKEN, MERGEYARD_GITEA_URL / _TOKEN) and registers
// them in a ForgeDirectory. A GitHub App (app id + key file) is preferred to
// a GitHub token and reports with check runs. Tokens are never logged.

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "forge/directory.h"
#include "forge/rest_client.h"

namespace mergeyard::forge {

struct ForgeSettings {
  std::string github_url;                // "https://github.com", "https://ghe.example.com", or an API URL
  std::string github_token;
  std::string github_app_id;             // numeric App ID or client ID
  std::string github_private_key_file;   // PEM
  std::string gitlab_url;                // "https://gitlab.example.com" or ".../api/v4"
  std::string gitlab_token;
  std::string gitea_url;                 // "https://gitea.example.com" or ".../api/v1"
  std::string gitea_token;

  // Fills the fields that are still empty from the MERGEYARD_* variables.
  void FillFromEnvironment();
};

// The REST base URL for a forge's web or API URL.
std::string GithubApiUrl(const std::string& url);
std::string GitlabApiUrl(const std::string& url);
std::string GiteaApiUrl(const std::string& url);

// Owns the clients behind the ForgeApis put in the directory; keep it alive
// as long as the directory is used.
class ForgeClients {
 public:
  ~ForgeClients();
  // "github (app)", "gitlab", ...: what was configured, for the startup log.
  const std::vector<std::string>& configured() const { return configured_; }

 private:
  friend Result<std::unique_ptr<ForgeClients>> ConnectForges(const ForgeSettings&, const Clock&,
                                                              ForgeDirectory&);
  std::vector<std::unique_ptr<AuthProvider>> auth_;
  std::vector<std::unique_ptr<RestClient>> rest_;
  std::vector<std::string> configured_;
};

// Errors: kInvalid when the GitHub App key file cannot be read or is not a key.
Result<std::unique_ptr<ForgeClients>> ConnectForges(const ForgeSettings& settings, const Clock& clock,
                                                    ForgeDirectory& directory);

}  // namespace mergeyard::forge
