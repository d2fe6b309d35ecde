#include "forge/setup.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "forge/gitea/api.h"
#include "forge/github/api.h"
#include "forge/github/app_auth.h"
#include "forge/gitlab/api.h"

namespace mergeyard::forge {

namespace {

void FromEnv(std::string* field, const char* name) {
  if (!field->empty()) return;
  const char* v = std::getenv(name);
  if (v) *field = v;
}

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string WithApiPath(const std::string& url, const std::string& api) {
  const std::string u = TrimSlash(url);
  if (u.find("/api/") != std::string::npos) return u;
  return u + api;
}

// The web origin of a forge given its web or API URL.
std::string WebUrl(const std::string& url) {
  std::string u = TrimSlash(url);
  if (u == "https://api.github.com") return "https://github.com";
  if (auto api = u.find("/api/"); api != std::string::npos) u = u.substr(0, api);
  return u;
}

std::string CloneTemplate(const std::string& configured, const std::string& forge_url) {
  if (!configured.empty()) return configured;
  return WebUrl(forge_url) + "/{repo}.git";
}

// The token inside an Authorization / PRIVATE-TOKEN header value.
std::string TokenOf(const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    for (const char* prefix : {"Bearer ", "token "}) {
      if (value.starts_with(prefix)) return value.substr(std::string(prefix).size());
    }
    if (name == "PRIVATE-TOKEN") return value;
  }
  return "";
}

}  // namespace

void ForgeSettings::FillFromEnvironment() {
  FromEnv(&github_url, "MERGEYARD_GITHUB_URL");
  FromEnv(&github_token, "MERGEYARD_GITHUB_TOKEN");
  FromEnv(&github_app_id, "MERGEYARD_GITHUB_APP_ID");
  FromEnv(&github_private_key_file, "MERGEYARD_GITHUB_PRIVATE_KEY_FILE");
  FromEnv(&gitlab_url, "MERGEYARD_GITLAB_URL");
  FromEnv(&gitlab_token, "MERGEYARD_GITLAB_TOKEN");
  FromEnv(&gitea_url, "MERGEYARD_GITEA_URL");
  FromEnv(&gitea_token, "MERGEYARD_GITEA_TOKEN");
  FromEnv(&github_clone_url, "MERGEYARD_GITHUB_CLONE_URL");
  FromEnv(&gitlab_clone_url, "MERGEYARD_GITLAB_CLONE_URL");
  FromEnv(&gitea_clone_url, "MERGEYARD_GITEA_CLONE_URL");
}

std::string GithubApiUrl(const std::string& url) {
  const std::string u = TrimSlash(url);
  if (u.empty() || u == "https://github.com" || u == "https://api.github.com") return "https://api.github.com";
  return WithApiPath(u, "/api/v3");
}

std::string GitlabApiUrl(const std::string& url) {
  return WithApiPath(url.empty() ? "https://gitlab.com" : url, "/api/v4");
}

std::string GiteaApiUrl(const std::string& url) { return WithApiPath(url, "/api/v1"); }

ForgeClients::~ForgeClients() = default;

Result<GitAccess> ForgeClients::GitAccessFor(const std::string& repo, ForgeKind kind) {
  if (kind == ForgeKind::kForgejo) kind = ForgeKind::kGitea;
  auto it = remotes_.find(kind);
  if (it == remotes_.end()) return NotFound(std::string("no ") + ForgeKindName(kind) + " forge is configured");
  GitAccess out;
  out.kind = kind;
  out.url = it->second.clone_url;
  if (auto at = out.url.find("{repo}"); at != std::string::npos) out.url.replace(at, 6, repo);
  const bool local = !out.url.starts_with("http://") && !out.url.starts_with("https://");
  if (!local) {
    auto headers = it->second.auth->Headers(repo);
    if (!headers.ok()) return headers.error();
    out.token = TokenOf(*headers);
  }
  return out;
}

Result<std::unique_ptr<ForgeClients>> ConnectForges(const ForgeSettings& s, const Clock& clock,
                                                    ForgeDirectory& directory) {
  std::unique_ptr<ForgeClients> out(new ForgeClients());
  const bool app = !s.github_app_id.empty() && !s.github_private_key_file.empty();
  if (app || !s.github_token.empty()) {
    RestOptions options = github::DefaultRestOptions(GithubApiUrl(s.github_url));
    if (app) {
      std::ifstream in(s.github_private_key_file);
      std::stringstream key;
      key << in.rdbuf();
      if (!in || key.str().empty()) return Invalid("cannot read " + s.github_private_key_file);
      auto probe = github::MakeAppJwt(s.github_app_id, key.str(), clock.Now());
      if (!probe.ok()) return probe.error();
      auto auth = std::make_unique<github::AppAuth>(s.github_app_id, key.str(), options, clock);
      github::AppAuth* raw = auth.get();
      directory.OnInstallation([raw](const std::string& repo, std::int64_t id) { raw->RememberInstallation(repo, id); });
      out->auth_.push_back(std::move(auth));
    } else {
      out->auth_.push_back(std::make_unique<StaticAuth>("Authorization", "Bearer " + s.github_token));
    }
    out->rest_.push_back(std::make_unique<RestClient>(options, out->auth_.back().get(), clock));
    directory.Add(std::make_shared<github::GithubApi>(*out->rest_.back(), github::ApiOptions{app}));
    out->configured_.push_back(app ? "github (app)" : "github (token)");
    out->remotes_[ForgeKind::kGithub] = {CloneTemplate(s.github_clone_url, s.github_url.empty() ? "https://github.com" : s.github_url),
                                         out->auth_.back().get()};
  }
  if (!s.gitlab_token.empty()) {
    out->auth_.push_back(std::make_unique<StaticAuth>("PRIVATE-TOKEN", s.gitlab_token));
    out->rest_.push_back(std::make_unique<RestClient>(gitlab::DefaultRestOptions(GitlabApiUrl(s.gitlab_url)),
                                                      out->auth_.back().get(), clock));
    directory.Add(std::make_shared<gitlab::GitlabApi>(*out->rest_.back()));
    out->configured_.push_back("gitlab");
    out->remotes_[ForgeKind::kGitlab] = {CloneTemplate(s.gitlab_clone_url, s.gitlab_url.empty() ? "https://gitlab.com" : s.gitlab_url),
                                         out->auth_.back().get()};
  }
  if (!s.gitea_token.empty() && !s.gitea_url.empty()) {
    out->auth_.push_back(std::make_unique<StaticAuth>("Authorization", "token " + s.gitea_token));
    out->rest_.push_back(std::make_unique<RestClient>(gitea::DefaultRestOptions(GiteaApiUrl(s.gitea_url)),
                                                      out->auth_.back().get(), clock));
    directory.Add(std::make_shared<gitea::GiteaApi>(*out->rest_.back()));
    out->configured_.push_back("gitea");
    out->remotes_[ForgeKind::kGitea] = {CloneTemplate(s.gitea_clone_url, s.gitea_url), out->auth_.back().get()};
  }
  return out;
}

}  // namespace mergeyard::forge
