#include "forge/base64.h"

#include <openssl/evp.h>

#include <vector>

namespace mergeyard::forge {

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') clean += c;
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  if (clean.empty()) return std::string();
  std::vector<unsigned char> out(clean.size() / 4 * 3 + 1);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  if (clean.size() >= 1 && clean[clean.size() - 1] == '=') --len;
  if (clean.size() >= 2 && clean[clean.size() - 2] == '=') --len;
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string Base64Encode(std::string_view bytes) {
  std::vector<unsigned char> out((bytes.size() + 2) / 3 * 4 + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n));
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string s = Base64Encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return s;
}

}  // namespace mergeyard::forge
