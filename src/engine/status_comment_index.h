#pragma once
// Where the reporter finds the status comment it keeps on a pull request
// without listing the pull request's comments (a forge call per pull
// request). Implementations are thread-safe.

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"

namespace mergeyard::engine {

class StatusCommentIndex {
 public:
  virtual ~StatusCommentIndex() = default;
  // The id of the status comment made on `pr`, 0 when it is known to have
  // none; nullopt when nothing was recorded. Errors: kTransient when the
  // storage is busy, else kInternal.
  virtual Result<std::optional<std::int64_t>> Find(const std::string& repo, std::int64_t pr) = 0;
  // Records (or replaces) the status comment of `pr` (0: none). Errors as Find.
  virtual Status Remember(const std::string& repo, std::int64_t pr, std::int64_t comment_id) = 0;
};

}  // namespace mergeyard::engine
