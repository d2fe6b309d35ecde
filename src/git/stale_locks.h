#pragma once
// Lock files a killed git writer leaves behind. git and libgit2 update a ref
// (or packed-refs, config, HEAD) by writing "<file>.lock" and renaming it;
// after a kill -9 in between, the .lock stays and every later update of that
// file fails with "failed to lock file" until someone removes it. So the
// queue would retry the same batch build for ever.
//
// Only the repository's single writer may call this, before it writes: it
// cannot tell a stale lock from one a live process holds. The service is the
// only writer of its mirrors because it holds its data directory's lock
// (app/dir_lock.h), a remote executor likewise for its work directory, and
// the git processes they start die with them (PR_SET_PDEATHSIG). Not
// covered: git run by a pipeline step inside its checkout, and the brief
// children of `git gc` (pack-refs), which may outlive a kill -9 for a moment.

#include <string>
#include <vector>

#include "base/result.h"

namespace mergeyard::git {

// Removes the ref-level lock files of the bare repository `git_dir`: any
// "*.lock" under refs/ and logs/, and packed-refs, HEAD, config, shallow,
// FETCH_HEAD and ORIG_HEAD locks at the top. Not worktrees/ (their own
// processes) nor objects/ (written by atomic renames of temp files). Returns
// the files removed, relative to `git_dir`.
Result<std::vector<std::string>> RemoveStaleLockFiles(const std::string& git_dir);

}  // namespace mergeyard::git
