#pragma once
// Three-way merge of trees without a working tree or a whole-repository
// index. The fast path walks base/ours/theirs level by level, descends only
// into subtrees that differ, and content-merges only files both sides changed
// (git_merge_file on blobs). Where a side deletes or retypes something the
// other side changed (a possible rename), or both sides delete the same path,
// it falls back to libgit2's full merge with rename detection
// (git_merge_trees), so the result is what git computes.
//
// Trees are read and written through a TreeStore (git/tree_store.h). Pass
// the same store to the merges of one batch: each merge starts from the
// tree the previous one wrote and usually shares its base, so neither is
// read again. Without one, each call opens its own.

#include <git2.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace mergeyard::git {

class TreeStore;

struct TreeMergeResult {
  bool clean = true;
  git_oid tree{};                      // the merged tree (written), when clean
  std::vector<std::string> conflicts;  // paths in conflict, sorted, when not clean
  bool full_merge = false;             // the fallback (whole-index) merge was used
};

// Merges `theirs` into `ours` over the common ancestor `base` (nullptr: no
// common ancestor, as the empty tree). Writes the merged tree and any merged
// blobs to the repository's object database. Errors only for repository
// failures (missing objects, I/O), never for conflicts.
Result<TreeMergeResult> MergeTrees(git_repository* repo, const git_oid* base, const git_oid& ours,
                                   const git_oid& theirs, TreeStore* store = nullptr);

// Merges the commit `theirs` into the commit `ours` the way `git merge-tree
// --write-tree ours theirs` does: over their merge base; several merge bases
// (criss-cross) use libgit2's recursive merge.
Result<TreeMergeResult> MergeCommits(git_repository* repo, const git_oid& ours,
                                     const git_oid& theirs, TreeStore* store = nullptr);

// The full (index-based) merge, exposed for benchmarks and as the fallback.
Result<TreeMergeResult> FullMergeTrees(git_repository* repo, const git_oid* base,
                                       const git_oid& ours, const git_oid& theirs);

}  // namespace mergeyard::git
