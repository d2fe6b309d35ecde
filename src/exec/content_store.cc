#include "exec/content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "exec/sha256_stream.h"

namespace mergeyard::exec {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kChunk = 1 << 20;

// Streams `path` through SHA-256, and into `copy_to` when that is an open
// file; the hash and size of what was read, or an error.
Result<std::pair<std::string, std::int64_t>> HashFile(const std::string& path, int copy_to = -1) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  Sha256Stream sha;
  // Sized to the file: most are logs and small outputs, and a fresh
  // executor thread would fault in a whole chunk for each.
  struct stat st;
  const std::size_t want = fstat(fd, &st) == 0 ? static_cast<std::size_t>(st.st_size) + 1 : kChunk;
  std::string buf(std::min(want, kChunk), '\0');
  std::int64_t size = 0;
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return Internal("cannot read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    sha.Update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    if (copy_to >= 0 && write(copy_to, buf.data(), static_cast<std::size_t>(n)) != n) {
      close(fd);
      return Internal("cannot copy " + path + ": " + std::strerror(errno));
    }
    size += n;
  }
  close(fd);
  return std::make_pair(sha.Finish(), size);
}

}  // namespace

bool IsSha256Hex(std::string_view d) {
  if (d.size() != 64) return false;
  return std::all_of(d.begin(), d.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status ContentStore::Open() {
  std::error_code ec;
  fs::create_directories(root_ + "/tmp", ec);
  if (ec) return Internal("cannot create " + root_ + ": " + ec.message());
  for (const auto& e : fs::directory_iterator(root_ + "/tmp", ec)) fs::remove(e.path(), ec);
  struct Found {
    fs::file_time_type mtime;
    std::string hash;
    std::int64_t size;
  };
  std::vector<Found> found;
  for (const auto& dir : fs::directory_iterator(root_, ec)) {
    if (!dir.is_directory() || dir.path().filename().string().size() != 2) continue;
    for (const auto& f : fs::directory_iterator(dir.path(), ec)) {
      std::string name = f.path().filename().string();
      if (!IsSha256Hex(name)) {
        fs::remove(f.path(), ec);  // an interrupted write of the old layout
        continue;
      }
      found.push_back({f.last_write_time(ec), name, static_cast<std::int64_t>(f.file_size(ec))});
    }
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  std::lock_guard<std::mutex> lock(mu_);
  index_.clear();
  lru_.clear();
  stats_.bytes = stats_.blobs = 0;
  for (const auto& f : found) AddLocked(f.hash, f.size);
  EvictLocked("");
  return Ok();
}

std::string ContentStore::PathOf(const std::string& hash) const {
  return root_ + "/" + hash.substr(0, 2) + "/" + hash;
}

std::string ContentStore::NewTempPath() {
  std::lock_guard<std::mutex> lock(mu_);
  return root_ + "/tmp/" + std::to_string(getpid()) + "." + std::to_string(next_tmp_++);
}

void ContentStore::AddLocked(const std::string& hash, std::int64_t size) {
  lru_.push_front(hash);
  index_[hash] = Entry{size, lru_.begin()};
  stats_.bytes += size;
  stats_.blobs += 1;
}

void ContentStore::UseLocked(const std::string& hash) {
  auto it = index_.find(hash);
  if (it != index_.end()) lru_.splice(lru_.begin(), lru_, it->second.lru);
}

bool ContentStore::AlreadyStored(const std::string& hash, std::int64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!KnownLocked(hash)) return false;
  UseLocked(hash);
  stats_.bytes_written += static_cast<std::uint64_t>(size);
  return true;
}

bool ContentStore::KnownLocked(const std::string& hash) {
  if (index_.count(hash)) return true;
  // Written by another process sharing the directory since Open.
  struct stat st;
  if (stat(PathOf(hash).c_str(), &st) != 0) return false;
  AddLocked(hash, st.st_size);
  return true;
}

void ContentStore::EvictLocked(const std::string& keep) {
  if (max_bytes_ <= 0 || stats_.bytes <= max_bytes_) return;
  std::int64_t target = max_bytes_ / 10 * 9;
  auto it = lru_.end();
  while (stats_.bytes > target && it != lru_.begin()) {
    --it;
    if (*it == keep) continue;
    std::string hash = *it;
    std::int64_t size = index_[hash].size;
    it = lru_.erase(it);
    index_.erase(hash);
    unlink(PathOf(hash).c_str());
    stats_.bytes -= size;
    stats_.blobs -= 1;
    stats_.evicted_blobs += 1;
    stats_.evicted_bytes += static_cast<std::uint64_t>(size);
  }
}

Status ContentStore::Place(const std::string& tmp, const std::string& hash, std::int64_t size) {
  std::string path = PathOf(hash);
  const std::string parent = root_ + "/" + hash.substr(0, 2);
  if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
    int err = errno;
    unlink(tmp.c_str());
    return Internal("cannot create store directory " + parent + ": " + std::strerror(err));
  }
  chmod(tmp.c_str(), 0444);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.bytes_written += static_cast<std::uint64_t>(size);
  if (KnownLocked(hash)) {
    unlink(tmp.c_str());
    UseLocked(hash);
    return Ok();
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Internal("cannot store blob: " + std::string(std::strerror(err)));
  }
  AddLocked(hash, size);
  EvictLocked(hash);
  return Ok();
}

Result<std::string> ContentStore::Put(std::string_view bytes) {
  std::string hash = Sha256Of(bytes);
  if (AlreadyStored(hash, static_cast<std::int64_t>(bytes.size()))) return hash;
  std::string tmp = NewTempPath();
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      unlink(tmp.c_str());
      return Internal("cannot write " + tmp);
    }
  }
  if (Status s = Place(tmp, hash, static_cast<std::int64_t>(bytes.size())); !s) return s.error();
  return hash;
}

