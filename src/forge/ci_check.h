#pragma once
// What a forge's CI says about one commit, the same for every forge
// (DESIGN.md section 7). A check is one named verdict on one exact SHA: a
// GitHub check run or commit status context, a GitHub Actions workflow run, a
// GitLab pipeline (named "pipeline") or job, a Gitea/Forgejo status context.
// Webhook events and polls both produce CiChecks; each forge's vocabulary is
// mapped onto CiState, and its CI objects read into CiChecks, in one place
// (ci_check.cc) that payload parsers and API drivers share.

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mergeyard::forge {

enum class CiState {
  kPending,  // queued, waiting, running, or not reported yet
  kSuccess,  // passed (GitHub also counts neutral and skipped as passing)
  kFailure,  // failed, errored, cancelled, timed out, action required...
};

const char* CiStateName(CiState s);  // "pending", "success", "failure"

struct CiCheck {
  std::string sha;          // the exact commit the verdict is about
  std::string name;         // check-run name / status context / job name / "pipeline"
  CiState state = CiState::kPending;
  std::string conclusion;   // the forge's own word ("timed_out", "canceled"...), for messages
  std::string url;          // the check's own page (target_url / details_url / web_url)
  bool operator==(const CiCheck&) const = default;
};

// The name GitLab's whole pipeline for a SHA is known by in `checks.required`.
inline constexpr const char* kGitlabPipelineCheck = "pipeline";

// Each forge's vocabulary, mapped in one place. Unknown words are pending
// when `completed` is false and failures when it is true. The one-word
// vocabularies (commit statuses, GitLab) carry no separate "completed": an
// unknown or empty word there is pending, left to `checks.timeout`.
//  GitHub check runs / workflow runs: status (queued, in_progress,
//    completed, waiting, requested, pending) and conclusion (success,
//    neutral, skipped -> success; failure, cancelled, timed_out,
//    action_required, stale, startup_failure -> failure).
CiState GithubCheckRunState(std::string_view status, std::string_view conclusion);
//  GitHub and Gitea/Forgejo commit statuses: pending -> pending; success ->
//    success; failure, error (Gitea also warning) -> failure; Gitea skipped -> success.
CiState CommitStatusState(std::string_view state);
//  GitLab pipelines and jobs: created, waiting_for_resource, preparing,
//    pending, running, scheduled -> pending; success -> success; failed,
//    canceled, canceling, skipped, manual -> failure.
CiState GitlabState(std::string_view status);

// A full or abbreviated lowercase hex commit id, as CI events carry them.
bool IsCommitSha(std::string_view s);

// The forges' CI objects, webhook and REST alike, as checks on `sha`:
//  a GitHub or Gitea/Forgejo commit status (`context`, `target_url`, the
//    state in `state`, or in `status` in Gitea's REST answers);
CiCheck CommitStatusCheck(const nlohmann::json& status, const std::string& sha);
//  a GitHub check run, workflow run or workflow job, on its `head_sha`
//    (else `sha`): pending until completed; the forge's word is the
//    conclusion once there is one, else the status; its page the check
//    run's `details_url`, else the object's `html_url`;
CiCheck GithubRunCheck(const nlohmann::json& run, std::string name, const std::string& sha = "");
//  a GitLab pipeline or job, from its status.
CiCheck GitlabCheck(std::string sha, std::string name, const std::string& status, std::string url);

// The newest check of each name among a forge's CI objects `items` (the one
// with the highest `id`, the first on ties; a retried job, a status posted
// again), in the order names first appear. `to_check` reads one item,
// nullopt to leave it out; nameless checks are left out too.
std::vector<CiCheck> NewestPerName(const nlohmann::json& items,
                                   const std::function<std::optional<CiCheck>(const nlohmann::json&)>& to_check);

}  // namespace mergeyard::forge
