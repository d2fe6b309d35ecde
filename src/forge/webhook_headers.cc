#include "forge/webhook_headers.h"

#include <openssl/sha.h>

#include "forge/signature.h"

namespace mergeyard::forge {

namespace {

std::string BodyDigest(std::string_view body) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), md);
  static const char* kHex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned char c : md) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::string FirstOf(const HeaderLookup& header, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    std::string v = header(n);
    if (!v.empty()) return v;
  }
  return "";
}

}  // namespace

const char* SignatureHeader(ForgeKind kind) {
  switch (kind) {
    case ForgeKind::kGithub: return "X-Hub-Signature-256";
    case ForgeKind::kGitlab: return "X-Gitlab-Token";
    case ForgeKind::kGitea: return "X-Gitea-Signature";
    case ForgeKind::kForgejo: return "X-Forgejo-Signature";
  }
  return "";
}

const char* DeliveryHeader(ForgeKind kind) {
  switch (kind) {
    case ForgeKind::kGithub: return "X-GitHub-Delivery";
    case ForgeKind::kGitlab: return "Idempotency-Key";
    case ForgeKind::kGitea: return "X-Gitea-Delivery";
    case ForgeKind::kForgejo: return "X-Forgejo-Delivery";
  }
  return "";
}

const char* EventHeader(ForgeKind kind) {
  switch (kind) {
    case ForgeKind::kGithub: return "X-GitHub-Event";
    case ForgeKind::kGitlab: return "X-Gitlab-Event";
    case ForgeKind::kGitea: return "X-Gitea-Event-Type";
    case ForgeKind::kForgejo: return "X-Forgejo-Event-Type";
  }
  return "";
}

WebhookMeta ReadWebhookHeaders(ForgeKind route, const HeaderLookup& header, std::string_view body) {
  WebhookMeta m;
  m.kind = route;
  switch (route) {
    case ForgeKind::kGithub:
      m.event = header("X-GitHub-Event");
      m.delivery_id = header("X-GitHub-Delivery");
      m.signature = header("X-Hub-Signature-256");
      break;
    case ForgeKind::kGitlab:
      m.event = header("X-Gitlab-Event");
      m.delivery_id = FirstOf(header, {"Idempotency-Key", "X-Gitlab-Event-UUID"});
      m.signature = header("X-Gitlab-Token");
      break;
    case ForgeKind::kGitea:
    case ForgeKind::kForgejo: {
      const bool forgejo = !header("X-Forgejo-Event").empty() ||
                           !header("X-Forgejo-Event-Type").empty() ||
                           !header("X-Forgejo-Signature").empty();
      m.kind = forgejo ? ForgeKind::kForgejo : ForgeKind::kGitea;
      m.event = forgejo ? FirstOf(header, {"X-Forgejo-Event-Type", "X-Gitea-Event-Type",
                                           "X-Forgejo-Event", "X-Gitea-Event"})
                        : FirstOf(header, {"X-Gitea-Event-Type", "X-Gitea-Event"});
      m.delivery_id = forgejo ? FirstOf(header, {"X-Forgejo-Delivery", "X-Gitea-Delivery"})
                              : header("X-Gitea-Delivery");
      m.signature = forgejo ? FirstOf(header, {"X-Forgejo-Signature", "X-Gitea-Signature"})
                            : header("X-Gitea-Signature");
      break;
    }
  }
  if (m.delivery_id.empty()) m.delivery_id = BodyDigest(body);
  return m;
}

bool VerifyWebhook(const WebhookMeta& meta, std::string_view secret, std::string_view body) {
  switch (meta.kind) {
    case ForgeKind::kGithub: return VerifyGithubSignature(secret, body, meta.signature);
    case ForgeKind::kGitlab: return VerifyGitlabToken(secret, meta.signature);
    case ForgeKind::kGitea:
    case ForgeKind::kForgejo: return VerifyGiteaSignature(secret, body, meta.signature);
  }
  return false;
}

}  // namespace mergeyard::forge
