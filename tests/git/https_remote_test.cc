// The git layer against a forge reached over HTTPS with a token: a loopback
// TLS server (cpp-httplib, a certificate made for the test) in front of
// `git http-backend`, asking for basic auth as GitHub does. Fetch of pull
// request heads, the batch ref push and the compare-and-swap landing all go
// over it; a wrong token is refused with a message that does not show it.

#include <doctest/doctest.h>
#include <git2.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <variant>

#include "base/clock.h"
#include "git/mirror_git_port.h"
#include "recording_sink.h"
#include "test_repo.h"

namespace mergeyard::git {
namespace {

using testing::Lines;
using testing::Quote;
using testing::RecordingSink;
using testing::Repo;
using testing::Sh;
using testing::TempDir;

constexpr const char* kToken = "ghs_s3cretT0ken";

// A self-signed certificate for 127.0.0.1 and localhost, in PEM files.
void MakeCertificate(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key != nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(ext != nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Serves the repositories under `root` over HTTPS through git http-backend.
class HttpsGitServer {
 public:
  HttpsGitServer(std::string root, const std::string& cert, const std::string& key)
      : root_(std::move(root)), server_(cert.c_str(), key.c_str()) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); };
    server_.Get(".*", handler);
    server_.Post(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~HttpsGitServer() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& repo) const {
    return "https://localhost:" + std::to_string(port_) + "/" + repo;  // the certificate names it
  }
  int refused() const { return refused_; }

 private:
  void Serve(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") != "Basic " + Base64(std::string("x-access-token:") + kToken)) {
      ++refused_;
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"test forge\"");
      return;
    }
    // CGI: the request body on stdin (from a file), the answer on stdout.
    const std::string in = root_ + "/.cgi-in-" + std::to_string(++requests_);
    std::ofstream(in, std::ios::binary) << req.body;
    std::string query;
    for (const auto& [k, v] : req.params) query += (query.empty() ? "" : "&") + k + "=" + v;
    const std::string env = "GIT_PROJECT_ROOT=" + Quote(root_) + " GIT_HTTP_EXPORT_ALL=1 REMOTE_USER=x-access-token" +
                            " REMOTE_ADDR=127.0.0.1 REQUEST_METHOD=" + req.method + " PATH_INFO=" + Quote(req.path) +
                            " QUERY_STRING=" + Quote(query) + " CONTENT_TYPE=" +
                            Quote(req.get_header_value("Content-Type")) +
                            " CONTENT_LENGTH=" + std::to_string(req.body.size()) +
                            " HTTP_CONTENT_ENCODING=" + Quote(req.get_header_value("Content-Encoding"));
    FILE* p = ::popen(("env " + env + " git http-backend < " + Quote(in)).c_str(), "r");
    std::string out;
    char buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    ::pclose(p);
    std::remove(in.c_str());
    const auto end = out.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    std::istringstream headers(out.substr(0, end));
    std::string content_type = "application/octet-stream";
    res.status = 200;
    for (std::string line; std::getline(headers, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(": ");
      if (colon == std::string::npos) continue;
      const std::string name = line.substr(0, colon), value = line.substr(colon + 2);
      if (name == "Status") res.status = std::stoi(value);
      else if (name == "Content-Type") content_type = value;
      else res.set_header(name, value);
    }
    res.set_content(out.substr(end + 4), content_type);
  }

  std::string root_;
  httplib::SSLServer server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<int> refused_{0};
};

struct HttpsFixture {
  TempDir tls;
  TempDir forge_root;
  TempDir data;
  Repo dev;
  std::string forge;
  std::unique_ptr<HttpsGitServer> server;
  ManualClock clock{1700000000000};
  engine::QueueKey key{"acme/widget", "main"};
  RecordingSink sink;

  HttpsFixture() {
    MakeCertificate(tls / "cert.pem", tls / "key.pem");
    git_libgit2_init();
    // Trust the test's certificate (a private CA, as a self-hosted forge has).
    REQUIRE(git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, (tls / "cert.pem").c_str(), nullptr) == 0);
    forge = forge_root / "widget.git";
    dev.Write("a.txt", Lines(20));
    dev.Commit("base");
    Sh("git init -q --bare -b main " + Quote(forge));
    dev.Git("push -q " + Quote(forge) + " main");
    Sh("git -C " + Quote(forge) + " config http.receivepack true");
    server = std::make_unique<HttpsGitServer>(forge_root.path(), tls / "cert.pem", tls / "key.pem");
  }
  ~HttpsFixture() { git_libgit2_shutdown(); }

  std::unique_ptr<MirrorGitPort> Port(TableRemoteResolver& resolver, const std::string& token) {
    resolver.Add("acme/widget", {server->Url("widget.git"), "", token, ForgeFlavour::kGitHub});
    return std::make_unique<MirrorGitPort>(data.path(), resolver, clock);
  }
  std::string Tip() const { return Sh("git -C " + Quote(forge) + " rev-parse main"); }
  queue::EntryRef Pr(queue::PrNumber n, const std::string& path) {
    const std::string branch = "pr" + std::to_string(n);
    const std::string head = dev.BranchCommit(branch, "main", {{path, Lines(3)}}, {}, "add " + path);
    dev.Git("push -q -f " + Quote(forge) + " " + branch + ":refs/pull/" + std::to_string(n) + "/head");
    return {n, head};
  }
};

TEST_SUITE("git") {

TEST_CASE("over HTTPS with a token: pull request heads are fetched, the batch ref pushed, the target landed") {
  HttpsFixture f;
  TableRemoteResolver resolver;
  auto port = f.Port(resolver, kToken);
  auto pr1 = f.Pr(1, "one.txt");
  auto pr2 = f.Pr(2, "two.txt");
  const std::string tip = f.Tip();
  port->Build(f.key, queue::BuildBatch{5, tip, tip, {pr1, pr2}, queue::MergeMethod::kMerge}, f.sink);
  const auto built = f.sink.Last<queue::BatchBuilt>();
  CHECK(built.conflicts.empty());
  CHECK(Sh("git -C " + Quote(f.forge) + " rev-parse refs/heads/mergeyard/batch/5") == built.commit);

  port->Land(f.key, queue::Land{5, built.commit, tip}, f.sink);
  CHECK(f.sink.Last<queue::LandResult>().landed);
  CHECK(f.Tip() == built.commit);
  CHECK(f.server->refused() >= 1);  // libgit2 asks first without credentials, as git does
}

TEST_CASE("over HTTPS, a wrong token fails the build with a message that does not show the token") {
  HttpsFixture f;
  TableRemoteResolver resolver;
  auto port = f.Port(resolver, "ghs_wrongwrongwrong");
  auto pr1 = f.Pr(1, "one.txt");
  const std::string tip = f.Tip();
  port->Build(f.key, queue::BuildBatch{6, tip, tip, {pr1}, queue::MergeMethod::kMerge}, f.sink);
  const std::string message = f.sink.Last<queue::BuildFailed>().message;
  INFO(message);
  CHECK(message.find("token") != std::string::npos);
  CHECK(message.find("ghs_wrong") == std::string::npos);
  CHECK(message.find(kToken) == std::string::npos);
}

}  // TEST_SUITE

}  // namespace
}  // namespace mergeyard::git
