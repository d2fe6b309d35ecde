#pragma once
// TreeResolver and CheckoutProvider on the `git` CLI (a process per call, not
// libgit2). Checkouts are worktrees of the repository's bare mirror under
// <work_dir>/<repo>/wt-N, reused when warm: a released worktree is kept and
// the next Acquire for that repository moves it with `checkout --detach -f`
// and `clean -ffdx` instead of adding a new one. <work_dir> belongs to this
// workspace alone (its process holds the directory's lock, app/dir_lock.h):
// the checkouts an earlier process left there (a restart, a crash) are
// removed at the first Acquire for their repository, not reused, since a
// step orphaned by a crash may still be writing in one; new checkouts never
// take a name that exists.
//
// mirror_of(repo) names the bare mirror. When fetch_url_of is set (remote
// executors), a missing mirror is created and a missing commit fetched from
// that URL first.

#include <filesystem>
#include <functional>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "exec/workspace.h"

namespace mergeyard::exec {

using RepoPathFn = std::function<std::optional<std::string>(const std::string& repo)>;

class GitCliWorkspace final : public TreeResolver, public CheckoutProvider {
 public:
  GitCliWorkspace(RepoPathFn mirror_of, std::string work_dir, RepoPathFn fetch_url_of = nullptr);

  Result<std::string> TreeId(const std::string& repo, const std::string& commit) override;
  Result<std::string> PathId(const std::string& repo, const std::string& commit,
                             const std::string& path) override;
  Result<std::string> Acquire(const std::string& repo, const std::string& commit) override;
  void Release(const std::string& repo, const std::string& dir) override;
  std::vector<std::string> WarmRepos() override;

 private:
  Result<std::string> Mirror(const std::string& repo, const std::string& commit);
  // Renames the wt-* (and trash-*) directories under <work_dir>/<repo> out of
  // the way (a rename is quick). Under mu_, before this process made any.
  std::vector<std::filesystem::path> MoveLeftoversAside(const std::string& repo);
  // Deletes what MoveLeftoversAside moved and prunes the registrations in
  // `mirror`. Not under mu_: whole checkouts take a while to delete.
  void RemoveLeftovers(const std::string& repo, const std::string& mirror,
                       const std::vector<std::filesystem::path>& leftovers);

  RepoPathFn mirror_of_;
  std::string work_dir_;
  RepoPathFn fetch_url_of_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> free_;  // repo -> idle worktrees
  std::map<std::string, int> next_;
  std::set<std::string> cleaned_;  // repositories whose leftovers were removed
  std::map<std::string, std::unique_ptr<std::mutex>> repo_mu_;
};

// Runs argv (no shell), returns stdout; kInternal with stderr on failure.
Result<std::string> RunCapture(const std::vector<std::string>& argv);

}  // namespace mergeyard::exec
