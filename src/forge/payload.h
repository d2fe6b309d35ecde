#pragma once
// Turns one webhook body into a forge-neutral Event. Never throws.
//
// `event` is the forge's event header: GitHub `X-GitHub-Event`, GitLab
// `X-Gitlab-Event` ("Note Hook"...), Gitea and Forgejo `X-Gitea-Event-Type`
// (or `X-Gitea-Event` when the type header is absent).
// Errors: kInvalid for malformed JSON or a body that lacks what its event
// needs; kNotFound for an event this bot does not know.

#include <string>
#include <string_view>

#include "base/result.h"
#include "forge/event.h"

namespace mergeyard::forge {

Result<Event> ParsePayload(ForgeKind kind, const std::string& event, std::string_view body,
                           RepoRef* repo = nullptr);

}  // namespace mergeyard::forge
