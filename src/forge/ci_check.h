#pragma once
// What a forge's CI says about one commit, the same for every forge
// (DESIGN.md section 7). A check is one named verdict on one exact SHA: a
// GitHub check run or commit status context, a GitHub Actions workflow run, a
// GitLab pipeline (named "pipeline") or job, a Gitea/Forgejo status context.
// Webhook events and polls both produce CiChecks; each forge's vocabulary is
// mapped onto CiState in one place (ci_check.cc).

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

// "check `build` failed (timed_out)" style words for a failing check.
std::string DescribeFailure(const CiCheck& c);

}  // namespace mergeyard::forge
