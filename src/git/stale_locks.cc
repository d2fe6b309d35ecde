#include "git/stale_locks.h"

#include <filesystem>
#include <system_error>

namespace mergeyard::git {
namespace fs = std::filesystem;

namespace {

bool IsLockFile(const fs::path& p) { return p.extension() == ".lock"; }

Status Remove(const fs::path& root, const fs::path& file, std::vector<std::string>& removed) {
  std::error_code ec;
  if (!fs::remove(file, ec) && ec) return Internal("removing stale " + file.string() + ": " + ec.message());
  removed.push_back(fs::relative(file, root, ec).string());
  return Ok();
}

}  // namespace

Result<std::vector<std::string>> RemoveStaleLockFiles(const std::string& git_dir) {
  const fs::path root(git_dir);
  std::vector<std::string> removed;
  for (const char* name : {"packed-refs", "HEAD", "config", "shallow", "FETCH_HEAD", "ORIG_HEAD"}) {
    fs::path lock = root / (std::string(name) + ".lock");
    std::error_code ec;
    if (!fs::is_regular_file(lock, ec)) continue;
    if (auto st = Remove(root, lock, removed); !st) return st.error();
  }
  for (const char* tree : {"refs", "logs"}) {
    std::error_code ec;
    if (!fs::is_directory(root / tree, ec)) continue;
    std::vector<fs::path> locks;  // collected first: removing while iterating is undefined
    for (fs::recursive_directory_iterator it(root / tree, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && IsLockFile(it->path())) locks.push_back(it->path());
    }
    if (ec) return Internal("listing " + (root / tree).string() + ": " + ec.message());
    for (const auto& lock : locks) {
      if (auto st = Remove(root, lock, removed); !st) return st.error();
    }
  }
  return removed;
}

}  // namespace mergeyard::git
