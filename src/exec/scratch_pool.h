#pragma once
// Reusable scratch directories under one parent. Creating a directory is
// among the dearest things an action does on a file system (about 0.3 ms
// each on CI's ext4, bench/reapi), so a run borrows a directory that an
// earlier run emptied instead of making and removing its own. Thread-safe.

#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"

namespace mergeyard::exec {

// Removes `path` and everything under it, even where a step took away write
// permission. Quiet when it does not exist.
void RemoveTree(const std::string& path);

class ScratchPool {
 public:
  // Directories are made as `<parent>/<prefix><n>`; leftovers of an earlier
  // process under those names are emptied before first use.
  ScratchPool(std::string parent, std::string prefix);

  // A directory of the caller's own until Release. It holds nothing but
  // empty directories and empty files no other path links to, left at its
  // top level by an earlier borrower, so it pays for no new inode when it
  // makes the same names again (open with O_TRUNC, create_directories).
  Result<std::string> Acquire();
  // Empties `dir` (keeping its top-level directories, emptied, and private
  // empty files) and keeps it for a later Acquire; one that cannot be
  // emptied is removed instead.
  void Release(const std::string& dir);

 private:
  const std::string parent_, prefix_;
  std::mutex mu_;
  std::vector<std::string> idle_;
  int made_ = 0;
};

}  // namespace mergeyard::exec
