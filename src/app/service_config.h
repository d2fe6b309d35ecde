#pragma once
// The service's own configuration (not a repository's .mergeyard.yml): read
// from an optional YAML file (config/mergeyard.example.yml documents every
// key), then overridden by MERGEYARD_* environment variables (DESIGN.md
// section 5), so a container or a test can run without a file.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/duration.h"
#include "base/log.h"
#include "base/result.h"

namespace mergeyard::app {

struct GithubSettings {
  std::string url = "https://api.github.com";
  std::string app_id;            // GitHub App id (with private_key_file), or...
  std::string private_key_file;  // ...PEM file of the App's private key
  std::string token;             // ...a token (secret)
  std::string webhook_secret;    // secret; empty: ServiceConfig::webhook_secret
  std::string clone_url;         // git remote template, "{repo}" = owner/name; empty: https://github.com/{repo}.git
};

struct GitlabSettings {
  std::string url = "https://gitlab.com";
  std::string token;             // secret
  std::string webhook_secret;    // secret (X-Gitlab-Token); empty: the default
  std::string clone_url;         // git remote template; empty: <url>/{repo}.git
};

struct GiteaSettings {
  std::string url;               // e.g. https://gitea.example.com; no default
  std::string token;             // secret
  std::string webhook_secret;    // secret; empty: the default
  std::string clone_url;         // git remote template; empty: <url>/{repo}.git
};

struct ServiceConfig {
  std::string listen = "127.0.0.1:8080";   // host:port of the one HTTP listener
  std::string public_url;                  // for links; default http://<listen>
  std::string data_dir = "./mergeyard-data";
  std::string admin_token;                 // secret: Bearer token of the admin API
  std::string executor_token;              // secret: remote executors' token
  std::string webhook_secret;              // secret: default for every forge
  GithubSettings github;
  GitlabSettings gitlab;
  GiteaSettings gitea;
  int local_executors = 1;                 // default: the number of cores
  // Threads of the HTTP listener. Every connection being served holds one,
  // and remote executors' long polls and action waits hold theirs while they
  // wait, so this bounds remote executors plus concurrent clients.
  int http_threads = 128;
  // External CI (`checks`): how often a waiting batch's verdicts are polled
  // while the repository's CI sends no webhooks, and while it does.
  Duration ci_poll_interval = 30 * kSecond;
  Duration ci_safety_poll_interval = 5 * kMinute;
  // Remote Execution API (DESIGN.md section 8): the gRPC listener (empty:
  // off), its bearer token (empty: no auth) and optional TLS.
  std::string reapi_listen;
  std::string reapi_token;                 // secret
  std::string reapi_tls_cert_file, reapi_tls_key_file;
  // Pipeline steps on an external REAPI engine instead of this machine
  // (empty: off): grpc://host:port or grpcs://host:port, its instance name,
  // and the token sent to it (reapi_remote_token; when unset, reapi_token,
  // so DESIGN.md's `reapi_token_file` alone also works).
  std::string reapi_remote, reapi_instance;
  std::string reapi_remote_token;          // secret
  // The content store (step logs, REAPI blobs): least recently used blobs
  // are evicted beyond this many bytes.
  std::int64_t cas_max_bytes = 10LL << 30;
  LogFormat log_format = LogFormat::kText;
  LogLevel log_level = LogLevel::kInfo;

  // The secret that signs `forge`'s webhooks ("github", "gitlab", "gitea"):
  // its own if set, else webhook_secret. Empty when neither is set.
  std::string WebhookSecretFor(const std::string& forge) const;
  // <data_dir>/mergeyard.db
  std::string DatabasePath() const;
  // Every setting, one "key: value" per line; secrets print as "(set)" or
  // "(unset)", never their value.
  std::string ToString() const;
};

// Reads the YAML file at `path` (none: defaults only), then applies the
// overrides of `env`: MERGEYARD_LISTEN, _PUBLIC_URL, _DATA_DIR, _ADMIN_TOKEN,
// _EXECUTOR_TOKEN, _WEBHOOK_SECRET, _GITHUB_APP_ID, _GITHUB_PRIVATE_KEY_FILE,
// _GITHUB_TOKEN, _GITHUB_URL, _GITLAB_TOKEN, _GITLAB_URL, _GITEA_TOKEN,
// _GITEA_URL, _LOCAL_EXECUTORS, _HTTP_THREADS, _LOG_FORMAT, _LOG_LEVEL,
// _CI_POLL_INTERVAL, _CI_SAFETY_POLL_INTERVAL, _REAPI_LISTEN, _REAPI_TOKEN,
// _REAPI_TLS_CERT_FILE, _REAPI_TLS_KEY_FILE, _REAPI_REMOTE, _REAPI_INSTANCE,
// _REAPI_REMOTE_TOKEN, _CAS_MAX_SIZE. Each secret may also
// be given as a file: the `<key>_file` YAML key or the `<VAR>_FILE` variable
// (e.g. MERGEYARD_ADMIN_TOKEN_FILE); the file's content, less trailing
// whitespace, is the secret. A variable beats the file's key.
// Errors (kInvalid, naming the file and line where there is one): unreadable
// or malformed YAML, unknown keys, wrong types, a key given both directly and
// as a file, unreadable secret files, invalid values.
Result<ServiceConfig> LoadServiceConfig(const std::optional<std::string>& path,
                                        const std::map<std::string, std::string>& env);

// "host:port" (IPv6 as "[::1]:8080") into its parts; port 0 means "any".
// False when it is not of that form or the port is out of range.
bool SplitListen(const std::string& listen, std::string* host, int* port);

// This process's MERGEYARD_* environment variables.
std::map<std::string, std::string> MergeyardEnvironment();

}  // namespace mergeyard::app
