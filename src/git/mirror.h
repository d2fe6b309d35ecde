#pragma once
// A bare mirror of one remote repository, and the network operations on it:
// fetch, list, push to temporary refs, delete, and the compare-and-swap push
// that lands a batch. Not thread-safe: the owner serialises calls.

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "git/handles.h"
#include "git/remote.h"

namespace mergeyard::git {

struct CasOutcome {
  bool landed = false;
  std::string tip;  // where the remote ref is now (the new commit when landed)
};

class Mirror {
 public:
  // Opens the bare repository at `path`, creating it (and its parents) first
  // when missing, and removes the lock files a killed writer left in it
  // (git/stale_locks.h): the caller must be the mirror's only writer.
  static Result<std::unique_ptr<Mirror>> Open(const std::string& path);

  git_repository* repo() const { return repo_.get(); }
  bool Has(const std::string& sha) const;

  // Fetches `refspecs` ("+src:dst") from the remote. Only missing objects
  // travel (the usual have/want negotiation). Sources the remote lacks are
  // skipped.
  Status Fetch(const RemoteSpec& remote, const std::vector<std::string>& refspecs);

  // The remote's value of `ref`; empty when it has no such ref.
  Result<std::string> RemoteRef(const RemoteSpec& remote, const std::string& ref);

  // Points `remote_ref` at `sha` (which must be in the mirror), whatever it was.
  // For temporary refs only; never used on the target branch.
  Status ForcePush(const RemoteSpec& remote, const std::string& sha, const std::string& remote_ref);

  // Deletes `remote_ref` on the remote; ok when it was already gone.
  Status DeleteRemote(const RemoteSpec& remote, const std::string& remote_ref);

  // Moves `remote_ref` from `expected` to `commit` only if it still points at
  // `expected` (never a force push): landed, or not landed with where it is.
  // Already at `commit` answers landed. Errors when the remote cannot be
  // reached or answers something unexpected.
  Result<CasOutcome> CompareAndSwap(const RemoteSpec& remote, const std::string& remote_ref,
                                    const std::string& expected, const std::string& commit);

  // Packs what accumulates (the loose trees of batch commits, one pack per
  // fetch) and prunes unreachable objects older than two weeks, as
  // `git gc --auto` decides: nothing when below its thresholds. Runs the git
  // command in the foreground; the caller must keep other writers out.
  // `loose_limit` > 0 overrides gc.auto (tests).
  Status CollectGarbage(int loose_limit = 0);

  // Points the mirror's own `ref` at `sha` (created or moved), which keeps
  // the commit from gc.
  Status SetLocalRef(const std::string& ref, const std::string& sha);

 private:
  explicit Mirror(RepoPtr repo) : repo_(std::move(repo)) {}
  RepoPtr repo_;
};

}  // namespace mergeyard::git
