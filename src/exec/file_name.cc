#include "exec/file_name.h"

#include <cctype>

namespace mergeyard::exec {

std::string FileNameFor(std::string_view name) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool keep = std::isalnum(c) || c == '-' || (c == '.' && i > 0);
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '_';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out.empty() ? "_" : out;
}

}  // namespace mergeyard::exec
