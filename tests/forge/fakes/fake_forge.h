#pragma once
// A fake forge for tests: a small HTTP server on 127.0.0.1 speaking the subset
// of the GitHub, GitLab (/api/v4) or Gitea (/api/v1) REST API that mergeyard
// uses, backed by a real git repository (files, heads, mergeability and the
// merged flag come from git), recording what clients did, and able to inject
// 5xx, 429 with retry-after, slow answers and dropped connections.
// Reusable by end-to-end tests. Thread-safe.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace httplib { class Server; }

namespace mergeyard::testing {

enum class FakeFlavor { kGithub, kGitlab, kGitea };

struct FakePull {
  std::int64_t number = 0;
  std::string head_branch;   // a branch of the fake's repository
  std::string base_branch = "main";
  bool draft = false;
  bool closed = false;
  std::string author = "alice";
  std::vector<std::string> labels;
};

struct FakeComment {
  std::int64_t id = 0;
  std::int64_t pr = 0;
  std::string body;
  std::string author;
  int edits = 0;
};

struct FakeStatus {
  std::string sha;
  std::string state;        // as sent (GitHub/Gitea: pending...; GitLab: running...; check runs: status/conclusion)
  std::string context;
  std::string description;
  std::string target_url;
  bool check_run = false;
};

// One injected misbehaviour, consumed by the next request.
struct Fault {
  int status = 0;            // answer this status (500, 502, 429...) instead of serving
  int retry_after_s = -1;    // with a retry-after header when >= 0
  int delay_ms = 0;          // sleep before answering
  bool drop = false;         // send headers, then close the connection mid-body
  std::map<std::string, std::string> headers;  // extra answer headers (x-ratelimit-*...)
  std::string body;          // the error message (default "injected fault")
};

class FakeForge {
 public:
  // Creates a git repository with an initial commit on `main` and starts the
  // server. `repo` is "owner/name".
  FakeForge(FakeFlavor flavor, std::string repo);
  ~FakeForge();
  FakeForge(const FakeForge&) = delete;
  FakeForge& operator=(const FakeForge&) = delete;

  FakeFlavor flavor() const { return flavor_; }
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
  void AddPull(FakePull pull);
  void SetPermission(const std::string& user, const std::string& level);  // admin|write|read|none
  std::int64_t UserId(const std::string& user);
  void AddUserComment(std::int64_t pr, const std::string& author, const std::string& body);
  void InjectFaults(std::vector<Fault> faults);
  // GitHub App endpoints: installation id of the repository.
  std::int64_t installation_id() const { return 4242; }

  // --- what clients did ---------------------------------------------------
  std::vector<FakeComment> Comments(std::int64_t pr);
  std::vector<FakeStatus> Statuses();
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

  FakeFlavor flavor_;
  std::string repo_;
  std::string token_ = "test-token";
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mu_;
  std::mutex git_mu_;
  std::map<std::int64_t, FakePull> pulls_;
  std::map<std::string, std::string> permissions_;
  std::map<std::string, std::int64_t> user_ids_;
  std::vector<FakeComment> comments_;
  std::vector<FakeStatus> statuses_;
  std::map<std::int64_t, std::string> check_run_keys_;
  std::deque<Fault> faults_;
  std::vector<std::string> requests_;
  std::int64_t next_id_ = 1000;
  int tokens_minted_ = 0;
  std::string last_jwt_;
};

}  // namespace mergeyard::testing
