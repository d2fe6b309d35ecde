#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "fakes/fake_clients.h"
#include "forge/base64.h"
#include "forge/github/app_auth.h"

using namespace mergeyard;
using namespace mergeyard::forge;
using namespace mergeyard::testing;

namespace {

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

KeyPair NewRsaKey() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  REQUIRE(key != nullptr);
  KeyPair kp;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  kp.private_pem.assign(data, static_cast<size_t>(n));
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, key);
  n = BIO_get_mem_data(b, &data);
  kp.public_pem.assign(data, static_cast<size_t>(n));
  BIO_free(b);
  EVP_PKEY_free(key);
  return kp;
}

std::string FromB64Url(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s += '=';
  return Base64Decode(s).value_or("");
}

bool VerifyRs256(const std::string& public_pem, const std::string& jwt) {
  const size_t dot2 = jwt.rfind('.');
  const std::string input = jwt.substr(0, dot2);
  const std::string sig = FromB64Url(jwt.substr(dot2 + 1));
  BIO* b = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("the App JWT is RS256-signed with iat 60 s back and exp within 10 minutes") {
  const KeyPair kp = NewRsaKey();
  const Time now = 1'700'000'000'000;
  auto jwt = github::MakeAppJwt("123456", kp.private_pem, now);
  REQUIRE(jwt.ok());
  CHECK(VerifyRs256(kp.public_pem, *jwt));
  const size_t dot1 = jwt->find('.');
  const size_t dot2 = jwt->rfind('.');
  const auto header = nlohmann::json::parse(FromB64Url(jwt->substr(0, dot1)));
  const auto claims = nlohmann::json::parse(FromB64Url(jwt->substr(dot1 + 1, dot2 - dot1 - 1)));
  CHECK(header["alg"] == "RS256");
  CHECK(header["typ"] == "JWT");
  CHECK(claims["iss"] == 123456);
  CHECK(claims["iat"] == 1'700'000'000 - 60);
  CHECK(claims["exp"].get<std::int64_t>() <= 1'700'000'000 + 600);
  CHECK(claims["exp"].get<std::int64_t>() > 1'700'000'000);
  auto by_client_id = github::MakeAppJwt("Iv1.abc", kp.private_pem, now);
  REQUIRE(by_client_id.ok());
  CHECK(VerifyRs256(kp.public_pem, *by_client_id));
  auto bad = github::MakeAppJwt("1", "not a key", now);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kInvalid);
}

TEST_CASE("installation tokens are minted once, cached, and renewed before they expire") {
  const KeyPair kp = NewRsaKey();
  ManualClock clock(4'070'000'000'000);  // 2098: the fake's tokens expire 2099-01-01
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  fake.AddPull({1, "feature"});
  fake.Commit("feature", {{"x", "y\n"}});
  github::AppAuth auth("42", kp.private_pem, github::DefaultRestOptions(fake.base_url()), clock);
  RestClient rest(FastOptions(github::DefaultRestOptions(fake.base_url())), &auth, clock);
  github::GithubApi api(rest, {true});
  REQUIRE(api.GetPullRequest("acme/widgets", 1).ok());  // looks the installation up, mints a token
  REQUIRE(api.GetPullRequest("acme/widgets", 1).ok());
  CHECK(fake.TokensMinted() == 1);
  CHECK(auth.tokens_minted() == 1);
  CHECK(VerifyRs256(kp.public_pem, fake.LastJwt()));
  const auto reqs = fake.Requests();
  CHECK(std::count(reqs.begin(), reqs.end(), "GET /repos/acme/widgets/installation") == 1);
  // 2099-01-01T00:00:00Z minus four minutes: inside the renewal window
  clock.Set(*github::ParseIsoTime("2098-12-31T23:56:00Z"));
  REQUIRE(api.GetPullRequest("acme/widgets", 1).ok());
  CHECK(fake.TokensMinted() == 2);
}

TEST_CASE("an installation learnt from a webhook skips the lookup") {
  const KeyPair kp = NewRsaKey();
  SystemClock clock;
  FakeForge fake(FakeFlavor::kGithub, "acme/widgets");
  github::AppAuth auth("42", kp.private_pem, github::DefaultRestOptions(fake.base_url()), clock);
  auth.RememberInstallation("acme/widgets", 4242);
  auto headers = auth.Headers("acme/widgets");
  REQUIRE(headers.ok());
  CHECK((*headers)[0].second.rfind("Bearer ghs_fake", 0) == 0);
  const auto reqs = fake.Requests();
  CHECK(std::count(reqs.begin(), reqs.end(), "GET /repos/acme/widgets/installation") == 0);
}

TEST_CASE("ISO times parse to epoch milliseconds") {
  CHECK(github::ParseIsoTime("2016-07-11T22:14:10Z") == 1468275250000);
  CHECK_FALSE(github::ParseIsoTime("yesterday").has_value());
}

}  // TEST_SUITE
