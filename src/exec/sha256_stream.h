#pragma once
// SHA-256 through OpenSSL, for the content store and the REAPI services
// (exec/core keeps its own std-only one for action digests). Lowercase hex.

#include <memory>
#include <string>
#include <string_view>

namespace mergeyard::exec {

class Sha256Stream {
 public:
  Sha256Stream();
  void Update(std::string_view data);
  // The hex digest of everything given to Update. Once only.
  std::string Finish();

 private:
  std::shared_ptr<void> ctx_;  // EVP_MD_CTX
};

std::string Sha256Of(std::string_view data);

}  // namespace mergeyard::exec
