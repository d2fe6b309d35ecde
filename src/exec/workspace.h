#pragma once
// What the execution backend needs from git, declared here so exec/ does not
// depend on git/: tree ids for action digests and checkouts to run steps in.
// app/ may wire other implementations; GitCliWorkspace (git_cli_workspace.h)
// shells out to the `git` CLI.

#include <string>
#include <vector>

#include "base/result.h"

namespace mergeyard::exec {

class TreeResolver {
 public:
  virtual ~TreeResolver() = default;
  // The git tree id of `commit` (`git rev-parse C^{tree}`).
  virtual Result<std::string> TreeId(const std::string& repo, const std::string& commit) = 0;
  // The object id of `path` in `commit` (`git rev-parse C:path`); kNotFound
  // when the path does not exist there.
  virtual Result<std::string> PathId(const std::string& repo, const std::string& commit,
                                     const std::string& path) = 0;
};

class CheckoutProvider {
 public:
  virtual ~CheckoutProvider() = default;
  // A directory holding exactly `commit`'s tree, writable, for one step.
  // Thread-safe. Every acquired checkout is released once.
  virtual Result<std::string> Acquire(const std::string& repo, const std::string& commit) = 0;
  virtual void Release(const std::string& repo, const std::string& dir) = 0;
  // Repositories with a warm mirror (advertised to the scheduler).
  virtual std::vector<std::string> WarmRepos() = 0;
};

}  // namespace mergeyard::exec
