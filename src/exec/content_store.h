#pragma once
// The content-addressed store on disk: blobs named by their SHA-256, under
// <root>/<first two hex digits>/<hash>. It holds step logs and, for the
// Remote Execution API, every CAS blob (inputs, outputs, Action, Command,
// Directory and ActionResult messages).
//
// Contracts:
//  - A blob appears whole or not at all: writes go to <root>/tmp/ and are
//    renamed into place. What is stored under a hash has that SHA-256:
//    Put computes it, Adopt verifies it.
//  - With max_bytes > 0 the store keeps at most that many bytes of blobs:
//    after a write passes the limit, the least recently used blobs (by
//    Put, Adopt, Get, Read, Has or Touch) are deleted until the total is 90%
//    of it. The blob just written is never the one evicted. After a restart
//    the order is rebuilt from file modification times (write order).
//  - A file hard-linked out of the store (see PathOf) stays valid after its
//    blob is evicted; its contents must never be modified (blobs are 0444).
// Thread-safe.

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace mergeyard::exec {

// True for 64 lowercase hex digits.
bool IsSha256Hex(std::string_view hash);

class ContentStore {
 public:
  explicit ContentStore(std::string root, std::int64_t max_bytes = 0)
      : root_(std::move(root)), max_bytes_(max_bytes) {}
  // Creates the root, clears left-over temporary files, indexes what is stored.
  Status Open();

  // Stores bytes; returns their hash.
  Result<std::string> Put(std::string_view bytes);
  // Stores a copy of the file at `path` (streamed); returns its hash. When
  // the store has its content already, nothing is written. A missing file
  // stores the empty blob. A file written meanwhile is stored as one of the
  // states it passed through.
  Result<std::string> PutFile(const std::string& path);
  // Stores the file at `path` the cheapest way: when the store has its
  // content already, nothing is written; else it is hard-linked in (made
  // read-only) where `path` is on the store's file system, copied otherwise.
  // The caller must not write to `path` afterwards (it may be the stored blob).
  Result<std::string> TakeFile(const std::string& path);
  // Like Adopt, for a file whose SHA-256 the caller computed as it wrote it.
  Status AdoptHashed(const std::string& tmp_path, const std::string& hash, std::int64_t size);
  // Moves `tmp_path` (a file from NewTempPath) into the store when its
  // SHA-256 is `hash` and its size `size`; kInvalid (and the file removed)
  // when it is not.
  Status Adopt(const std::string& tmp_path, const std::string& hash, std::int64_t size);
  // A fresh path in the store's own temporary directory (same file system,
  // so Adopt is a rename).
  std::string NewTempPath();

  Result<std::string> Get(const std::string& hash);
  // Up to `limit` bytes (0: to the end) from `offset`. kInvalid for an
  // offset beyond the blob.
  Result<std::string> Read(const std::string& hash, std::int64_t offset, std::int64_t limit);
  bool Has(const std::string& hash);
  // The stored size, nullopt when absent. Counts as a use.
  std::optional<std::int64_t> SizeOf(const std::string& hash);
  // SizeOf for many hashes under one lock (nullopt: absent or malformed).
  std::vector<std::optional<std::int64_t>> SizesOf(const std::vector<std::string>& hashes);
  // Where the blob lives (it may be absent). Read-only; hard-link, never write.
  std::string PathOf(const std::string& hash) const;

  // Counts bytes a caller read straight from PathOf (e.g. streamed reads).
  void NoteRead(std::int64_t bytes);

  struct Stats {
    std::int64_t bytes = 0, blobs = 0, max_bytes = 0;
    std::uint64_t evicted_blobs = 0, evicted_bytes = 0;
    std::uint64_t bytes_written = 0, bytes_read = 0;  // through this API
  };
  Stats stats();

 private:
  struct Entry {
    std::int64_t size = 0;
    std::list<std::string>::iterator lru;  // position in lru_ (front: most recent)
  };
  // True (the write counted, the blob marked used) when `hash` is stored:
  // then the caller writes nothing.
  bool AlreadyStored(const std::string& hash, std::int64_t size);
  // REQUIRES: mu_ held.
  void UseLocked(const std::string& hash);
  void AddLocked(const std::string& hash, std::int64_t size);
  void EvictLocked(const std::string& keep);
  bool KnownLocked(const std::string& hash);
  Status Place(const std::string& tmp, const std::string& hash, std::int64_t size);

  std::string root_;
  std::int64_t max_bytes_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> index_;
  std::list<std::string> lru_;
  Stats stats_;
  std::uint64_t next_tmp_ = 0;
};

}  // namespace mergeyard::exec
