#pragma once
// One process per data directory. The service holds an exclusive lock on
// <data_dir>/LOCK for as long as it runs, a remote executor on its work
// directory's: a second `serve` on the same directory would land batches and
// remove git lock files (git/stale_locks.h) under the first one's feet. The
// kernel drops the lock when the process dies, kill -9 included, so a crash
// never leaves the directory locked.

#include <string>

#include "base/result.h"

namespace mergeyard::app {

class DirLock {
 public:
  // Creates `dir` if needed and locks it; kConflict naming the holder's pid
  // when another process (or another DirLock in this one) has it.
  static Result<DirLock> Acquire(const std::string& dir);

  DirLock(DirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace mergeyard::app
