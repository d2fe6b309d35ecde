#pragma once
// Where a repository's `.mergeyard.yml` comes from: read from the target
// branch (never from the pull request), parsed and validated, cached by blob
// id. The last configuration that parsed is remembered per queue so the queue
// keeps it while a broken file is being fixed. Thread-safe.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
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
  // Reads the file at the tip of `branch`, or at commit `at` of it when
  // given (a push names the new tip). Errors: kTransient and friends from the
  // forge; a missing file is present=false, not an error.
  virtual Result<LoadedConfig> Load(const std::string& repo, const std::string& branch,
                                    const std::string& at = "") = 0;
  // The last configuration that loaded without errors, if any.
  virtual std::optional<engine::RepoConfig> LastGood(const std::string& repo,
                                                     const std::string& branch) const = 0;
};

// The commit a branch is known to be at ("" when not known): what the queue
// builds on. Called without any lock of the source held.
using TipOf = std::function<std::string(const std::string& repo, const std::string& branch)>;

// Reads through the forge API. With `tip_of`, it reads once per target
// commit: a Load without `at` reads at the known tip, and the answer is kept
// until the tip moves, so admissions between two landings cost no call.
class ForgeConfigSource final : public ConfigSource {
 public:
  explicit ForgeConfigSource(ForgeDirectory& forges, TipOf tip_of = nullptr)
      : forges_(forges), tip_of_(std::move(tip_of)) {}
  // Sets tip_of after construction (the engine that knows tips is built
  // later). With `clock`, an answer older than `max_age` is read again, at
  // the branch rather than the known tip: a lost push webhook leaves the
  // known tip behind, and the file may have changed since.
  void SetTipOf(TipOf tip_of, const Clock* clock = nullptr, Duration max_age = 10 * kMinute);
  Result<LoadedConfig> Load(const std::string& repo, const std::string& branch,
                            const std::string& at = "") override;
  std::optional<engine::RepoConfig> LastGood(const std::string& repo,
                                             const std::string& branch) const override;
  // Parses done so far (tests check the blob cache).
  int parses() const;

 private:
  ForgeDirectory& forges_;
  mutable std::mutex mu_;
  TipOf tip_of_;
  const Clock* clock_ = nullptr;
  Duration max_age_ = 0;
  struct AtTip {
    std::string commit;
    Time loaded_at = 0;
    LoadedConfig loaded;
  };
  std::map<std::string, AtTip> by_tip_;  // repo:branch -> what the file was at that commit
  std::map<std::string, RepoConfigParse> by_blob_;
  std::map<std::string, engine::RepoConfig> last_good_;  // repo:branch
  int parses_ = 0;
};

}  // namespace mergeyard::forge
