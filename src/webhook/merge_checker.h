#pragma once
// Asks the git layer whether a pull request's head merges cleanly into its
// target. Declared here; app/ wires the real one (git/), tests use a fake.

#include <string>
#include <vector>

#include "base/result.h"

namespace mergeyard::webhook {

struct Mergeability {
  bool clean = true;
  std::vector<std::string> conflicting_paths;  // when not clean, if known
};

class MergeChecker {
 public:
  virtual ~MergeChecker() = default;
  // `repo` is "owner/name"; `head_sha` the pull request's head. Errors:
  // kTransient (fetch failed...) lets the delivery be retried later.
  virtual Result<Mergeability> Check(const std::string& repo, const std::string& target_branch,
                                     const std::string& head_sha) = 0;
};

}  // namespace mergeyard::webhook
