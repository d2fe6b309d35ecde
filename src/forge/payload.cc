#include "forge/payload.h"

#include <nlohmann/json.hpp>

#include "forge/gitea/payload.h"
#include "forge/github/payload.h"
#include "forge/gitlab/payload.h"
#include "forge/json_fields.h"

namespace mergeyard::forge {

namespace {

RepoRef RepoOf(ForgeKind kind, const nlohmann::json& j) {
  if (kind == ForgeKind::kGitlab) {
    return {GetString(j, "project.path_with_namespace"), GetInt(j, "project.id", GetInt(j, "project_id")), 0};
  }
  return {GetString(j, "repository.full_name"), GetInt(j, "repository.id"), GetInt(j, "installation.id")};
}

}  // namespace

Result<Event> ParsePayload(ForgeKind kind, const std::string& event, std::string_view body,
                           RepoRef* repo) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid("malformed JSON body");
  if (!j.is_object()) return Invalid("the body must be a JSON object");
  if (repo) *repo = RepoOf(kind, j);
  try {
    switch (kind) {
      case ForgeKind::kGithub: return github::ParsePayload(event, j);
      case ForgeKind::kGitlab: return gitlab::ParsePayload(event, j);
      case ForgeKind::kGitea:
      case ForgeKind::kForgejo: return gitea::ParsePayload(event, j);
    }
  } catch (const std::exception& e) {
    return Invalid(std::string("unexpected payload: ") + e.what());
  }
  return Invalid("unknown forge");
}

}  // namespace mergeyard::forge
