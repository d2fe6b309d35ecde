#include "forge/ci_check.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <map>
#include <utility>

#include "forge/json_fields.h"

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

bool IsCommitSha(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

CiCheck CommitStatusCheck(const nlohmann::json& status, const std::string& sha) {
  const std::string state = GetString(status, "state", GetString(status, "status"));
  return {sha, GetString(status, "context"), CommitStatusState(state), state, GetString(status, "target_url")};
}

CiCheck GithubRunCheck(const nlohmann::json& run, std::string name, const std::string& sha) {
  const std::string status = GetString(run, "status");
  const std::string conclusion = GetString(run, "conclusion");
  return {GetString(run, "head_sha", sha), std::move(name), GithubCheckRunState(status, conclusion),
          conclusion.empty() ? status : conclusion, GetString(run, "details_url", GetString(run, "html_url"))};
}

CiCheck GitlabCheck(std::string sha, std::string name, const std::string& status, std::string url) {
  return {std::move(sha), std::move(name), GitlabState(status), status, std::move(url)};
}

std::vector<CiCheck> NewestPerName(const nlohmann::json& items,
                                   const std::function<std::optional<CiCheck>(const nlohmann::json&)>& to_check) {
  std::map<std::string, std::pair<size_t, std::int64_t>> at;  // name -> {index in out, id}
  std::vector<CiCheck> out;
  if (!items.is_array()) return out;
  for (const auto& item : items) {
    std::optional<CiCheck> check = to_check(item);
    if (!check || check->name.empty()) continue;
    const std::int64_t id = GetInt(item, "id");
    const auto [it, first] = at.try_emplace(check->name, out.size(), id);
    if (first) {
      out.push_back(std::move(*check));
    } else if (id > it->second.second) {
      out[it->second.first] = std::move(*check);
      it->second.second = id;
    }
  }
  return out;
}

}  // namespace mergeyard::forge
