#pragma once
// A port: asks the git layer whether a pull request's head merges cleanly
// into its target, for the comment command (webhook/) and admin enqueue
// (api/). Declared here; app/ wires the real one (git/), tests use fakes.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace mergeyard::engine {

struct Mergeability {
  bool clean = true;
  std::vector<std::string> conflicting_paths;  // when not clean, if known
};

class MergeChecker {
 public:
  virtual ~MergeChecker() = default;
  // Whether pull request `pr` of `repo` ("owner/name"), at `head_sha`,
  // merges onto the tip of `target_branch` as the queue knows it. Errors:
  // kTransient (fetch failed...) lets the delivery be retried later.
  virtual Result<Mergeability> Check(const std::string& repo, const std::string& target_branch,
                                     std::int64_t pr, const std::string& head_sha) = 0;
};

}  // namespace mergeyard::engine
