#pragma once
// Parses and validates a repository's `.mergeyard.yml` (DESIGN.md section 6)
// into engine::RepoConfig. Unknown keys, wrong types and impossible values are
// reported with their 1-based line and column; nothing is thrown.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/repo_config.h"

namespace mergeyard::forge {

struct ConfigError {
  int line = 0;    // 1-based; 0 when the position is unknown
  int column = 0;  // 1-based
  std::string message;
  // "line 3, column 5: queue.concurrency must be an integer >= 1"
  std::string ToString() const;
};

struct RepoConfigParse {
  engine::RepoConfig config;        // meaningful only when ok()
  std::vector<ConfigError> errors;  // in file order
  bool ok() const { return errors.empty(); }
  // Every error, one per line, for a pull request comment.
  std::string ErrorsText() const;
};

RepoConfigParse ParseRepoConfig(const std::string& yaml_text);

// "4GiB", "512MiB", "2G", "1.5GB", "1048576" (bytes). Nullopt when malformed.
std::optional<std::int64_t> ParseByteSize(const std::string& text);

}  // namespace mergeyard::forge
