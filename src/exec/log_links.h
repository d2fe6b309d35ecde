#pragma once
// Links to execution logs that work without the admin token: the link names
// the execution and carries an HMAC of it under a key that never leaves the
// server, so a pull request's author can follow the link in a kick comment
// while nobody can read (or enumerate) other logs. The key is created on first
// start and kept in a file, so links stay valid across restarts.

#include <string>

#include "base/result.h"

namespace mergeyard::exec {

class LogLinks {
 public:
  // Reads the key from `path`, creating it (0600, 32 random bytes) when missing.
  // Errors: kInternal when it can be neither read nor created.
  static Result<LogLinks> LoadOrCreate(const std::string& path);
  explicit LogLinks(std::string key) : key_(std::move(key)) {}

  // The value of the `sig` query parameter for `execution`.
  std::string Sign(const std::string& execution) const;
  // Constant time in the signature's content.
  bool Verify(const std::string& execution, const std::string& sig) const;

 private:
  std::string key_;
};

}  // namespace mergeyard::exec
