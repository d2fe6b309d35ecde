#pragma once
// engine::MergeChecker on the git mirrors: merges the pull request's head
// onto the target tip the queue knows, with the queue's merge method. When
// the queue has no tip yet (first contact), it asks the remote and tells the
// queue with TargetMoved, posted before the caller's Enqueue.

#include "engine/engine.h"
#include "forge/config_source.h"
#include "git/mirror_git_port.h"
#include "engine/merge_checker.h"

namespace mergeyard::app {

class GitMergeChecker final : public engine::MergeChecker {
 public:
  // Every reference must outlive the checker.
  GitMergeChecker(git::MirrorGitPort& git, engine::Engine& engine, const forge::ConfigSource& configs)
      : git_(git), engine_(engine), configs_(configs) {}

  // Errors: kTransient when the remote cannot be reached (the delivery is
  // retried), kNotFound when the target branch does not exist.
  Result<engine::Mergeability> Check(const std::string& repo, const std::string& target_branch,
                                      std::int64_t pr, const std::string& head_sha) override;

 private:
  git::MirrorGitPort& git_;
  engine::Engine& engine_;
  const forge::ConfigSource& configs_;
};

}  // namespace mergeyard::app
