#include "forge/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>

namespace mergeyard::forge {

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static const char* kHex = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[mac[i] >> 4];
    out[2 * i + 1] = kHex[mac[i] & 0xf];
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

// Lowercases hex digits so an uppercase signature still matches; the length
// was already fixed by the caller, so this leaks nothing about the secret.
std::string LowerHex(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool VerifyHex(std::string_view secret, std::string_view body, std::string_view hex) {
  if (secret.empty() || hex.size() != 64) return false;
  return ConstantTimeEquals(HmacSha256Hex(secret, body), LowerHex(hex));
}

}  // namespace

bool VerifyGithubSignature(std::string_view secret, std::string_view body,
                           std::string_view header) {
  constexpr std::string_view kPrefix = "sha256=";
  if (header.substr(0, kPrefix.size()) != kPrefix) return false;
  return VerifyHex(secret, body, header.substr(kPrefix.size()));
}

bool VerifyGiteaSignature(std::string_view secret, std::string_view body, std::string_view header) {
  return VerifyHex(secret, body, header);
}

bool VerifyGitlabToken(std::string_view secret, std::string_view header) {
  if (secret.empty() || header.empty()) return false;
  // Compare digests so the time does not depend on the secret's length either.
  return ConstantTimeEquals(HmacSha256Hex("gitlab-token", secret),
                            HmacSha256Hex("gitlab-token", header));
}

}  // namespace mergeyard::forge
