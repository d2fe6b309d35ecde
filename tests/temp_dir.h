#pragma once
// A fresh directory under $TMPDIR (or /tmp), or under `base` when given,
// removed with its contents at scope exit.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace mergeyard::testing {

class TempDir {
 public:
  explicit TempDir(std::string base = "") {
    const char* tmp = std::getenv("TMPDIR");
    if (base.empty()) base = tmp && *tmp ? tmp : "/tmp";
    std::string pattern = base + "/mergeyard-test.XXXXXX";
    char* made = mkdtemp(pattern.data());
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace mergeyard::testing
