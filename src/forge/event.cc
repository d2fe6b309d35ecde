#include "forge/event.h"

namespace mergeyard::forge {

const char* ForgeKindName(ForgeKind kind) {
  switch (kind) {
    case ForgeKind::kGithub: return "github";
    case ForgeKind::kGitlab: return "gitlab";
    case ForgeKind::kGitea: return "gitea";
    case ForgeKind::kForgejo: return "forgejo";
  }
  return "unknown";
}

bool ParseForgeKind(const std::string& text, ForgeKind* out) {
  for (ForgeKind k : {ForgeKind::kGithub, ForgeKind::kGitlab, ForgeKind::kGitea, ForgeKind::kForgejo}) {
    if (text == ForgeKindName(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

namespace {
struct Describer {
  std::string operator()(const Ignored& e) const { return "ignored: " + e.reason; }
  std::string operator()(const CommentCreated& e) const {
    return "comment " + e.repo.full_name + "#" + std::to_string(e.pr) + " by " + e.author;
  }
  std::string operator()(const PullRequestUpdated& e) const {
    return "pull request " + e.repo.full_name + "#" + std::to_string(e.pr) + " head " + e.head_sha;
  }
  std::string operator()(const PullRequestClosed& e) const {
    return "pull request " + e.repo.full_name + "#" + std::to_string(e.pr) +
           (e.merged ? " merged" : " closed");
  }
  std::string operator()(const Push& e) const {
    return "push " + e.repo.full_name + ":" + e.branch + " " + e.after +
           (e.config_changed ? " (config changed)" : "");
  }
  // "ci owner/name: build success @ec26c3e5, test pending @ec26c3e5; poll 3484a3fb"
  std::string operator()(const CiReported& e) const {
    std::string text = "ci " + e.repo.full_name + ":";
    const char* sep = " ";
    for (const auto& c : e.checks) {
      text += sep + c.name + " " + CiStateName(c.state) + " @" + c.sha.substr(0, 8);
      sep = ", ";
    }
    if (!e.poll_shas.empty()) text += e.checks.empty() ? " poll" : "; poll";
    for (const auto& sha : e.poll_shas) text += " " + sha.substr(0, 8);
    return text;
  }
};
}  // namespace

std::string Describe(const Event& event) { return std::visit(Describer{}, event); }

}  // namespace mergeyard::forge
