#include "forge/ci_check.h"

#include <initializer_list>

namespace mergeyard::forge {

namespace {

bool OneOf(std::string_view word, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    if (word == w) return true;
  }
  return false;
}

}  // namespace

const char* CiStateName(CiState s) {
  switch (s) {
    case CiState::kPending: return "pending";
    case CiState::kSuccess: return "success";
    case CiState::kFailure: return "failure";
  }
  return "unknown";
}

CiState GithubCheckRunState(std::string_view status, std::string_view conclusion) {
  // A conclusion without a status only comes from a finished run.
  const bool completed = status == "completed" || (status.empty() && !conclusion.empty());
  if (!completed) return CiState::kPending;
  return OneOf(conclusion, {"success", "neutral", "skipped"}) ? CiState::kSuccess : CiState::kFailure;
}

CiState CommitStatusState(std::string_view state) {
  if (OneOf(state, {"success", "skipped"})) return CiState::kSuccess;
  if (OneOf(state, {"failure", "error", "warning"})) return CiState::kFailure;
  // "pending", nothing, or a word a newer forge invented: no verdict yet.
  return CiState::kPending;
}

CiState GitlabState(std::string_view status) {
  if (status == "success") return CiState::kSuccess;
  if (OneOf(status, {"failed", "canceled", "canceling", "skipped", "manual"})) return CiState::kFailure;
  // created, waiting_for_resource, preparing, pending, running, scheduled, or unknown.
  return CiState::kPending;
}

std::string DescribeFailure(const CiCheck& c) {
  std::string text = "check `" + c.name + "`";
  switch (c.state) {
    case CiState::kPending: text += " has no verdict yet"; break;
    case CiState::kSuccess: text += " passed"; break;
    case CiState::kFailure: text += " failed"; break;
  }
  if (!c.conclusion.empty() && c.state != CiState::kPending) text += " (" + c.conclusion + ")";
  return text;
}

}  // namespace mergeyard::forge
