#pragma once
// A content-addressed store on disk: blobs named by their SHA-256, under
// <root>/<first two hex digits>/<digest>. Writes go to a temporary file and
// are renamed into place, so readers never see a partial blob. Thread-safe.

#include <string>

#include "base/result.h"

namespace mergeyard::exec {

class ContentStore {
 public:
  explicit ContentStore(std::string root) : root_(std::move(root)) {}
  Status Open();  // creates the root
  Result<std::string> Put(const std::string& bytes);
  Result<std::string> PutFile(const std::string& path);
  Result<std::string> Get(const std::string& digest) const;
  bool Has(const std::string& digest) const;
  std::string PathOf(const std::string& digest) const;

 private:
  std::string root_;
};

}  // namespace mergeyard::exec
