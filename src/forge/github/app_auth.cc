#include "forge/github/app_auth.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "forge/base64.h"
#include "forge/json_fields.h"

namespace mergeyard::forge::github {

namespace {

// Installation tokens live an hour; renew this long before they expire.
constexpr Duration kRenewBefore = 5 * kMinute;

Result<std::string> SignRs256(const std::string& pem, const std::string& input) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  if (bio) BIO_free(bio);
  if (!key) return Invalid("the GitHub App private key is not a PEM private key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig;
  size_t len = 0;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok) return Invalid("signing the GitHub App JWT failed (is the key RSA?)");
  return sig;
}

}  // namespace

Result<std::string> MakeAppJwt(const std::string& app_id, const std::string& private_key_pem, Time now) {
  const std::int64_t now_s = now / 1000;
  const nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  nlohmann::json claims = {{"iat", now_s - 60}, {"exp", now_s + 9 * 60}};
  // A numeric App ID is sent as a number, a client ID as a string.
  if (!app_id.empty() && app_id.find_first_not_of("0123456789") == std::string::npos && app_id.size() < 18) {
    claims["iss"] = std::stoll(app_id);
  } else {
    claims["iss"] = app_id;
  }
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  auto sig = SignRs256(private_key_pem, input);
  if (!sig.ok()) return sig.error();
  return input + "." + Base64UrlEncode(*sig);
}

std::optional<Time> ParseIsoTime(const std::string& text) {
  std::tm tm{};
  int y, mo, d, h, mi, s;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<Time>(timegm(&tm)) * 1000;
}

class AppAuth::JwtAuth final : public AuthProvider {
 public:
  JwtAuth(const AppAuth& owner) : owner_(owner) {}
  Result<HeaderList> Headers(const std::string&) override {
    auto jwt = MakeAppJwt(owner_.app_id_, owner_.key_pem_, owner_.clock_.Now());
    if (!jwt.ok()) return jwt.error();
    return HeaderList{{"Authorization", "Bearer " + *jwt}};
  }

 private:
  const AppAuth& owner_;
};

AppAuth::AppAuth(std::string app_id, std::string private_key_pem, RestOptions api, const Clock& clock,
                 RestClient::Sleeper sleep)
    : app_id_(std::move(app_id)), key_pem_(std::move(private_key_pem)), clock_(clock) {
  jwt_auth_ = std::make_unique<JwtAuth>(*this);
  app_client_ = std::make_unique<RestClient>(std::move(api), jwt_auth_.get(), clock, std::move(sleep));
}

AppAuth::~AppAuth() = default;

void AppAuth::RememberInstallation(const std::string& repo, std::int64_t installation_id) {
  if (installation_id <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  installations_[repo] = installation_id;
}

int AppAuth::tokens_minted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return minted_;
}

Result<std::int64_t> AppAuth::InstallationFor(const std::string& repo) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = installations_.find(repo); it != installations_.end()) return it->second;
  }
  auto j = JsonResult(app_client_->Send("GET", "/repos/" + repo + "/installation", repo),
                      "find the App installation of " + repo);
  if (!j.ok()) return j.error();
  const std::int64_t id = GetInt(*j, "id");
  if (id <= 0) return Invalid("no installation id for " + repo);
  RememberInstallation(repo, id);
  return id;
}

Result<std::string> AppAuth::InstallationToken(std::int64_t installation_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tokens_.find(installation_id);
    if (it != tokens_.end() && it->second.expires_at - kRenewBefore > clock_.Now()) return it->second.value;
  }
  auto j = JsonResult(app_client_->Send("POST", "/app/installations/" + std::to_string(installation_id) +
                                                    "/access_tokens", ""),
                      "mint an installation token");
  if (!j.ok()) return j.error();
  Token t{GetString(*j, "token"), 0};
  if (t.value.empty()) return Invalid("the installation token answer has no token");
  t.expires_at = ParseIsoTime(GetString(*j, "expires_at")).value_or(clock_.Now() + kHour);
  std::lock_guard<std::mutex> lock(mu_);
  tokens_[installation_id] = t;
  ++minted_;
  return t.value;
}

Result<HeaderList> AppAuth::Headers(const std::string& repo) {
  auto id = InstallationFor(repo);
  if (!id.ok()) return id.error();
  auto token = InstallationToken(*id);
  if (!token.ok()) return token.error();
  return HeaderList{{"Authorization", "Bearer " + *token}};
}

}  // namespace mergeyard::forge::github
