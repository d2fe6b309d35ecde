#pragma once
// SHA-256 (FIPS 180-4), std only, so the pure core can compute action
// digests without OpenSSL. Not constant-time; never use it for secrets.

#include <cstdint>
#include <string>
#include <string_view>

namespace mergeyard::exec::core {

class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  // Lowercase hex of the digest. The object must not be updated afterwards.
  std::string HexDigest();

 private:
  void Block(const unsigned char* p);
  std::uint32_t h_[8];
  unsigned char buf_[64];
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace mergeyard::exec::core
