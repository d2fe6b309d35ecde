#include "exec/content_store.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "exec/core/sha256.h"

namespace mergeyard::exec {
namespace fs = std::filesystem;

namespace {
bool ValidDigest(const std::string& d) {
  if (d.size() != 64) return false;
  for (char c : d)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
}  // namespace

Status ContentStore::Open() {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return Internal("cannot create " + root_ + ": " + ec.message());
  return Ok();
}

std::string ContentStore::PathOf(const std::string& digest) const {
  return root_ + "/" + digest.substr(0, 2) + "/" + digest;
}

Result<std::string> ContentStore::Put(const std::string& bytes) {
  static std::atomic<unsigned long> counter{0};
  std::string digest = core::Sha256Hex(bytes);
  std::string path = PathOf(digest);
  std::error_code ec;
  if (fs::exists(path, ec)) return digest;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Internal("cannot create store directory: " + ec.message());
  std::string tmp = path + ".tmp" + std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Internal("cannot write " + tmp);
  }
  fs::rename(tmp, path, ec);
  if (ec) return Internal("cannot store blob: " + ec.message());
  return digest;
}

Result<std::string> ContentStore::PutFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Put("");
  std::stringstream ss;
  ss << in.rdbuf();
  return Put(ss.str());
}

Result<std::string> ContentStore::Get(const std::string& digest) const {
  if (!ValidDigest(digest)) return NotFound("no such blob");
  std::ifstream in(PathOf(digest), std::ios::binary);
  if (!in) return NotFound("no blob " + digest);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ContentStore::Has(const std::string& digest) const {
  std::error_code ec;
  return ValidDigest(digest) && fs::exists(PathOf(digest), ec);
}

}  // namespace mergeyard::exec
