#include "forge/admission.h"

namespace mergeyard::forge {

Result<Admission> Admitter::Admit(ForgeApi& api, const std::string& repo, std::int64_t pr, int priority,
                                  bool priority_given, const std::string& actor) {
  auto info = api.GetPullRequest(repo, pr);
  if (!info.ok()) return info.error();
  Admission a;
  a.key = {repo, info->base_branch};
  a.head_sha = info->head_sha;
  a.priority = priority;
  if (!info->open) {
    a.refusal = info->merged ? Refusal::kMerged : Refusal::kClosed;
    return a;
  }
  if (info->draft) {
    a.refusal = Refusal::kDraft;
    return a;
  }
  auto loaded = configs_.Load(repo, info->base_branch);
  if (!loaded.ok()) return loaded.error();
  if (!loaded->present) {
    a.refusal = Refusal::kNotOptedIn;
    return a;
  }
  if (!loaded->parse.ok()) {
    a.config_errors = loaded->parse.ErrorsText();
    if (!configs_.LastGood(repo, info->base_branch)) {
      a.refusal = Refusal::kInvalidConfig;
      return a;
    }
  }
  auto merge = merges_.Check(repo, info->base_branch, pr, info->head_sha);
  if (!merge.ok()) return merge.error();
  if (!merge->clean) {
    a.refusal = Refusal::kConflicts;
    a.conflicting_paths = merge->conflicting_paths;
    return a;
  }
  // The queue's settings go first, so that the entry forms batches by them;
  // a refused pull request posts nothing.
  if (loaded->parse.ok()) {
    if (Status st = SyncConfig(a.key, *loaded); !st.ok()) return st.error();
  }
  if (Status st = sink_.PostDurable(a.key, queue::Enqueue{pr, info->head_sha, priority, priority_given, actor});
      !st.ok()) {
    return st.error();
  }
  return a;
}

Status Admitter::SyncConfig(const engine::QueueKey& key, const LoadedConfig& loaded) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = config_blob_posted_.find(key);
    if (!loaded.blob_id.empty() && it != config_blob_posted_.end() && it->second == loaded.blob_id) return Ok();
  }
  if (Status st = sink_.PostDurable(key, queue::ConfigChanged{loaded.parse.config.queue}); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  config_blob_posted_[key] = loaded.blob_id;
  return Ok();
}

bool Admitter::KnowsQueue(const engine::QueueKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_blob_posted_.count(key) > 0;
}

}  // namespace mergeyard::forge
