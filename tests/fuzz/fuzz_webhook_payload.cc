// Fuzz target: webhook header reading, signature checks and payload parsing.
// Input: one selector byte (forge and event), then the raw body.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "forge/payload.h"
#include "forge/webhook_headers.h"

using namespace mergeyard::forge;

namespace {

struct Case {
  ForgeKind route;
  const char* header;
  const char* event;
};

const Case kCases[] = {
    {ForgeKind::kGithub, "X-GitHub-Event", "issue_comment"},
    {ForgeKind::kGithub, "X-GitHub-Event", "pull_request"},
    {ForgeKind::kGithub, "X-GitHub-Event", "push"},
    {ForgeKind::kGithub, "X-GitHub-Event", "check_suite"},
    {ForgeKind::kGitlab, "X-Gitlab-Event", "Note Hook"},
    {ForgeKind::kGitlab, "X-Gitlab-Event", "Merge Request Hook"},
    {ForgeKind::kGitlab, "X-Gitlab-Event", "Push Hook"},
    {ForgeKind::kGitea, "X-Gitea-Event-Type", "pull_request_comment"},
    {ForgeKind::kGitea, "X-Gitea-Event-Type", "issue_comment"},
    {ForgeKind::kGitea, "X-Gitea-Event-Type", "pull_request_sync"},
    {ForgeKind::kGitea, "X-Gitea-Event-Type", "pull_request"},
    {ForgeKind::kGitea, "X-Gitea-Event-Type", "push"},
    {ForgeKind::kGitea, "X-Forgejo-Event-Type", "push"},
    {ForgeKind::kGithub, "X-GitHub-Event", "unknown"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Case& c = kCases[data[0] % (sizeof(kCases) / sizeof(kCases[0]))];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::map<std::string, std::string> headers = {{c.header, c.event}, {"X-Hub-Signature-256", "sha256=00"},
                                                {"X-Gitea-Signature", body.substr(0, 64)}};
  const WebhookMeta meta = ReadWebhookHeaders(
      c.route, [&](const std::string& n) { return headers.count(n) ? headers[n] : std::string(); }, body);
  (void)VerifyWebhook(meta, "secret", body);
  RepoRef repo;
  auto event = ParsePayload(meta.kind, meta.event, body, &repo);
  if (event.ok()) (void)Describe(*event);
  return 0;
}
