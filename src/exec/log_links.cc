#include "exec/log_links.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mergeyard::exec {

Result<LogLinks> LogLinks::LoadOrCreate(const std::string& path) {
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (in && ss.str().size() >= 32) return LogLinks(ss.str());
  }
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1) return Internal("cannot make a log link key");
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(key), sizeof key);
    if (!out) return Internal("cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), 0600);
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Internal("cannot write " + path + ": " + ec.message());
  return LogLinks(std::string(reinterpret_cast<const char*>(key), sizeof key));
}

std::string LogLinks::Sign(const std::string& execution) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(execution.data()), execution.size(), mac, &len);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16 && i < len; ++i) {  // 128 bits are plenty for a link
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

bool LogLinks::Verify(const std::string& execution, const std::string& sig) const {
  const std::string want = Sign(execution);
  return sig.size() == want.size() && CRYPTO_memcmp(sig.data(), want.data(), want.size()) == 0;
}

}  // namespace mergeyard::exec
