#include "forge/json_fields.h"

namespace mergeyard::forge {

const nlohmann::json* Find(const nlohmann::json& j, const std::string& path) {
  const nlohmann::json* cur = &j;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    const auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

std::string GetString(const nlohmann::json& j, const std::string& path, const std::string& fallback) {
  const nlohmann::json* n = Find(j, path);
  return n && n->is_string() ? n->get<std::string>() : fallback;
}

std::int64_t GetInt(const nlohmann::json& j, const std::string& path, std::int64_t fallback) {
  const nlohmann::json* n = Find(j, path);
  if (n && n->is_number_integer()) return n->get<std::int64_t>();
  if (n && n->is_number_unsigned()) return static_cast<std::int64_t>(n->get<std::uint64_t>());
  return fallback;
}

bool GetBool(const nlohmann::json& j, const std::string& path, bool fallback) {
  const nlohmann::json* n = Find(j, path);
  return n && n->is_boolean() ? n->get<bool>() : fallback;
}

bool Has(const nlohmann::json& j, const std::string& path) {
  const nlohmann::json* n = Find(j, path);
  return n && !n->is_null();
}

bool CommitsTouch(const nlohmann::json& commits, const std::string& path) {
  if (!commits.is_array()) return false;
  for (const auto& c : commits) {
    if (!c.is_object()) continue;
    for (const char* field : {"added", "modified", "removed"}) {
      const auto it = c.find(field);
      if (it == c.end() || !it->is_array()) continue;
      for (const auto& f : *it) {
        if (f.is_string() && f.get<std::string>() == path) return true;
      }
    }
  }
  return false;
}

}  // namespace mergeyard::forge
