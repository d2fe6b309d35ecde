#include "git/oid.h"

#include "git/git_error.h"

namespace mergeyard::git {

Result<git_oid> ParseOid(const std::string& hex) {
  git_oid id;
  if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstr(&id, hex.c_str()) < 0) {
    return Invalid("not a commit id: '" + hex + "'");
  }
  return id;
}

std::string OidString(const git_oid& id) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &id);
  return buf;
}

Result<CommitPtr> LookupCommit(git_repository* repo, const git_oid& id) {
  git_commit* raw = nullptr;
  if (int rc = git_commit_lookup(&raw, repo, &id); rc < 0) {
    Error e = GitFailure(rc, "reading commit " + OidString(id));
    if (rc == GIT_ENOTFOUND) e.code = ErrorCode::kNotFound;
    return e;
  }
  return CommitPtr(raw);
}

bool HasObject(git_repository* repo, const std::string& hex) {
  git_oid id;
  if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstr(&id, hex.c_str()) < 0) return false;
  git_odb* raw = nullptr;
  if (git_repository_odb(&raw, repo) < 0) return false;
  OdbPtr odb(raw);
  return git_odb_exists(odb.get(), &id) == 1;
}

}  // namespace mergeyard::git