Result<std::string> ContentStore::PutFile(const std::string& path) {
  std::error_code ec;
  auto source = HashFile(path);
  if (!source) return fs::exists(path, ec) ? Result<std::string>(source.error()) : Put("");
  if (AlreadyStored(source->first, source->second)) return source->first;  // a new file is dear (bench/reapi)
  // The copy is hashed as it is read: the file may have grown meanwhile.
  std::string tmp = NewTempPath();
  const int out = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) return Internal("cannot create " + tmp + ": " + std::strerror(errno));
  auto hashed = HashFile(path, out);
  close(out);
  if (!hashed) {
    unlink(tmp.c_str());
    return hashed.error();
  }
  if (Status s = Place(tmp, hashed->first, hashed->second); !s) return s.error();
  return hashed->first;
}

Result<std::string> ContentStore::TakeFile(const std::string& path) {
  auto hashed = HashFile(path);
  if (!hashed) return Put("");  // absent: the empty blob, as PutFile
  if (AlreadyStored(hashed->first, hashed->second)) return hashed->first;
  std::string tmp = NewTempPath();
  if (link(path.c_str(), tmp.c_str()) != 0) return PutFile(path);  // another file system
  if (Status s = Place(tmp, hashed->first, hashed->second); !s) return s.error();
  return hashed->first;
}

Status ContentStore::AdoptHashed(const std::string& tmp_path, const std::string& hash, std::int64_t size) {
  struct stat st;
  if (stat(tmp_path.c_str(), &st) != 0 || st.st_size != size) {
    unlink(tmp_path.c_str());
    return Invalid("the data has " + std::to_string(st.st_size) + " bytes, not " + std::to_string(size));
  }
  return Place(tmp_path, hash, size);
}

Status ContentStore::Adopt(const std::string& tmp_path, const std::string& hash, std::int64_t size) {
  auto hashed = HashFile(tmp_path);
  if (!hashed) {
    unlink(tmp_path.c_str());
    return hashed.error();
  }
  if (hashed->first != hash || hashed->second != size) {
    unlink(tmp_path.c_str());
    return Invalid("the data has SHA-256 " + hashed->first + " and size " +
                   std::to_string(hashed->second) + ", not " + hash + "/" + std::to_string(size));
  }
  return Place(tmp_path, hash, size);
}

Result<std::string> ContentStore::Get(const std::string& hash) { return Read(hash, 0, 0); }

Result<std::string> ContentStore::Read(const std::string& hash, std::int64_t offset, std::int64_t limit) {
  if (!IsSha256Hex(hash)) return NotFound("no such blob");
  int fd = open(PathOf(hash).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("no blob " + hash);
  struct stat st;
  fstat(fd, &st);
  if (offset < 0 || offset > st.st_size) {
    close(fd);
    return Invalid("offset " + std::to_string(offset) + " is beyond the blob's " +
                   std::to_string(st.st_size) + " bytes");
  }
  std::int64_t n = st.st_size - offset;
  if (limit > 0 && limit < n) n = limit;
  std::string out(static_cast<std::size_t>(n), '\0');
  std::int64_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, out.data() + got, static_cast<std::size_t>(n - got), offset + got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += r;
  }
  close(fd);
  if (got != n) return Internal("short read of blob " + hash);
  std::lock_guard<std::mutex> lock(mu_);
  UseLocked(hash);
  stats_.bytes_read += static_cast<std::uint64_t>(n);
  return out;
}

bool ContentStore::Has(const std::string& hash) {
  if (!IsSha256Hex(hash)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (!KnownLocked(hash)) return false;
  UseLocked(hash);
  return true;
}

std::optional<std::int64_t> ContentStore::SizeOf(const std::string& hash) {
  if (!IsSha256Hex(hash)) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  if (!KnownLocked(hash)) return std::nullopt;
  UseLocked(hash);
  return index_[hash].size;
}

std::vector<std::optional<std::int64_t>> ContentStore::SizesOf(const std::vector<std::string>& hashes) {
  std::vector<std::optional<std::int64_t>> out;
  out.reserve(hashes.size());
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& h : hashes) {
    if (!IsSha256Hex(h) || !KnownLocked(h)) {
      out.push_back(std::nullopt);
      continue;
    }
    UseLocked(h);
    out.push_back(index_[h].size);
  }
  return out;
}

void ContentStore::NoteRead(std::int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.bytes_read += static_cast<std::uint64_t>(bytes);
}

ContentStore::Stats ContentStore::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.max_bytes = max_bytes_;
  return s;
}

}  // namespace mergeyard::exec
