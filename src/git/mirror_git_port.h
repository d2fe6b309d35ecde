#pragma once
// engine::GitPort on real repositories: one bare mirror per repository under
// <data_dir>/mirrors/<owner>/<name>.git (GitLab subgroups nest:
// <data_dir>/mirrors/<group>/<subgroup>/<project>.git), fetched from the remote the
// RemoteResolver names (HTTPS with a token, a local path or file:// URL).
//
//   Build  fetches what is missing (target branch, pull-request head refs),
//          builds the batch commit in memory (git/batch_builder.h), pushes it
//          to refs/heads/mergeyard/batch/<id>, and posts BatchBuilt (each
//          conflicting entry with with_tip = it conflicts alone on the tip)
//          or BuildFailed.
//   Land   compare-and-swap push of the batch commit to the target branch,
//          never forced; posts LandResult (landed, or the tip it found).
//   Drop   deletes the batch's temporary ref; every `gc_every` batches of a
//          repository it also packs its mirror (Mirror::CollectGarbage).
// Calls for one repository are serialised; calls for different repositories
// may run in parallel. Answers are posted before the call returns.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "engine/ports.h"
#include "git/batch_builder.h"
#include "git/remote.h"

namespace mergeyard::git {

struct Mergeability {
  bool clean = true;
  std::vector<std::string> paths;  // in conflict, when not clean
};

// The temporary ref a batch commit is pushed to.
std::string BatchRef(queue::BatchId batch);

class MirrorGitPort final : public engine::GitPort {
 public:
  // `resolver` and `clock` must outlive the port.
  MirrorGitPort(std::string data_dir, const RemoteResolver& resolver, const Clock& clock,
                Identity committer = {}, int gc_every = 50);
  ~MirrorGitPort() override;

  // Whether a batch commit with `tree` must be pushed to the forge (its
  // mergeyard/batch/<id> branch, which starts the forge's CI). Answer false
  // only when nothing on the forge needs it: the commit stays in the mirror,
  // is tested from it and lands from it. Called on the git worker's thread.
  using BatchPushWanted = std::function<bool(const engine::QueueKey& key, const std::string& tree)>;
  // REQUIRES: called before the port is first used.
  void SetBatchPushWanted(BatchPushWanted wanted) { push_wanted_ = std::move(wanted); }

  // engine::GitPort
  void Build(const engine::QueueKey& key, const queue::BuildBatch& build,
             engine::EventSink& sink) override;
  void Land(const engine::QueueKey& key, const queue::Land& land, engine::EventSink& sink) override;
  void Drop(const engine::QueueKey& key, const queue::BatchDone& done) override;

  // Enqueue-time check: would pull request `pr` (head `pr_head`) merge onto
  // `target_tip` with `method`? Fetches what is missing first. Errors when the
  // commits cannot be had.
  Result<Mergeability> CheckMergeable(const engine::QueueKey& key, queue::PrNumber pr,
                                      const std::string& target_tip, const std::string& pr_head,
                                      queue::MergeMethod method = queue::MergeMethod::kMerge);

  // Where the target branch of `key` is on the remote now (empty when the
  // branch does not exist). Errors when the remote cannot be reached.
  Result<std::string> RemoteTip(const engine::QueueKey& key);

  // Where the mirror of `repo` lives: <data_dir>/mirrors/<repo>.git. `repo` is
  // "owner/name" or, for GitLab subgroups, more segments ("group/sub/project").
  // Invalid for anything that could leave the mirrors directory or land inside
  // another mirror: fewer than two segments, an empty segment, a segment
  // starting with '.', "..", a character other than letters, digits, '-', '_',
  // '.', '/', or a segment before the last ending in ".git".
  Result<std::string> MirrorPath(const std::string& repo) const;

 private:
  struct RepoMirror;
  struct Locked;
  // The repository's mirror, opened, its remote resolved, and its mutex held.
  Result<Locked> Acquire(const std::string& repo);
  Status EnsureObjects(RepoMirror& m, const engine::QueueKey& key,
                       const std::vector<std::string>& shas,
                       const std::vector<queue::EntryRef>& entries);
  Result<queue::BatchBuilt> BuildLocked(RepoMirror& m, const engine::QueueKey& key,
                                        const queue::BuildBatch& build);

  int gc_every_;
  std::string data_dir_;
  const RemoteResolver& resolver_;
  const Clock& clock_;
  Identity committer_;
  std::mutex mu_;  // guards mirrors_
  std::map<std::string, std::unique_ptr<RepoMirror>> mirrors_;
  BatchPushWanted push_wanted_;  // unset: every batch is pushed
};

}  // namespace mergeyard::git
