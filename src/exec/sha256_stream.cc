#include "exec/sha256_stream.h"

#include <openssl/evp.h>

namespace mergeyard::exec {
namespace {

std::string Hex(const unsigned char* md, unsigned int len) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

EVP_MD_CTX* Ctx(const std::shared_ptr<void>& p) { return static_cast<EVP_MD_CTX*>(p.get()); }

}  // namespace

Sha256Stream::Sha256Stream()
    : ctx_(EVP_MD_CTX_new(), [](void* p) { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(p)); }) {
  EVP_DigestInit_ex(Ctx(ctx_), EVP_sha256(), nullptr);
}

void Sha256Stream::Update(std::string_view data) { EVP_DigestUpdate(Ctx(ctx_), data.data(), data.size()); }

std::string Sha256Stream::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(Ctx(ctx_), md, &len);
  return Hex(md, len);
}

std::string Sha256Of(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

}  // namespace mergeyard::exec
