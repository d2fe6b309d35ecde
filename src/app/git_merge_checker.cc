#include "app/git_merge_checker.h"

namespace mergeyard::app {

Result<engine::Mergeability> GitMergeChecker::Check(const std::string& repo, const std::string& target_branch,
                                                     std::int64_t pr, const std::string& head_sha) {
  const engine::QueueKey key{repo, target_branch};
  std::string tip;
  if (auto state = engine_.Snapshot(key)) tip = state->tip;
  if (tip.empty()) {
    auto remote = git_.RemoteTip(key);
    if (!remote.ok()) return Transient("cannot read " + target_branch + " of " + repo + ": " + remote.error().message);
    if (remote->empty()) return NotFound("the branch " + target_branch + " does not exist in " + repo);
    tip = *remote;
    engine_.Post(key, queue::TargetMoved{tip});
  }
  queue::MergeMethod method = queue::MergeMethod::kMerge;
  if (auto config = configs_.LastGood(repo, target_branch)) method = config->queue.merge_method;
  auto merged = git_.CheckMergeable(key, pr, tip, head_sha, method);
  if (!merged.ok()) {
    if (merged.error().code == ErrorCode::kNotFound || merged.error().code == ErrorCode::kInvalid) return merged.error();
    return Transient("cannot check mergeability of #" + std::to_string(pr) + ": " + merged.error().message);
  }
  return engine::Mergeability{merged->clean, merged->paths};
}

}  // namespace mergeyard::app
