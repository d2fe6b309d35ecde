#include "app/service_config.h"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "exec/action_json.h"

extern char** environ;

namespace mergeyard::app {
namespace {

// One setting: its dotted YAML name, its environment variable, and whether it
// is a secret (then `<name>_file` and `<VAR>_FILE` are accepted too).
struct Key {
  const char* name;
  const char* env;
  bool secret;
};

constexpr Key kKeys[] = {
    {"listen", "MERGEYARD_LISTEN", false},
    {"public_url", "MERGEYARD_PUBLIC_URL", false},
    {"data_dir", "MERGEYARD_DATA_DIR", false},
    {"admin_token", "MERGEYARD_ADMIN_TOKEN", true},
    {"executor_token", "MERGEYARD_EXECUTOR_TOKEN", true},
    {"webhook_secret", "MERGEYARD_WEBHOOK_SECRET", true},
    {"local_executors", "MERGEYARD_LOCAL_EXECUTORS", false},
    {"http_threads", "MERGEYARD_HTTP_THREADS", false},
    {"reapi_listen", "MERGEYARD_REAPI_LISTEN", false},
    {"reapi_token", "MERGEYARD_REAPI_TOKEN", true},
    {"reapi_tls_cert_file", "MERGEYARD_REAPI_TLS_CERT_FILE", false},
    {"reapi_tls_key_file", "MERGEYARD_REAPI_TLS_KEY_FILE", false},
    {"reapi_remote", "MERGEYARD_REAPI_REMOTE", false},
    {"reapi_instance", "MERGEYARD_REAPI_INSTANCE", false},
    {"reapi_remote_token", "MERGEYARD_REAPI_REMOTE_TOKEN", true},
    {"cas_max_size", "MERGEYARD_CAS_MAX_SIZE", false},
    {"log.format", "MERGEYARD_LOG_FORMAT", false},
    {"log.level", "MERGEYARD_LOG_LEVEL", false},
    {"ci.poll_interval", "MERGEYARD_CI_POLL_INTERVAL", false},
    {"ci.safety_poll_interval", "MERGEYARD_CI_SAFETY_POLL_INTERVAL", false},
    {"github.url", "MERGEYARD_GITHUB_URL", false},
    {"github.app_id", "MERGEYARD_GITHUB_APP_ID", false},
    {"github.private_key_file", "MERGEYARD_GITHUB_PRIVATE_KEY_FILE", false},
    {"github.token", "MERGEYARD_GITHUB_TOKEN", true},
    {"github.webhook_secret", "MERGEYARD_GITHUB_WEBHOOK_SECRET", true},
    {"github.clone_url", "MERGEYARD_GITHUB_CLONE_URL", false},
    {"gitlab.url", "MERGEYARD_GITLAB_URL", false},
    {"gitlab.token", "MERGEYARD_GITLAB_TOKEN", true},
    {"gitlab.webhook_secret", "MERGEYARD_GITLAB_WEBHOOK_SECRET", true},
    {"gitlab.clone_url", "MERGEYARD_GITLAB_CLONE_URL", false},
    {"gitea.url", "MERGEYARD_GITEA_URL", false},
    {"gitea.token", "MERGEYARD_GITEA_TOKEN", true},
    {"gitea.webhook_secret", "MERGEYARD_GITEA_WEBHOOK_SECRET", true},
    {"gitea.clone_url", "MERGEYARD_GITEA_CLONE_URL", false},
};
constexpr const char* kSections[] = {"log", "ci", "github", "gitlab", "gitea"};

// A value and where it came from ("mergeyard.yml:12" or "MERGEYARD_LISTEN"),
// for error messages.
struct Setting {
  std::string value;
  std::string origin;
};
using Settings = std::map<std::string, Setting>;

const Key* FindKey(const std::string& name) {
  for (const Key& k : kKeys) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

bool IsSection(const std::string& name) {
  for (const char* s : kSections) {
    if (name == s) return true;
  }
  return false;
}

std::string Where(const std::string& file, const YAML::Node& node) {
  return file + ":" + std::to_string(node.Mark().line + 1);
}

Result<std::string> ReadSecretFile(const std::string& path, const std::string& origin) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid(origin + ": cannot read secret file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

// One YAML `key: value` (inside `section` unless empty) into `out`.
Status ReadYamlKey(const std::string& file, const std::string& section, const YAML::Node& key,
                   const YAML::Node& value, Settings* out) {
  if (!key.IsScalar()) return Invalid(Where(file, key) + ": keys must be plain names");
  std::string name = section.empty() ? key.Scalar() : section + "." + key.Scalar();
  bool from_file = false;
  const Key* k = FindKey(name);
  if (k == nullptr && name.size() > 5 && name.ends_with("_file")) {
    k = FindKey(name.substr(0, name.size() - 5));
    if (k != nullptr && !k->secret) k = nullptr;
    from_file = k != nullptr;
  }
  if (k == nullptr) return Invalid(Where(file, key) + ": unknown key '" + name + "'");
  if (value.IsNull()) return Ok();
  if (!value.IsScalar()) {
    return Invalid(Where(file, value) + ": '" + name + "' must be a single value");
  }
  std::string origin = Where(file, key);
  if (out->count(k->name)) {
    return Invalid(origin + ": '" + k->name + "' is given twice (directly and as a file?)");
  }
  if (!from_file) {
    (*out)[k->name] = {value.Scalar(), origin};
    return Ok();
  }
  auto secret = ReadSecretFile(value.Scalar(), origin);
  if (!secret) return secret.error();
  (*out)[k->name] = {*secret, origin};
  return Ok();
}

Status ReadYamlMap(const std::string& file, const std::string& section, const YAML::Node& map,
                   Settings* out) {
  for (const auto& item : map) {
    const YAML::Node& key = item.first;
    const YAML::Node& value = item.second;
    if (section.empty() && key.IsScalar() && IsSection(key.Scalar())) {
      if (value.IsNull()) continue;
      if (!value.IsMap()) {
        return Invalid(Where(file, value) + ": '" + key.Scalar() + "' must be a mapping");
      }
      if (Status s = ReadYamlMap(file, key.Scalar(), value, out); !s) return s;
      continue;
    }
    if (Status s = ReadYamlKey(file, section, key, value, out); !s) return s;
  }
  return Ok();
}

Status ReadYamlFile(const std::string& path, Settings* out) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Invalid("cannot read configuration file " + path);
  } catch (const YAML::Exception& e) {
    return Invalid(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return Ok();
  if (!root.IsMap()) return Invalid(Where(path, root) + ": the file must be a mapping of keys");
  try {
    return ReadYamlMap(path, "", root, out);
  } catch (const YAML::Exception& e) {
    return Invalid(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Status ReadEnvironment(const std::map<std::string, std::string>& env, Settings* out) {
  for (const Key& k : kKeys) {
    auto it = env.find(k.env);
    if (it != env.end()) {
      (*out)[k.name] = {it->second, k.env};
      continue;
    }
    if (!k.secret) continue;
    std::string file_var = std::string(k.env) + "_FILE";
    it = env.find(file_var);
    if (it == env.end()) continue;
    auto secret = ReadSecretFile(it->second, file_var);
    if (!secret) return secret.error();
    (*out)[k.name] = {*secret, file_var};
  }
  return Ok();
}

bool ValidListen(const std::string& listen) {
  std::string host;
  int port = 0;
  return SplitListen(listen, &host, &port);
}

bool ValidUrl(const std::string& url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

int DefaultExecutors() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

Status Apply(const std::string& name, const Setting& s, ServiceConfig* c) {
  auto bad = [&](const std::string& why) {
    return Invalid(s.origin + ": " + name + " " + why + " (got '" +
                   (FindKey(name)->secret ? std::string("...") : s.value) + "')");
  };
  std::map<std::string, std::string*> strings = {
      {"public_url", &c->public_url}, {"data_dir", &c->data_dir},
      {"admin_token", &c->admin_token}, {"executor_token", &c->executor_token},
      {"webhook_secret", &c->webhook_secret}, {"github.url", &c->github.url},
      {"github.app_id", &c->github.app_id}, {"github.private_key_file", &c->github.private_key_file},
      {"github.token", &c->github.token}, {"github.webhook_secret", &c->github.webhook_secret},
      {"gitlab.url", &c->gitlab.url}, {"gitlab.token", &c->gitlab.token},
      {"gitlab.webhook_secret", &c->gitlab.webhook_secret}, {"gitea.url", &c->gitea.url},
      {"gitea.token", &c->gitea.token}, {"gitea.webhook_secret", &c->gitea.webhook_secret},
      {"github.clone_url", &c->github.clone_url}, {"gitlab.clone_url", &c->gitlab.clone_url},
      {"gitea.clone_url", &c->gitea.clone_url}, {"listen", &c->listen},
      {"reapi_listen", &c->reapi_listen}, {"reapi_token", &c->reapi_token},
      {"reapi_tls_cert_file", &c->reapi_tls_cert_file}, {"reapi_tls_key_file", &c->reapi_tls_key_file},
      {"reapi_remote", &c->reapi_remote}, {"reapi_instance", &c->reapi_instance},
      {"reapi_remote_token", &c->reapi_remote_token}};
  if (name == "reapi_remote" && !s.value.empty() && s.value.find("://") != std::string::npos &&
      !s.value.starts_with("grpc://") && !s.value.starts_with("grpcs://"))
    return bad("must be grpc://host:port or grpcs://host:port");
  if (name == "listen" && !ValidListen(s.value)) return bad("must be host:port");
  if (name == "reapi_listen" && !s.value.empty() && !ValidListen(s.value)) return bad("must be host:port");
  if (name == "cas_max_size") {
    auto bytes = exec::ParseMemory(nlohmann::json(s.value));
    if (!bytes || *bytes < (1 << 20)) return bad("must be a size of at least 1MiB, such as 10GiB");
    c->cas_max_bytes = *bytes;
    return Ok();
  }
  if (name.ends_with("clone_url")) {
    if (!s.value.empty() && !ValidUrl(s.value) && !s.value.starts_with("file://") && !s.value.starts_with("/")) {
      return bad("must be an http(s):// or file:// URL or an absolute path");
    }
  } else if (name.ends_with("url") && !s.value.empty() && !ValidUrl(s.value)) {
    return bad("must start with http:// or https://");
  }
  if (name == "data_dir" && s.value.empty()) return bad("must not be empty");
  if (auto it = strings.find(name); it != strings.end()) {
    *it->second = s.value;
    return Ok();
  }
  if (name == "local_executors" || name == "http_threads") {
    const int low = name == "local_executors" ? 0 : 8;
    const int high = name == "local_executors" ? 1024 : 4096;
    int n = -1;
    auto [ptr, ec] = std::from_chars(s.value.data(), s.value.data() + s.value.size(), n);
    if (ec != std::errc() || ptr != s.value.data() + s.value.size() || n < low || n > high) {
      return bad("must be an integer from " + std::to_string(low) + " to " + std::to_string(high));
    }
    (name == "local_executors" ? c->local_executors : c->http_threads) = n;
  } else if (name == "ci.poll_interval" || name == "ci.safety_poll_interval") {
    const auto d = ParseDuration(s.value);
    if (!d || *d < 100) return bad("must be a duration of at least 100ms, such as 30s or 5m");
    (name == "ci.poll_interval" ? c->ci_poll_interval : c->ci_safety_poll_interval) = *d;
  } else if (name == "log.format") {
    if (s.value != "text" && s.value != "json") return bad("must be text or json");
    c->log_format = s.value == "json" ? LogFormat::kJson : LogFormat::kText;
  } else if (name == "log.level") {
    if (!ParseLogLevel(s.value, &c->log_level)) {
      return bad("must be debug, info, warn, error or off");
    }
  }
  return Ok();
}

const char* Secret(const std::string& s) { return s.empty() ? "(unset)" : "(set)"; }

}  // namespace

bool SplitListen(const std::string& listen, std::string* host, int* port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const char* first = listen.data() + colon + 1;
  const char* last = listen.data() + listen.size();
  int p = -1;
  auto [ptr, ec] = std::from_chars(first, last, p);
  if (ec != std::errc() || ptr != last || first == last || p < 0 || p > 65535) return false;
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  *port = p;
  return true;
}

std::string ServiceConfig::WebhookSecretFor(const std::string& forge) const {
  const std::string* own = forge == "github"   ? &github.webhook_secret
                           : forge == "gitlab" ? &gitlab.webhook_secret
                           : forge == "gitea"  ? &gitea.webhook_secret
                                               : nullptr;
  return own != nullptr && !own->empty() ? *own : webhook_secret;
}

std::string ServiceConfig::DatabasePath() const { return data_dir + "/mergeyard.db"; }

std::string ServiceConfig::ToString() const {
  std::ostringstream o;
  o << "listen: " << listen << "\n"
    << "public_url: " << public_url << "\n"
    << "data_dir: " << data_dir << "\n"
    << "admin_token: " << Secret(admin_token) << "\n"
    << "executor_token: " << Secret(executor_token) << "\n"
    << "webhook_secret: " << Secret(webhook_secret) << "\n"
    << "local_executors: " << local_executors << "\n"
    << "http_threads: " << http_threads << "\n"
    << "reapi_listen: " << reapi_listen << "\n"
    << "reapi_token: " << Secret(reapi_token) << "\n"
    << "reapi_tls_cert_file: " << reapi_tls_cert_file << "\n"
    << "reapi_tls_key_file: " << reapi_tls_key_file << "\n"
    << "reapi_remote: " << reapi_remote << "\n"
    << "reapi_instance: " << reapi_instance << "\n"
    << "reapi_remote_token: " << Secret(reapi_remote_token) << "\n"
    << "cas_max_size: " << cas_max_bytes << "\n"
    << "ci.poll_interval: " << FormatDuration(ci_poll_interval) << "\n"
    << "ci.safety_poll_interval: " << FormatDuration(ci_safety_poll_interval) << "\n"
    << "log.format: " << (log_format == LogFormat::kJson ? "json" : "text") << "\n"
    << "log.level: "
    << (log_level == LogLevel::kDebug  ? "debug"
        : log_level == LogLevel::kInfo ? "info"
        : log_level == LogLevel::kWarn ? "warn"
        : log_level == LogLevel::kError ? "error"
                                        : "off")
    << "\n"
    << "github.url: " << github.url << "\n"
    << "github.app_id: " << github.app_id << "\n"
    << "github.private_key_file: " << github.private_key_file << "\n"
    << "github.token: " << Secret(github.token) << "\n"
    << "github.webhook_secret: " << Secret(github.webhook_secret) << "\n"
    << "github.clone_url: " << github.clone_url << "\n"
    << "gitlab.url: " << gitlab.url << "\n"
    << "gitlab.token: " << Secret(gitlab.token) << "\n"
    << "gitlab.webhook_secret: " << Secret(gitlab.webhook_secret) << "\n"
    << "gitlab.clone_url: " << gitlab.clone_url << "\n"
    << "gitea.url: " << gitea.url << "\n"
    << "gitea.token: " << Secret(gitea.token) << "\n"
    << "gitea.webhook_secret: " << Secret(gitea.webhook_secret) << "\n"
    << "gitea.clone_url: " << gitea.clone_url << "\n";
  return o.str();
}

Result<ServiceConfig> LoadServiceConfig(const std::optional<std::string>& path,
                                        const std::map<std::string, std::string>& env) {
  Settings from_file, from_env;
  if (path) {
    if (Status s = ReadYamlFile(*path, &from_file); !s) return s.error();
  }
  if (Status s = ReadEnvironment(env, &from_env); !s) return s.error();
  ServiceConfig config;
  config.local_executors = DefaultExecutors();
  for (const Settings* layer : {&from_file, &from_env}) {
    for (const auto& [name, setting] : *layer) {
      if (Status s = Apply(name, setting, &config); !s) return s.error();
    }
  }
  if (config.public_url.empty()) config.public_url = "http://" + config.listen;
  while (config.public_url.size() > 8 && config.public_url.back() == '/') {
    config.public_url.pop_back();
  }
  return config;
}

std::map<std::string, std::string> MergeyardEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq == std::string::npos || !entry.starts_with("MERGEYARD_")) continue;
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

}  // namespace mergeyard::app
