#pragma once
// Where a repository's `.mergeyard.yml` comes from: read from the target
// branch (never from the pull request), parsed and validated, cached by blob
// id. The last configuration that parsed is remembered per queue so the queue
// keeps it while a broken file is being fixed. Thread-safe.

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "engine/repo_config.h"
#include "forge/directory.h"
#include "forge/repo_config_parser.h"

namespace mergeyard::forge {

struct LoadedConfig {
  bool present = false;   // false: the branch has no .mergeyard.yml (the repository does not take part)
  std::string blob_id;
  RepoConfigParse parse;  // errors carry line and column
};

class ConfigSource {
 public:
  virtual ~ConfigSource() = default;
  // Reads the file at the tip of `branch`. Errors: kTransient and friends
  // from the forge; a missing file is present=false, not an error.
  virtual Result<LoadedConfig> Load(const std::string& repo, const std::string& branch) = 0;
  // The last configuration that loaded without errors, if any.
  virtual std::optional<engine::RepoConfig> LastGood(const std::string& repo,
                                                     const std::string& branch) const = 0;
};

// Reads through the forge API (a mirror-backed source can replace it in app/).
class ForgeConfigSource final : public ConfigSource {
 public:
  explicit ForgeConfigSource(ForgeDirectory& forges) : forges_(forges) {}
  Result<LoadedConfig> Load(const std::string& repo, const std::string& branch) override;
  std::optional<engine::RepoConfig> LastGood(const std::string& repo,
                                             const std::string& branch) const override;
  // Parses done so far (tests check the blob cache).
  int parses() const;

 private:
  ForgeDirectory& forges_;
  mutable std::mutex mu_;
  std::map<std::string, RepoConfigParse> by_blob_;
  std::map<std::string, engine::RepoConfig> last_good_;  // repo:branch
  int parses_ = 0;
};

}  // namespace mergeyard::forge
