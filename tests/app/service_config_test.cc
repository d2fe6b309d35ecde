#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "app/service_config.h"
#include "temp_dir.h"

using namespace mergeyard;
using namespace mergeyard::app;

namespace {

std::string Write(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir.File(name);
  std::ofstream(path) << text;
  return path;
}

std::string ErrorOf(const Result<ServiceConfig>& r) {
  return r.ok() ? std::string("(loaded fine)") : r.error().message;
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("without a file or variables every setting has its default") {
  auto c = LoadServiceConfig(std::nullopt, {});
  REQUIRE(c.ok());
  CHECK(c->listen == "127.0.0.1:8080");
  CHECK(c->public_url == "http://127.0.0.1:8080");
  CHECK(c->data_dir == "./mergeyard-data");
  CHECK(c->DatabasePath() == "./mergeyard-data/mergeyard.db");
  CHECK(c->admin_token.empty());
  CHECK(c->github.url == "https://api.github.com");
  CHECK(c->gitlab.url == "https://gitlab.com");
  CHECK(c->gitea.url.empty());
  unsigned cores = std::thread::hardware_concurrency();
  CHECK(c->local_executors == static_cast<int>(cores == 0 ? 1 : cores));
  CHECK(c->log_format == LogFormat::kText);
  CHECK(c->log_level == LogLevel::kInfo);
}

TEST_CASE("the documented example file loads as it is") {
  const char* root = std::getenv("MERGEYARD_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  auto c = LoadServiceConfig(std::string(root) + "/config/mergeyard.example.yml", {});
  REQUIRE_MESSAGE(c.ok(), ErrorOf(c));
  CHECK(c->listen == "127.0.0.1:8080");
  CHECK(c->data_dir == "./mergeyard-data");
  CHECK(c->github.url == "https://api.github.com");
}

TEST_CASE("a file sets every kind of value") {
  testing::TempDir dir;
  std::string path = Write(dir, "c.yml",
                           "listen: 0.0.0.0:9000\n"
                           "public_url: https://queue.example.com/\n"
                           "data_dir: /var/lib/x\n"
                           "admin_token: adm\n"
                           "executor_token: exe\n"
                           "webhook_secret: hook\n"
                           "local_executors: 3\n"
                           "http_threads: 300\n"
                           "log: {format: json, level: debug}\n"
                           "github:\n  app_id: 42\n  private_key_file: /k.pem\n"
                           "  url: https://ghe.example.com/api/v3\n  webhook_secret: gh\n"
                           "gitlab:\n  token: glpat\n  url: https://gl.example.com\n"
                           "gitea:\n  token: gt\n  url: https://gitea.example.com\n");
  auto c = LoadServiceConfig(path, {});
  REQUIRE_MESSAGE(c.ok(), ErrorOf(c));
  CHECK(c->listen == "0.0.0.0:9000");
  CHECK(c->public_url == "https://queue.example.com");
  CHECK(c->data_dir == "/var/lib/x");
  CHECK(c->admin_token == "adm");
  CHECK(c->executor_token == "exe");
  CHECK(c->local_executors == 3);
  CHECK(c->http_threads == 300);
  CHECK(c->log_format == LogFormat::kJson);
  CHECK(c->log_level == LogLevel::kDebug);
  CHECK(c->github.app_id == "42");
  CHECK(c->github.private_key_file == "/k.pem");
  CHECK(c->github.url == "https://ghe.example.com/api/v3");
  CHECK(c->gitlab.token == "glpat");
  CHECK(c->gitea.url == "https://gitea.example.com");
  CHECK(c->WebhookSecretFor("github") == "gh");
  CHECK(c->WebhookSecretFor("gitlab") == "hook");
  CHECK(c->WebhookSecretFor("gitea") == "hook");
}

TEST_CASE("environment variables override the file") {
  testing::TempDir dir;
  std::string path = Write(dir, "c.yml", "listen: 127.0.0.1:1\ndata_dir: /from/file\n"
                                         "admin_token: from-file\nlog:\n  level: warn\n");
  std::map<std::string, std::string> env = {
      {"MERGEYARD_LISTEN", "0.0.0.0:8080"},
      {"MERGEYARD_DATA_DIR", "/var/lib/mergeyard"},
      {"MERGEYARD_ADMIN_TOKEN", "from-env"},
      {"MERGEYARD_EXECUTOR_TOKEN", "e"},
      {"MERGEYARD_WEBHOOK_SECRET", "w"},
      {"MERGEYARD_GITHUB_APP_ID", "7"},
      {"MERGEYARD_GITHUB_PRIVATE_KEY_FILE", "/key.pem"},
      {"MERGEYARD_GITHUB_TOKEN", "ght"},
      {"MERGEYARD_GITHUB_URL", "http://127.0.0.1:5000"},
      {"MERGEYARD_GITLAB_TOKEN", "glt"},
      {"MERGEYARD_GITLAB_URL", "http://127.0.0.1:5001"},
      {"MERGEYARD_GITEA_TOKEN", "gtt"},
      {"MERGEYARD_GITEA_URL", "http://127.0.0.1:5002"},
      {"MERGEYARD_LOG_FORMAT", "json"},
      {"MERGEYARD_LOG_LEVEL", "error"},
      {"UNRELATED", "x"}};
  auto c = LoadServiceConfig(path, env);
  REQUIRE_MESSAGE(c.ok(), ErrorOf(c));
  CHECK(c->listen == "0.0.0.0:8080");
  CHECK(c->public_url == "http://0.0.0.0:8080");
  CHECK(c->data_dir == "/var/lib/mergeyard");
  CHECK(c->admin_token == "from-env");
  CHECK(c->executor_token == "e");
  CHECK(c->webhook_secret == "w");
  CHECK(c->github.app_id == "7");
  CHECK(c->github.private_key_file == "/key.pem");
  CHECK(c->github.token == "ght");
  CHECK(c->github.url == "http://127.0.0.1:5000");
  CHECK(c->gitlab.token == "glt");
  CHECK(c->gitlab.url == "http://127.0.0.1:5001");
  CHECK(c->gitea.token == "gtt");
  CHECK(c->gitea.url == "http://127.0.0.1:5002");
  CHECK(c->log_format == LogFormat::kJson);
  CHECK(c->log_level == LogLevel::kError);
}

TEST_CASE("the REAPI settings: listener, token, TLS, remote engine and the content store's size") {
  testing::TempDir dir;
  std::string token = Write(dir, "reapi.token", "server-token\n");
  std::string path = Write(dir, "c.yml",
                           "reapi_listen: 127.0.0.1:8980\n"
                           "reapi_token_file: " + token + "\n"
                           "reapi_tls_cert_file: /etc/tls.crt\n"
                           "reapi_tls_key_file: /etc/tls.key\n"
                           "reapi_remote: grpcs://engine.example.com:443\n"
                           "reapi_instance: main\n"
                           "cas_max_size: 2GiB\n");
  auto c = LoadServiceConfig(path, {});
  REQUIRE_MESSAGE(c.ok(), ErrorOf(c));
  CHECK(c->reapi_listen == "127.0.0.1:8980");
  CHECK(c->reapi_token == "server-token");
  CHECK(c->reapi_tls_cert_file == "/etc/tls.crt");
  CHECK(c->reapi_remote == "grpcs://engine.example.com:443");
  CHECK(c->reapi_instance == "main");
  CHECK(c->reapi_remote_token.empty());  // the service falls back to reapi_token
  CHECK(c->cas_max_bytes == 2LL << 30);
  CHECK(c->ToString().find("server-token") == std::string::npos);

  auto env = LoadServiceConfig(std::nullopt, {{"MERGEYARD_REAPI_LISTEN", "0.0.0.0:9000"},
                                              {"MERGEYARD_REAPI_REMOTE_TOKEN", "engine-token"},
                                              {"MERGEYARD_CAS_MAX_SIZE", "512MiB"}});
  REQUIRE(env.ok());
  CHECK(env->reapi_listen == "0.0.0.0:9000");
  CHECK(env->reapi_remote_token == "engine-token");
  CHECK(env->cas_max_bytes == 512LL << 20);
  CHECK(LoadServiceConfig(std::nullopt, {})->cas_max_bytes == 10LL << 30);

  CHECK(ErrorOf(LoadServiceConfig(std::nullopt, {{"MERGEYARD_REAPI_LISTEN", "nowhere"}})).find("host:port") !=
        std::string::npos);
  CHECK(ErrorOf(LoadServiceConfig(std::nullopt, {{"MERGEYARD_REAPI_REMOTE", "http://x:1"}})).find("grpc://") !=
        std::string::npos);
  CHECK(ErrorOf(LoadServiceConfig(std::nullopt, {{"MERGEYARD_CAS_MAX_SIZE", "12"}})).find("at least 1MiB") !=
        std::string::npos);
}

TEST_CASE("secrets can come from files, named in the file or in a variable") {
  testing::TempDir dir;
  std::string token = Write(dir, "admin", "s3cret-admin\n");
  std::string hook = Write(dir, "hook", "s3cret-hook \n\n");
  std::string gl = Write(dir, "gl", "s3cret-gitlab");
  std::string path = Write(dir, "c.yml", "admin_token_file: " + token + "\n"
                                         "gitlab:\n  token_file: " + gl + "\n");
  auto c = LoadServiceConfig(path, {{"MERGEYARD_WEBHOOK_SECRET_FILE", hook}});
  REQUIRE_MESSAGE(c.ok(), ErrorOf(c));
  CHECK(c->admin_token == "s3cret-admin");
  CHECK(c->webhook_secret == "s3cret-hook");
  CHECK(c->gitlab.token == "s3cret-gitlab");
  // A variable holding the value beats its _FILE twin and the file's key.
  auto d = LoadServiceConfig(path, {{"MERGEYARD_ADMIN_TOKEN", "direct"},
                                    {"MERGEYARD_ADMIN_TOKEN_FILE", token}});
  REQUIRE(d.ok());
  CHECK(d->admin_token == "direct");
}

TEST_CASE("a missing secret file is an error naming the key's line") {
  testing::TempDir dir;
  std::string path = Write(dir, "c.yml", "listen: 127.0.0.1:80\nadmin_token_file: /no/such/file\n");
  auto c = LoadServiceConfig(path, {});
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code == ErrorCode::kInvalid);
  CHECK(ErrorOf(c).find(path + ":2") != std::string::npos);
  CHECK(ErrorOf(c).find("/no/such/file") != std::string::npos);
  auto e = LoadServiceConfig(std::nullopt, {{"MERGEYARD_GITHUB_TOKEN_FILE", "/no/such/file"}});
  REQUIRE_FALSE(e.ok());
  CHECK(ErrorOf(e).find("MERGEYARD_GITHUB_TOKEN_FILE") != std::string::npos);
}

TEST_CASE("unknown keys are errors naming the line") {
  testing::TempDir dir;
  SUBCASE("at the top") {
    auto c = LoadServiceConfig(Write(dir, "c.yml", "listen: 127.0.0.1:80\n\nlisten_port: 80\n"), {});
    REQUIRE_FALSE(c.ok());
    CHECK(ErrorOf(c).find("c.yml:3") != std::string::npos);
    CHECK(ErrorOf(c).find("unknown key 'listen_port'") != std::string::npos);
  }
  SUBCASE("inside a section") {
    auto c = LoadServiceConfig(Write(dir, "c.yml", "github:\n  url: https://x.y\n  tokn: t\n"), {});
    REQUIRE_FALSE(c.ok());
    CHECK(ErrorOf(c).find("c.yml:3") != std::string::npos);
    CHECK(ErrorOf(c).find("github.tokn") != std::string::npos);
  }
  SUBCASE("a _file twin of a key that is not a secret") {
    auto c = LoadServiceConfig(Write(dir, "c.yml", "data_dir_file: /x\n"), {});
    REQUIRE_FALSE(c.ok());
    CHECK(ErrorOf(c).find("unknown key 'data_dir_file'") != std::string::npos);
  }
}

TEST_CASE("values of the wrong type are errors naming the line") {
  testing::TempDir dir;
  struct Case {
    const char* yaml;
    const char* line;
    const char* words;
  };
  for (Case k : {Case{"log:\n  level: loud\n", ":2:", "log.level"},
                 Case{"local_executors: four\n", ":1:", "integer"},
                 Case{"local_executors: -1\n", ":1:", "integer"},
                 Case{"http_threads: 2\n", ":1:", "from 8 to 4096"},
                 Case{"\nlisten: [a, b]\n", ":2:", "single value"},
                 Case{"listen: localhost\n", ":1:", "host:port"},
                 Case{"github: https://api.github.com\n", ":1:", "mapping"},
                 Case{"gitea:\n  url: gitea.example.com\n", ":2:", "http"},
                 Case{"log:\n  format: xml\n", ":2:", "text or json"},
                 Case{"- a\n- b\n", ":1:", "mapping"},
                 Case{"listen: 127.0.0.1:1\nlisten: [\n", ":", ""}}) {
    CAPTURE(k.yaml);
    auto c = LoadServiceConfig(Write(dir, "t.yml", k.yaml), {});
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == ErrorCode::kInvalid);
    CHECK(ErrorOf(c).find(std::string("t.yml") + k.line) != std::string::npos);
    CHECK(ErrorOf(c).find(k.words) != std::string::npos);
  }
}

TEST_CASE("bad values in variables are errors naming the variable") {
  auto c = LoadServiceConfig(std::nullopt, {{"MERGEYARD_LISTEN", "8080"}});
  REQUIRE_FALSE(c.ok());
  CHECK(ErrorOf(c).find("MERGEYARD_LISTEN") != std::string::npos);
  auto d = LoadServiceConfig(std::nullopt, {{"MERGEYARD_LOG_FORMAT", "yaml"}});
  REQUIRE_FALSE(d.ok());
  CHECK(ErrorOf(d).find("MERGEYARD_LOG_FORMAT") != std::string::npos);
}

TEST_CASE("a key given both directly and as a file is an error") {
  testing::TempDir dir;
  std::string secret = Write(dir, "s", "x");
  auto c = LoadServiceConfig(Write(dir, "c.yml", "admin_token: a\nadmin_token_file: " + secret + "\n"),
                             {});
  REQUIRE_FALSE(c.ok());
  CHECK(ErrorOf(c).find("admin_token") != std::string::npos);
}

TEST_CASE("a missing configuration file is an error") {
  auto c = LoadServiceConfig(std::string("/no/such/mergeyard.yml"), {});
  REQUIRE_FALSE(c.ok());
  CHECK(ErrorOf(c).find("/no/such/mergeyard.yml") != std::string::npos);
}

TEST_CASE("an empty file gives the defaults") {
  testing::TempDir dir;
  auto c = LoadServiceConfig(Write(dir, "empty.yml", "# nothing\n"), {});
  REQUIRE_MESSAGE(c.ok(), ErrorOf(c));
  CHECK(c->listen == "127.0.0.1:8080");
}

TEST_CASE("the printed configuration never shows a secret") {
  testing::TempDir dir;
  std::map<std::string, std::string> env = {
      {"MERGEYARD_ADMIN_TOKEN", "SECRET-admin"}, {"MERGEYARD_EXECUTOR_TOKEN", "SECRET-exec"},
      {"MERGEYARD_WEBHOOK_SECRET", "SECRET-hook"}, {"MERGEYARD_GITHUB_TOKEN", "SECRET-gh"},
      {"MERGEYARD_GITLAB_TOKEN", "SECRET-gl"}, {"MERGEYARD_GITEA_TOKEN", "SECRET-gt"},
      {"MERGEYARD_GITHUB_WEBHOOK_SECRET", "SECRET-ghw"}, {"MERGEYARD_GITHUB_APP_ID", "99"}};
  auto c = LoadServiceConfig(std::nullopt, env);
  REQUIRE(c.ok());
  std::string dump = c->ToString();
  CHECK(dump.find("SECRET") == std::string::npos);
  CHECK(dump.find("admin_token: (set)") != std::string::npos);
  CHECK(dump.find("gitlab.webhook_secret: (unset)") != std::string::npos);
  CHECK(dump.find("github.app_id: 99") != std::string::npos);
  CHECK(dump.find("listen: 127.0.0.1:8080") != std::string::npos);
  // Nor does an error about a secret's value.
  testing::TempDir d2;
  auto bad = LoadServiceConfig(Write(d2, "c.yml", "admin_token: [SECRET]\n"), {});
  REQUIRE_FALSE(bad.ok());
  CHECK(ErrorOf(bad).find("SECRET") == std::string::npos);
}

}  // TEST_SUITE

TEST_CASE("a listen address splits into host and port, IPv6 brackets removed") {
  std::string host;
  int port = -1;
  REQUIRE(mergeyard::app::SplitListen("127.0.0.1:8080", &host, &port));
  CHECK(host == "127.0.0.1");
  CHECK(port == 8080);
  REQUIRE(mergeyard::app::SplitListen("[::1]:0", &host, &port));
  CHECK(host == "::1");
  CHECK(port == 0);
  CHECK_FALSE(mergeyard::app::SplitListen("localhost", &host, &port));
  CHECK_FALSE(mergeyard::app::SplitListen(":8080", &host, &port));
  CHECK_FALSE(mergeyard::app::SplitListen("h:65536", &host, &port));
  CHECK_FALSE(mergeyard::app::SplitListen("h:80x", &host, &port));
}
