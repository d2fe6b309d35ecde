#pragma once
// Builds the forge clients from settings (the service configuration, or the
// environment: MERGEYARD_GITHUB_URL / _TOKEN / _APP_ID / _PRIVATE_KEY_FILE,
// MERGEYARD_GITLAB_URL / _TOKEN, MERGEYARD_GITEA_URL / _TOKEN) and registers
// them in a ForgeDirectory. A GitHub App (app id + key file) is preferred to
// a GitHub token and reports with check runs. Tokens are never logged.

#include <map>
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
  // Where the git layer fetches and pushes a repository: a URL template in
  // which "{repo}" stands for "owner/name" (https://..., file://... or a
  // local path). Empty: derived from the forge's URL
  // (https://github.com/{repo}.git, <gitlab>/{repo}.git, <gitea>/{repo}.git).
  std::string github_clone_url;
  std::string gitlab_clone_url;
  std::string gitea_clone_url;

  // Fills the fields that are still empty from the MERGEYARD_* variables.
  void FillFromEnvironment();
};

// The REST base URL for a forge's web or API URL.
std::string GithubApiUrl(const std::string& url);
std::string GitlabApiUrl(const std::string& url);
std::string GiteaApiUrl(const std::string& url);

// How git reaches a repository of a configured forge.
struct GitAccess {
  std::string url;    // the clone URL template with {repo} filled in
  std::string token;  // for HTTPS basic auth; empty for local remotes
  ForgeKind kind = ForgeKind::kGithub;
};

// Owns the clients behind the ForgeApis put in the directory; keep it alive
// as long as the directory is used.
class ForgeClients {
 public:
  ~ForgeClients();
  // "github (app)", "gitlab", ...: what was configured, for the startup log.
  const std::vector<std::string>& configured() const { return configured_; }

  // The clone URL and a current token (a GitHub App's installation token is
  // minted or taken from its cache) for `repo` on the forge of `kind`
  // (Forgejo: Gitea's). Errors: kNotFound when that forge is not
  // configured; those of the App's token exchange.
  Result<GitAccess> GitAccessFor(const std::string& repo, ForgeKind kind);

 private:
  friend Result<std::unique_ptr<ForgeClients>> ConnectForges(const ForgeSettings&, const Clock&,
                                                              ForgeDirectory&);
  std::vector<std::unique_ptr<AuthProvider>> auth_;
  std::vector<std::unique_ptr<RestClient>> rest_;
  std::vector<std::string> configured_;
  struct Remote {
    std::string clone_url;     // template with {repo}
    AuthProvider* auth = nullptr;
  };
  std::map<ForgeKind, Remote> remotes_;
};

// Errors: kInvalid when the GitHub App key file cannot be read or is not a key.
Result<std::unique_ptr<ForgeClients>> ConnectForges(const ForgeSettings& settings, const Clock& clock,
                                                    ForgeDirectory& directory);

}  // namespace mergeyard::forge
