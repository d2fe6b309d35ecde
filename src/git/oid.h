#pragma once
// Object ids as text and back, and commit lookup with a clear error. git/ only.

#include <string>

#include "base/result.h"
#include "git/handles.h"

namespace mergeyard::git {

// A full 40-hex-digit id, or Invalid.
Result<git_oid> ParseOid(const std::string& hex);

std::string OidString(const git_oid& id);

// NotFound when the commit is not in the repository.
Result<CommitPtr> LookupCommit(git_repository* repo, const git_oid& id);

// True when the object is in the repository's object database.
bool HasObject(git_repository* repo, const std::string& hex);

}  // namespace mergeyard::git
