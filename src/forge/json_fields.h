#pragma once
// Small, non-throwing accessors for webhook and REST JSON. A path is a
// dot-separated list of object keys ("pull_request.head.sha"); a missing key,
// a null or a wrong type yields the fallback.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace mergeyard::forge {

// The node at `path`, or nullptr.
const nlohmann::json* Find(const nlohmann::json& j, const std::string& path);

std::string GetString(const nlohmann::json& j, const std::string& path, const std::string& fallback = "");
std::int64_t GetInt(const nlohmann::json& j, const std::string& path, std::int64_t fallback = 0);
bool GetBool(const nlohmann::json& j, const std::string& path, bool fallback = false);
// True when `path` exists and is not null.
bool Has(const nlohmann::json& j, const std::string& path);

// True when any commit in `commits` (GitHub/Gitea/GitLab push payloads) added,
// modified or removed `path`. `truncated` is set when the list may be incomplete.
bool CommitsTouch(const nlohmann::json& commits, const std::string& path);

}  // namespace mergeyard::forge
