#pragma once
// Builds a batch commit in memory (no working tree, no whole-repository
// index): the base, then each part (pull request) in order, with the queue's
// merge method. A part that conflicts is left out, with its paths, and the
// rest go on.
//
// Commits follow what the forges do:
//   merge   one merge commit per part, parents (previous, head); author and
//           committer are the bot; message "Merge pull request #N" + the
//           head's subject + the batch listing.
//   squash  one commit per part on the previous; author is the head commit's
//           author, committer the bot; message "<subject> (#N)", the part's
//           commit subjects as a list, and the batch listing.
//   rebase  the part's own (non-merge) commits replayed in order; authors and
//           messages kept, committer the bot. Commits that become empty are
//           dropped.
// A part whose head is already contained in the batch so far is merged
// without a commit.

#include <string>
#include <vector>

#include "base/duration.h"
#include "base/result.h"
#include "queue/config.h"
#include "queue/types.h"

struct git_repository;

namespace mergeyard::git {

struct Identity {
  std::string name = "mergeyard";
  std::string email = "mergeyard@localhost";
};

struct BatchPart {
  std::string label;       // "#12" for a pull request, or a ref name
  queue::PrNumber pr = 0;  // 0 when the part is not a pull request
  std::string head;        // a commit id (or, for BuildBatchAt, any revision)
};

struct BatchSpec {
  std::string base;        // a commit id (or, for BuildBatchAt, any revision)
  std::vector<BatchPart> parts;
  queue::MergeMethod method = queue::MergeMethod::kMerge;
  Identity committer;
  Time now = 0;            // commit time, ms since the epoch
  std::string batch_name;  // e.g. "batch 7", in the listing line; may be empty
};

struct PartConflict {
  std::string label;
  queue::PrNumber pr = 0;
  std::vector<std::string> paths;
};

struct BatchCommit {
  std::string commit;  // the batch commit; the base itself when no part added anything
  std::string tree;
  std::vector<std::string> merged;  // labels of the parts in the commit, in order
  std::vector<PartConflict> conflicts;
  int full_merges = 0;              // merges that needed the whole-index fallback
};

// Builds the batch in `repo` (objects are written, no ref moves). Errors for
// unknown commits or repository failures; conflicts are data.
Result<BatchCommit> BuildBatchCommit(git_repository* repo, const BatchSpec& spec);

// Same, opening the repository at `repo_path` and resolving `spec.base` and
// each part's head as revisions ("main", "refs/pull/3/head", a sha...).
Result<BatchCommit> BuildBatchAt(const std::string& repo_path, BatchSpec spec);

}  // namespace mergeyard::git
