#include "exec/scratch_pool.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mergeyard::exec {
namespace fs = std::filesystem;

void RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (!ec) return;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path, ec);
}

namespace {

// An empty regular file no other path links to: truncating it later
// changes nothing anyone else sees (a file taken into a content store is
// linked there too).
bool PrivateEmptyFile(const fs::path& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 && st.st_nlink == 1;
}

// Empties `dir` but keeps its top-level directories (emptied) and private
// empty files. False when something else is left behind.
bool Empty(const std::string& dir) {
  std::error_code ec;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  std::vector<fs::path> top;
  for (const auto& e : fs::directory_iterator(dir, ec)) top.push_back(e.path());
  if (ec) return false;
  for (const auto& p : top) {
    if (!fs::is_directory(fs::symlink_status(p, ec))) {
      if (!PrivateEmptyFile(p)) fs::remove(p, ec);
      continue;
    }
    fs::permissions(p, fs::perms::owner_all, fs::perm_options::add, ec);
    std::vector<fs::path> children;
    for (const auto& c : fs::directory_iterator(p, ec)) children.push_back(c.path());
    for (const auto& c : children) RemoveTree(c.string());
  }
  for (const auto& p : top) {
    const auto st = fs::symlink_status(p, ec);
    if (!fs::exists(st) || PrivateEmptyFile(p)) continue;
    if (!fs::is_directory(st) || !fs::is_empty(p, ec)) return false;
  }
  return true;
}

}  // namespace

ScratchPool::ScratchPool(std::string parent, std::string prefix)
    : parent_(std::move(parent)), prefix_(std::move(prefix)) {}

Result<std::string> ScratchPool::Acquire() {
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      dir = std::move(idle_.back());
      idle_.pop_back();
      return dir;
    }
    dir = parent_ + "/" + prefix_ + std::to_string(made_++);
  }
  std::error_code ec;
  fs::create_directories(parent_, ec);
  if (mkdir(dir.c_str(), 0755) == 0) return dir;
  if (errno == EEXIST && Empty(dir)) return dir;  // an earlier process's
  RemoveTree(dir);
  if (mkdir(dir.c_str(), 0755) == 0) return dir;
  return Internal("cannot create scratch directory " + dir + ": " + std::strerror(errno));
}

void ScratchPool::Release(const std::string& dir) {
  if (!Empty(dir)) {
    RemoveTree(dir);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(dir);
}

}  // namespace mergeyard::exec
