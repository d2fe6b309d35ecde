#include "git/tree_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "git/git_error.h"

namespace mergeyard::git {

namespace {

// git's canon_mode(): what a mode read from a tree means.
git_filemode_t Canonical(unsigned mode) {
  switch (mode & 0170000) {
    case 0100000: return (mode & 0100) != 0 ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
    case 0120000: return GIT_FILEMODE_LINK;
    case 0040000: return GIT_FILEMODE_TREE;
    default: return GIT_FILEMODE_COMMIT;
  }
}

std::string Hex(const git_oid& id) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof(hex), &id);
  return hex;
}

Error OsError(const std::string& what) { return Internal(what + ": " + std::strerror(errno)); }

bool WriteAll(int fd, const unsigned char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

bool ParseTreeEntry(std::string_view bytes, TreeEntry* out) {
  const char* begin = bytes.data();
  const char* p = begin;
  const char* end = begin + bytes.size();
  unsigned mode = 0;
  while (p < end && *p >= '0' && *p <= '7') {
    mode = mode * 8 + static_cast<unsigned>(*p++ - '0');
    if (p - begin > 7) return false;
  }
  if (p == begin || p == end || *p != ' ' || mode == 0 || mode > 0177777) return false;
  std::string_view text(begin, static_cast<size_t>(p - begin));
  ++p;
  const void* nul = std::memchr(p, '\0', static_cast<size_t>(end - p));
  if (nul == nullptr) return false;
  const char* name_end = static_cast<const char*>(nul);
  if (end - name_end < 1 + GIT_OID_RAWSZ) return false;
  out->name = std::string_view(p, static_cast<size_t>(name_end - p));
  out->mode = Canonical(mode);
  std::memcpy(out->id.id, name_end + 1, GIT_OID_RAWSZ);
  out->size = static_cast<size_t>(name_end + 1 + GIT_OID_RAWSZ - begin);
  std::string_view canonical_text = ModeText(out->mode);
  canonical_text.remove_suffix(1);
  out->canonical = text == canonical_text;
  return true;
}

std::string_view ModeText(git_filemode_t mode) {
  switch (mode) {
    case GIT_FILEMODE_TREE: return "40000 ";
    case GIT_FILEMODE_BLOB_EXECUTABLE: return "100755 ";
    case GIT_FILEMODE_LINK: return "120000 ";
    case GIT_FILEMODE_COMMIT: return "160000 ";
    default: return "100644 ";
  }
}

void AppendTreeEntry(std::string* out, std::string_view name, git_filemode_t mode,
                     const git_oid& id) {
  out->append(ModeText(mode));
  out->append(name);
  out->push_back('\0');
  out->append(reinterpret_cast<const char*>(id.id), GIT_OID_RAWSZ);
}

RawTree::RawTree(git_odb_object* object) : object_(object) {
  bytes_ = std::string_view(static_cast<const char*>(git_odb_object_data(object)),
                            git_odb_object_size(object));
}

RawTree::RawTree(std::string bytes) : owned_(std::move(bytes)), bytes_(owned_) {}

bool RawTree::Index() const {
  if (indexed_) return !starts_.empty();
  indexed_ = true;
  std::vector<size_t> starts;
  size_t at = 0;
  TreeEntry e;
  while (at < bytes_.size()) {
    if (!ParseTreeEntry(bytes_.substr(at), &e)) return false;
    starts.push_back(at);
    canonical_ = canonical_ && e.canonical;
    at += e.size;
  }
  starts.push_back(at);
  starts_ = std::move(starts);
  return true;
}

size_t TreeStore::OidHash::operator()(const git_oid& id) const {
  size_t h;
  std::memcpy(&h, id.id, sizeof(h));  // ids are uniformly distributed
  return h;
}

Result<std::unique_ptr<TreeStore>> TreeStore::Open(git_repository* repo) {
  git_odb* raw = nullptr;
  if (int rc = git_repository_odb(&raw, repo); rc < 0) {
    return GitFailure(rc, "opening object database");
  }
  return std::unique_ptr<TreeStore>(new TreeStore(repo, OdbPtr(raw)));
}

TreeStore::TreeStore(git_repository* repo, OdbPtr odb) : repo_(repo), odb_(std::move(odb)) {}

// Where loose objects go, looked up at the first large tree: none (write
// through libgit2) when the repository has no objects directory of its own.
bool TreeStore::CanWriteLoose() {
  if (loose_checked_) return !objects_dir_.empty();
  loose_checked_ = true;
  BufGuard path;
  struct stat st;
  if (git_repository_item_path(&path.buf, repo_, GIT_REPOSITORY_ITEM_OBJECTS) == 0 &&
      path.buf.ptr != nullptr && ::stat(path.buf.ptr, &st) == 0 && S_ISDIR(st.st_mode)) {
    objects_dir_ = path.buf.ptr;
    while (objects_dir_.size() > 1 && objects_dir_.back() == '/') objects_dir_.pop_back();
  }
  // libgit2 syncs object files when core.fsyncObjectFiles says so; so do we.
  git_config* cfg = nullptr;
  if (git_repository_config_snapshot(&cfg, repo_) == 0) {
    int v = 0;
    if (git_config_get_bool(&v, cfg, "core.fsyncObjectFiles") == 0) fsync_ = v != 0;
    git_config_free(cfg);
  }
  git_error_clear();
  return !objects_dir_.empty();
}

void TreeStore::Keep(const git_oid& id, RawTreePtr tree) {
  if (auto it = index_.find(id); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  bytes_ += tree->bytes().size();
  lru_.emplace_front(id, std::move(tree));
  index_.emplace(id, lru_.begin());
  while (bytes_ > kBudget && lru_.size() > 1) {
    bytes_ -= lru_.back().second->bytes().size();
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

Result<RawTreePtr> TreeStore::Read(const git_oid& id) {
  if (auto it = index_.find(id); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  git_odb_object* raw = nullptr;
  if (int rc = git_odb_read(&raw, odb_.get(), &id); rc < 0) {
    return GitFailure(rc, "reading tree " + Hex(id));
  }
  if (git_odb_object_type(raw) != GIT_OBJECT_TREE) {
    git_odb_object_free(raw);
    return Internal("object " + Hex(id) + " is not a tree");
  }
  auto tree = std::make_shared<const RawTree>(raw);
  Keep(id, tree);
  return RawTreePtr(tree);
}

Result<git_oid> TreeStore::Write(std::string bytes) {
  git_oid id{};
  if (bytes.size() >= kLargeTree && bytes.size() < UINT_MAX / 2 && CanWriteLoose()) {
    if (auto st = Check(git_odb_hash(&id, bytes.data(), bytes.size(), GIT_OBJECT_TREE),
                        "hashing merged tree");
        !st) {
      return st.error();
    }
    // Without rescanning the pack directory on a miss (as git_odb_write
    // does): at worst a tree packed meanwhile is written loose again.
    if (git_odb_exists_ext(odb_.get(), &id, GIT_ODB_LOOKUP_NO_REFRESH) == 1) {
      // As git_odb_write does: mark a loose copy as recently used, so that
      // a concurrent prune of old unreachable objects leaves it alone.
      std::string hex = Hex(id);
      ::utimes((objects_dir_ + "/" + hex.substr(0, 2) + "/" + hex.substr(2)).c_str(), nullptr);
    } else if (auto st = WriteStoredLoose(id, bytes); !st) {
      return st.error();
    }
  } else if (auto st = Check(git_odb_write(&id, odb_.get(), bytes.data(), bytes.size(), GIT_OBJECT_TREE),
                             "writing merged tree");
             !st) {
    return st.error();
  }
  Keep(id, std::make_shared<const RawTree>(std::move(bytes)));
  return id;
}

// A loose object as git writes it (objects/ab/cdef..., read-only, renamed
// into place from a temporary file), with a stored (level 0) zlib stream.
// libgit2's loose backend cannot do this: it treats level 0 as "no zlib".
Status TreeStore::WriteStoredLoose(const git_oid& id, std::string_view body) {
  std::string hex = Hex(id);
  std::string dir = objects_dir_ + "/" + hex.substr(0, 2);
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) return OsError("creating " + dir);
  std::string tmp = dir + "/tmp_obj_XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return OsError("creating a temporary object in " + dir);
  auto fail = [&](const std::string& what) {
    Error e = OsError(what);
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  std::string header = "tree " + std::to_string(body.size());
  header.push_back('\0');
  z_stream zs{};
  if (deflateInit(&zs, Z_NO_COMPRESSION) != Z_OK) return fail("starting zlib");
  constexpr size_t kChunk = 256 << 10;
  zbuf_.resize(kChunk);
  auto* out = reinterpret_cast<unsigned char*>(zbuf_.data());
  bool ok = true;
  auto pump = [&](std::string_view in, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    do {
      zs.next_out = out;
      zs.avail_out = kChunk;
      if (deflate(&zs, flush) == Z_STREAM_ERROR) return false;
      if (!WriteAll(fd, out, kChunk - zs.avail_out)) return false;
    } while (zs.avail_out == 0);
    return true;
  };
  ok = pump(header, Z_NO_FLUSH) && pump(body, Z_FINISH);
  deflateEnd(&zs);
  if (!ok) return fail("writing " + tmp);
  if (::fchmod(fd, 0444) != 0) return fail("setting the mode of " + tmp);
  if (fsync_ && ::fsync(fd) != 0) return fail("syncing " + tmp);
  if (::close(fd) != 0) {
    Error e = OsError("closing " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  std::string path = dir + "/" + hex.substr(2);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = OsError("renaming " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return Ok();
}

}  // namespace mergeyard::git
