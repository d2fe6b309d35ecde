#pragma once
// Tree objects as raw bytes, for the tree-by-tree merge: each tree is read
// (inflated) at most once per store, and the trees a merge writes are kept
// for the next merge of the batch, which merges into them. One store serves
// one repository and one thread, typically for one batch.
//
// Writing: trees of kLargeTree bytes or more are written as loose objects
// whose zlib stream is stored, not compressed. On a 50,000-entry directory
// the tree is ~2 MB of mostly random object ids; deflating it costs more
// than the rest of a merge, and gains only a third in size (git gc packs it
// anyway). Smaller trees and blobs go through libgit2 as usual. Object ids
// are git's (the same SHA-1 libgit2 computes), whatever the compression.

#include <git2.h>

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "git/handles.h"

namespace mergeyard::git {

// One entry of a tree object's body: "<octal mode> <name>\0<20-byte id>".
struct TreeEntry {
  std::string_view name;
  git_filemode_t mode = GIT_FILEMODE_UNREADABLE;  // as git reads it: 100664 is 100644
  git_oid id{};
  size_t size = 0;        // bytes the entry takes in the body
  bool canonical = true;  // the mode is spelled the way git writes it
};

// Parses the entry at the start of `bytes`; false when it is malformed.
bool ParseTreeEntry(std::string_view bytes, TreeEntry* out);

// "100644 ", "40000 "...: a canonical mode as git writes it, with the space.
std::string_view ModeText(git_filemode_t mode);

// Appends the entry the way git writes it.
void AppendTreeEntry(std::string* out, std::string_view name, git_filemode_t mode,
                     const git_oid& id);

// The body of a tree object: its entries in git's order.
class RawTree {
 public:
  explicit RawTree(git_odb_object* object);  // takes the reference
  explicit RawTree(std::string bytes);
  RawTree(const RawTree&) = delete;
  RawTree& operator=(const RawTree&) = delete;

  std::string_view bytes() const { return bytes_; }

  // The offset of every entry, then size(): computed on first use, which
  // also checks the whole tree parses. False when it does not.
  bool Index() const;
  const std::vector<size_t>& starts() const { return starts_; }
  // Every mode is spelled the way git writes it ("100644", not "100664" or
  // "040000"). Valid after Index().
  bool canonical() const { return canonical_; }

 private:
  Handle<git_odb_object, git_odb_object_free> object_;
  std::string owned_;
  std::string_view bytes_;
  mutable std::vector<size_t> starts_;
  mutable bool indexed_ = false;
  mutable bool canonical_ = true;
};

using RawTreePtr = std::shared_ptr<const RawTree>;

class TreeStore {
 public:
  static constexpr size_t kLargeTree = 32 << 10;
  // Trees kept (least recently used dropped first) up to this many bytes;
  // the one in use is kept whatever its size.
  static constexpr size_t kBudget = 96 << 20;

  static Result<std::unique_ptr<TreeStore>> Open(git_repository* repo);

  // NotFound when missing, Internal when it is not a tree.
  Result<RawTreePtr> Read(const git_oid& id);

  // Writes the tree object with these bytes (unless the repository has it)
  // and keeps it for Read.
  Result<git_oid> Write(std::string bytes);

  git_odb* odb() const { return odb_.get(); }

 private:
  TreeStore(git_repository* repo, OdbPtr odb);
  void Keep(const git_oid& id, RawTreePtr tree);
  bool CanWriteLoose();
  Status WriteStoredLoose(const git_oid& id, std::string_view body);

  git_repository* repo_;
  OdbPtr odb_;
  bool loose_checked_ = false;
  std::string objects_dir_;  // empty: write everything through libgit2
  bool fsync_ = false;

  struct OidHash {
    size_t operator()(const git_oid& id) const;
  };
  struct OidEq {
    bool operator()(const git_oid& a, const git_oid& b) const { return git_oid_equal(&a, &b); }
  };
  using Lru = std::list<std::pair<git_oid, RawTreePtr>>;
  Lru lru_;  // most recently used first
  std::unordered_map<git_oid, Lru::iterator, OidHash, OidEq> index_;
  size_t bytes_ = 0;
  std::string zbuf_;  // reused by WriteStoredLoose
};

}  // namespace mergeyard::git
