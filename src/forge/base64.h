#pragma once
// Base64 as the forges use it (file contents, with line breaks) and base64url
// without padding (JWT).

#include <optional>
#include <string>
#include <string_view>

namespace mergeyard::forge {

// Decodes standard base64; whitespace is skipped. Nullopt when malformed.
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64Encode(std::string_view bytes);
std::string Base64UrlEncode(std::string_view bytes);

}  // namespace mergeyard::forge
