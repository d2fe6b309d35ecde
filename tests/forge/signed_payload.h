#pragma once
// Webhook bodies signed as each forge signs them and parsed as the listener
// does, for the payload tests.

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "forge/payload.h"
#include "forge/signature.h"
#include "forge/webhook_headers.h"

namespace mergeyard::testing {

inline constexpr const char* kFixtureSecret = "fixture-secret";

// Adds to `headers` the signature a forge would send with `body`, verifies
// the exact bytes (and that another secret or a changed body fails), then
// parses; `what` names the body in messages.
inline forge::Event ParseSignedBody(forge::ForgeKind route, const std::string& body,
                                    std::map<std::string, std::string> headers, const std::string& what) {
  const std::string hex = forge::HmacSha256Hex(kFixtureSecret, body);
  if (route == forge::ForgeKind::kGithub) headers["X-Hub-Signature-256"] = "sha256=" + hex;
  if (route == forge::ForgeKind::kGitlab) headers["X-Gitlab-Token"] = kFixtureSecret;
  if (route == forge::ForgeKind::kGitea) {
    headers["X-Gitea-Signature"] = hex;
    if (headers.count("X-Forgejo-Event")) headers["X-Forgejo-Signature"] = hex;
  }
  const forge::WebhookMeta meta = forge::ReadWebhookHeaders(
      route, [&](const std::string& n) { return headers.count(n) ? headers[n] : ""; }, body);
  REQUIRE(forge::VerifyWebhook(meta, kFixtureSecret, body));
  CHECK_FALSE(forge::VerifyWebhook(meta, "another-secret", body));
  if (route != forge::ForgeKind::kGitlab) CHECK_FALSE(forge::VerifyWebhook(meta, kFixtureSecret, body + " "));
  auto ev = forge::ParsePayload(meta.kind, meta.event, body);
  REQUIRE_MESSAGE(ev.ok(), (what + ": " + (ev.ok() ? "" : ev.error().ToString())));
  return *ev;
}

}  // namespace mergeyard::testing
