#pragma once
// The one admission path into a queue, used by the `!integrate` comment
// command (webhook/) and the admin API's enqueue (api/) alike. A pull
// request is admitted when it is open, not a draft, its target branch has a
// valid `.mergeyard.yml` (or an invalid one with a last good configuration
// kept), and it merges cleanly onto the target; then the queue's settings
// (when the file changed) and the Enqueue are posted durably. A refusal
// posts nothing. Each caller
// words a refusal for its own medium (a reply, an HTTP error).

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/merge_checker.h"
#include "engine/ports.h"
#include "forge/config_source.h"
#include "forge/forge_api.h"

namespace mergeyard::forge {

enum class Refusal {
  kNone,
  kMerged,         // already merged
  kClosed,
  kDraft,
  kNotOptedIn,     // the target branch has no .mergeyard.yml
  kInvalidConfig,  // invalid, and no last good configuration: `config_errors`
  kConflicts,      // does not merge cleanly: `conflicting_paths` when known
};

struct Admission {
  Refusal refusal = Refusal::kNone;  // kNone: admitted
  engine::QueueKey key;              // the queue (repo and the pull request's target branch)
  std::string head_sha;              // the head that was (or would have been) pinned
  int priority = 0;                  // the priority asked for (when admitted)
  std::string config_errors;         // kInvalidConfig, or admitted under the last good configuration
  std::vector<std::string> conflicting_paths;
  bool admitted() const { return refusal == Refusal::kNone; }
};

class Admitter {
 public:
  Admitter(ConfigSource& configs, engine::MergeChecker& merges, engine::EventSink& sink)
      : configs_(configs), merges_(merges), sink_(sink) {}

  // Checks pull request `pr` of `repo` and, when it may join, enqueues it.
  // `priority_given` false keeps the priority of an entry already queued
  // (queue::Enqueue). Errors (forge, git, or the queue not confirming the
  // event): kNotFound for an unknown pull request, else as the forge or the
  // sink answered (kTransient: try again; nothing was enqueued).
  // `actor`: who asked, named in the queued report ("" for none).
  Result<Admission> Admit(ForgeApi& api, const std::string& repo, std::int64_t pr, int priority,
                          bool priority_given, const std::string& actor = "");

  // Posts the queue's settings (ConfigChanged) durably unless this blob was
  // already posted for the queue: pushes to the target use it too.
  Status SyncConfig(const engine::QueueKey& key, const LoadedConfig& loaded);
  // Whether SyncConfig posted some configuration for the queue already.
  bool KnowsQueue(const engine::QueueKey& key) const;

 private:
  ConfigSource& configs_;
  engine::MergeChecker& merges_;
  engine::EventSink& sink_;
  mutable std::mutex mu_;
  std::map<engine::QueueKey, std::string> config_blob_posted_;  // one per queue: bounded by queues
};

}  // namespace mergeyard::forge
