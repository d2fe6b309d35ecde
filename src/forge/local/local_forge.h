#pragma once
// A local forge: a small HTTP server on 127.0.0.1 speaking the subset of the
// GitHub, GitLab (/api/v4) or Gitea (/api/v1) REST API that mergeyard uses,
// backed by a real bare git repository (files, heads, mergeability and the
// merged flag come from git). It records what clients did, can send signed
// webhooks for the comments people write, and can inject
// 5xx, 429 with retry-after, slow answers and dropped connections. It can
// also run a CI of its own on the batch branches mergeyard pushes
// (EnableCi), reporting the way the flavour's real CI does.
// `mergeyard demo` runs on it; the tests use it as their fake forge.
// Needs the `git` command. Thread-safe.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"

namespace httplib { class Server; }

namespace mergeyard::forge {

enum class LocalFlavor { kGithub, kGitlab, kGitea };

struct LocalPull {
  std::int64_t number = 0;
  std::string head_branch;   // a branch of the fake's repository
  std::string base_branch = "main";
  bool draft = false;
  bool closed = false;
  std::string author = "alice";
  std::vector<std::string> labels;
};

struct LocalComment {
  std::int64_t id = 0;
  std::int64_t pr = 0;
  std::string body;
  std::string author;
  int edits = 0;
};

struct LocalStatus {
  std::string sha;
  std::string state;        // as sent (GitHub/Gitea: pending...; GitLab: running...; check runs: status/conclusion)
  std::string context;
  std::string description;
  std::string target_url;
  bool check_run = false;
};

// One injected misbehaviour, consumed by the next request.
struct LocalFault {
  int status = 0;            // answer this status (500, 502, 429...) instead of serving; 0: serve
  int retry_after_s = -1;    // with a retry-after header when >= 0
  int delay_ms = 0;          // sleep before answering
  bool drop = false;         // send headers, then close the connection mid-body
  std::map<std::string, std::string> headers;  // extra answer headers (x-ratelimit-*...), served answers too
  std::string body;          // the error message (default "injected fault")
};

// The local forge's CI (EnableCi). A run starts for every new commit on a
// refs/heads/mergeyard/batch/* branch (one per commit: a branch pushed again
// to a new commit runs again, a commit that already ran does not; runs are
// concurrent). GitHub flavour: check runs or commit statuses
// per check, plus one GitHub Actions workflow run per commit (named
// kLocalCiWorkflow, cancellable); webhooks check_run, check_suite, status,
// workflow_run. GitLab: a pipeline per commit whose jobs are the checks;
// webhooks Pipeline Hook and Job Hook. Gitea: commit statuses and `status`
// webhooks (no cancelling, as on Gitea).
struct LocalCiOptions {
  // Run with `sh -c` in a fresh checkout of the commit (CI_COMMIT_SHA holds
  // it); exit status 0 passes every check, anything else fails them.
  std::string command = "true";
  // The checks reported, each with the command's verdict.
  std::vector<std::string> checks = {"build", "test"};
  // The verdicts come no sooner than this after the run started (CI duration).
  int delay_ms = 0;
  // When set, the delay for the commit `sha`, instead of delay_ms.
  std::function<int(const std::string& sha)> delay_for;
  // false: verdicts are only visible through REST ("dropped webhooks").
  bool send_webhooks = true;
  // Checks that stay pending forever; their run never completes on its own.
  std::set<std::string> never_report;
  // GitHub flavour: check runs (as GitHub Actions jobs are), else commit statuses.
  bool check_runs = true;
  // How often the batch branches are looked at.
  int poll_ms = 20;
};

// The GitHub workflow run's name (a webhook `workflow_run` names it).
inline constexpr const char* kLocalCiWorkflow = "local-ci";

class LocalCi;
struct LocalCiVerdict;

class LocalForge {
 public:
  // Creates a git repository with an initial commit on `main` and starts the
  // server. `repo` is "owner/name". The repository lives in `dir` when given
  // (created; kept afterwards), else in a fresh temporary directory removed by
  // the destructor. Throws std::runtime_error when git fails; Open does not.
  LocalForge(LocalFlavor flavor, std::string repo, std::string dir = "");
  static Result<std::unique_ptr<LocalForge>> Open(LocalFlavor flavor, std::string repo, std::string dir = "");
  ~LocalForge();
  LocalForge(const LocalForge&) = delete;
  LocalForge& operator=(const LocalForge&) = delete;

  LocalFlavor flavor() const { return flavor_; }
  const std::string& repo() const { return repo_; }
  const std::string& token() const { return token_; }
  // The API base URL (GitHub "http://127.0.0.1:P", GitLab ".../api/v4", Gitea ".../api/v1").
  std::string base_url() const;
  // The (bare) repository's path: a git remote mergeyard can fetch from and push to.
  std::string git_dir() const { return dir_; }
  // Where the forge keeps pull request `number`'s head (refs/pull/N/head,
  // GitLab refs/merge-requests/N/head); AddPull and Commit keep it current.
  std::string PullRef(std::int64_t number) const;

