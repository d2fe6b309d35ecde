#pragma once
// Turns libgit2's int error codes (and its thread-local last error) into
// mergeyard Errors. Every libgit2 call in git/ goes through these, so no raw
// int leaves the module.

#include <string>

#include "base/result.h"

namespace mergeyard::git {

// The Error for libgit2 return code `rc` (< 0) while doing `what`:
// "<what>: <libgit2 message>", with a code the caller can act on
// (not found, conflict for lost races/non-fast-forward, unauthorized,
// transient for network failures, internal otherwise).
Error GitFailure(int rc, const std::string& what);

// Ok when rc >= 0, else GitFailure(rc, what).
Status Check(int rc, const std::string& what);

}  // namespace mergeyard::git
