#pragma once
// Webhook authenticity checks over the raw request body, in constant time.
// Secrets are never logged or returned.

#include <string>
#include <string_view>

namespace mergeyard::forge {

// Lowercase hex of HMAC-SHA256(key, message).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

// Constant-time equality (time depends only on the lengths).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// GitHub: header `X-Hub-Signature-256: sha256=<hex>`.
bool VerifyGithubSignature(std::string_view secret, std::string_view body,
                           std::string_view header);

// Gitea / Forgejo: header `X-Gitea-Signature` / `X-Forgejo-Signature: <hex>` (no prefix).
bool VerifyGiteaSignature(std::string_view secret, std::string_view body, std::string_view header);

// GitLab: header `X-Gitlab-Token: <secret>`, compared in constant time.
bool VerifyGitlabToken(std::string_view secret, std::string_view header);

}  // namespace mergeyard::forge