  // --- git ---------------------------------------------------------------
  // Commits `files` (path -> content; an empty content deletes) on `branch`,
  // creating the branch from `from` (default: main) when needed. Returns the sha.
  std::string Commit(const std::string& branch, const std::map<std::string, std::string>& files,
                     const std::string& from = "main");
  std::string Tip(const std::string& branch);
  // Moves `branch` to `sha` (what the git layer's push does).
  void SetBranch(const std::string& branch, const std::string& sha);
  // git merge-tree: clean or the conflicting paths.
  bool MergesCleanly(const std::string& base_branch, const std::string& head_sha,
                     std::vector<std::string>* conflicts = nullptr);

  // --- forge state -------------------------------------------------------
  void AddPull(LocalPull pull);
  void SetPermission(const std::string& user, const std::string& level);  // admin|write|read|none
  std::int64_t UserId(const std::string& user);
  // Records a comment by a person and, once SetWebhook was called, delivers it
  // as the flavour's signed webhook: GitHub and Gitea `issue_comment`, GitLab
  // `Note Hook` (naming the pull request's head and target as those do).
  // Returns the webhook's HTTP status (0 when no webhook is set, -1 when it
  // could not be delivered).
  int AddUserComment(std::int64_t pr, const std::string& author, const std::string& body);
  // Where comments are delivered, and the secret they are signed with.
  void SetWebhook(std::string url, std::string secret);
  // Delivers any other event to the webhook, with the flavour's headers and
  // authentication: GitHub `event` in X-GitHub-Event, HMAC in
  // X-Hub-Signature-256; GitLab `event` ("Pipeline Hook"...) in
  // X-Gitlab-Event, the secret in X-Gitlab-Token; Gitea `event` in
  // X-Gitea-Event and X-Gitea-Event-Type, hex HMAC in X-Gitea-Signature.
  // The HTTP status, 0 or -1 as above.
  int SendWebhook(const std::string& event, const std::string& body);
  void InjectFaults(std::vector<LocalFault> faults);
  // GitHub App endpoints: installation id of the repository.
  std::int64_t installation_id() const { return 4242; }

  // --- CI ----------------------------------------------------------------
  // Starts the forge's CI (see LocalCiOptions); called again, it changes the
  // options of the runs that start afterwards.
  void EnableCi(LocalCiOptions options);
  // Branch protection: `branch` requires the checks `names`. GitHub serves
  // them at .../branches/{b}/protection/required_status_checks, Gitea at
  // .../branch_protections/{b}; both answer 404 for other branches.
  void SetRequiredChecks(const std::string& branch, std::vector<std::string> names);
  std::vector<std::string> CiRuns();       // commits whose run started, in order
  std::vector<std::string> CiCancelled();  // commits whose run was cancelled through the API
  std::vector<LocalCiVerdict> CiVerdicts();  // verdicts in the order they became visible

  // --- what clients did ---------------------------------------------------
  std::vector<LocalComment> Comments(std::int64_t pr);
  std::vector<LocalStatus> Statuses();
  std::vector<std::string> Labels(std::int64_t pr);
  bool IsClosed(std::int64_t pr);
  std::vector<std::string> Requests();  // "GET /repos/o/r/pulls/1", in order
  int TokensMinted();                   // GitHub App installation tokens handed out
  std::string LastJwt();

 private:
  struct Impl;
  void Route(const std::string& method, const void* req, void* res);
  // `env`: "NAME=value " assignments put before the command.
  std::string Git(const std::string& args, int* exit_code = nullptr, bool strip = true,
                  const std::string& env = "");
  // Posts a webhook with the flavour's headers, signed as it signs; the HTTP status, or -1.
  int Deliver(const std::string& url, const std::string& secret, const std::string& event,
              const std::string& body) const;

  LocalFlavor flavor_;
  std::string repo_;
  std::string token_ = "test-token";
  std::string dir_;
  bool owns_dir_ = true;
  std::string webhook_url_;
  std::string webhook_secret_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<LocalCi> ci_;
  std::thread thread_;
  std::mutex mu_;
  std::mutex git_mu_;
  std::map<std::int64_t, LocalPull> pulls_;
  std::map<std::string, std::string> permissions_;
  std::map<std::string, std::int64_t> user_ids_;
  std::vector<LocalComment> comments_;
  std::vector<LocalStatus> statuses_;
  std::map<std::int64_t, std::string> check_run_keys_;
  std::deque<LocalFault> faults_;
  std::vector<std::string> requests_;
  std::int64_t next_id_ = 1000;
  int tokens_minted_ = 0;
  std::string last_jwt_;
};

}  // namespace mergeyard::forge
