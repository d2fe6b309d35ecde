#pragma once
// RAII owners for the libgit2 objects this module uses, and the one-time
// library initialisation. Private to git/: nothing outside includes git2.h.

#include <git2.h>

#include <memory>

namespace mergeyard::git {

// Calls git_libgit2_init exactly once per process (thread-safe); never shut down.
void EnsureLibgit2();

template <class T, void (*F)(T*)>
struct Freer {
  void operator()(T* p) const {
    if (p != nullptr) F(p);
  }
};

template <class T, void (*F)(T*)>
using Handle = std::unique_ptr<T, Freer<T, F>>;

using RepoPtr = Handle<git_repository, git_repository_free>;
using TreePtr = Handle<git_tree, git_tree_free>;
using CommitPtr = Handle<git_commit, git_commit_free>;
using BlobPtr = Handle<git_blob, git_blob_free>;
using IndexPtr = Handle<git_index, git_index_free>;
using RemotePtr = Handle<git_remote, git_remote_free>;
using ReferencePtr = Handle<git_reference, git_reference_free>;
using ObjectPtr = Handle<git_object, git_object_free>;
using RevwalkPtr = Handle<git_revwalk, git_revwalk_free>;
using SignaturePtr = Handle<git_signature, git_signature_free>;
using OdbPtr = Handle<git_odb, git_odb_free>;
using ConflictIterPtr = Handle<git_index_conflict_iterator, git_index_conflict_iterator_free>;

// git_buf and git_merge_file_result are values with their own dispose calls.
struct BufGuard {
  git_buf buf = GIT_BUF_INIT;
  BufGuard() = default;
  BufGuard(const BufGuard&) = delete;
  BufGuard& operator=(const BufGuard&) = delete;
  ~BufGuard() { git_buf_dispose(&buf); }
};

struct MergeFileResultGuard {
  git_merge_file_result result{};
  MergeFileResultGuard() = default;
  MergeFileResultGuard(const MergeFileResultGuard&) = delete;
  MergeFileResultGuard& operator=(const MergeFileResultGuard&) = delete;
  ~MergeFileResultGuard() { git_merge_file_result_free(&result); }
};

struct OidArrayGuard {
  git_oidarray arr{};
  OidArrayGuard() = default;
  OidArrayGuard(const OidArrayGuard&) = delete;
  OidArrayGuard& operator=(const OidArrayGuard&) = delete;
  ~OidArrayGuard() { git_oidarray_dispose(&arr); }
};

}  // namespace mergeyard::git
