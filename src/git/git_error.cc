#include "git/git_error.h"

#include <git2.h>

namespace mergeyard::git {

namespace {

ErrorCode CodeFor(int rc, int klass) {
  switch (rc) {
    case GIT_ENOTFOUND:
      return ErrorCode::kNotFound;
    case GIT_EAUTH:
      return ErrorCode::kUnauthorized;
    case GIT_ECERTIFICATE:
      return ErrorCode::kUnauthorized;
    case GIT_ENONFASTFORWARD:
    case GIT_EMODIFIED:
    case GIT_ELOCKED:
    case GIT_ECONFLICT:
    case GIT_EMERGECONFLICT:
      return ErrorCode::kConflict;
    case GIT_EINVALIDSPEC:
    case GIT_EAMBIGUOUS:
    case GIT_EINVALID:
      return ErrorCode::kInvalid;
    default:
      break;
  }
  if (klass == GIT_ERROR_NET || klass == GIT_ERROR_HTTP || klass == GIT_ERROR_SSL ||
      klass == GIT_ERROR_SSH) {
    return ErrorCode::kTransient;
  }
  return ErrorCode::kInternal;
}

}  // namespace

Error GitFailure(int rc, const std::string& what) {
  const git_error* last = git_error_last();
  std::string detail = last != nullptr && last->message != nullptr ? last->message : "";
  int klass = last != nullptr ? last->klass : GIT_ERROR_NONE;
  if (detail.empty()) detail = "libgit2 error " + std::to_string(rc);
  return Error{CodeFor(rc, klass), what + ": " + detail};
}

Status Check(int rc, const std::string& what) {
  if (rc >= 0) return Ok();
  return GitFailure(rc, what);
}

}  // namespace mergeyard::git
