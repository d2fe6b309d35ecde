#pragma once
// The local forge's own CI (LocalForge::EnableCi). It watches the bare
// repository's refs/heads/mergeyard/batch/* branches and starts one run per
// new commit on them: the configured command in a fresh checkout of the
// commit, whose exit status is the verdict of every configured check. It
// keeps what it reported as the forge would (GitHub commit statuses, check
// runs and a workflow run per commit; GitLab a pipeline and its jobs; Gitea
// commit statuses), serves it on the flavour's REST routes, and sends the
// flavour's webhooks through `send`. Statuses and check runs that clients
// post are kept beside, so the REST answers hold them too.
// Thread-safe. Never calls `send` or the forge while holding its own lock.

#include <chrono>
#include <condition_variable>
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
#include <utility>
#include <vector>

#include "forge/local/local_forge.h"

namespace mergeyard::forge {

// One named verdict: a check run, a commit status or a GitLab job (or commit status).
struct LocalCiCheck {
  std::int64_t id = 0;
  std::int64_t run_id = 0;   // its workflow run / pipeline; 0 when a client posted it
  std::string sha;
  std::string name;
  std::string status;        // check run status; commit status state; GitLab job status
  std::string conclusion;    // check runs only, once completed
  std::string url;
  std::string description;
  bool check_run = false;    // GitHub: a check run rather than a commit status
};

// When a run's verdict became visible (REST and webhooks alike).
struct LocalCiVerdict {
  std::string sha;
  bool passed = false;
  std::chrono::steady_clock::time_point at;
};

// A GitHub workflow run / GitLab pipeline: one per commit.
struct LocalCiRun {
  std::int64_t id = 0;
  std::string sha;
  std::string branch;        // the batch branch it was pushed to, without refs/heads/
  std::string status;        // GitHub: in_progress/completed; GitLab: running/success/...
  std::string conclusion;    // GitHub, once completed
  std::set<std::string> pending;  // checks still without a verdict
  bool cancel_requested = false;
  bool finished = false;     // every check has its verdict, or it was cancelled
  int pgid = 0;              // the process group running now, 0 when none
  LocalCiOptions options;    // as they were when the run started
};

// An answer of a CI route.
struct LocalCiReply {
  int status = 200;
  std::string body;   // JSON
  bool more = false;  // a page of a list that goes on: the answer needs a Link rel="next"
};

class LocalCi {
 public:
  struct Site {
    LocalFlavor flavor = LocalFlavor::kGithub;
    std::string repo;
    std::string git_dir;
    std::string web_url;              // "http://127.0.0.1:P/owner/name": pages of runs and jobs
    std::int64_t installation_id = 0;
    // Delivers a webhook (the flavour's event name, the JSON body).
    std::function<int(const std::string& event, const std::string& body)> send;
  };

  explicit LocalCi(Site site);
  // Stops watching, kills the commands still running and joins every thread.
  ~LocalCi();
  LocalCi(const LocalCi&) = delete;
  LocalCi& operator=(const LocalCi&) = delete;

  // Starts watching (once); later runs use the new options.
  void Enable(LocalCiOptions options);
  void SetRequiredChecks(const std::string& branch, std::vector<std::string> names);
  std::vector<std::string> Runs();
  std::vector<std::string> Cancelled();
  std::vector<LocalCiVerdict> Verdicts();

  // What clients post (POST /statuses/:sha, POST and PATCH /check-runs).
  void RecordStatus(const std::string& sha, const std::string& context, const std::string& state,
                    const std::string& target_url, const std::string& description);
  void RecordCheckRun(std::int64_t id, const std::string& sha, const std::string& name,
                      const std::string& status, const std::string& conclusion, const std::string& url);

  // Answers a CI route of the flavour's API; `path` is without the API
  // prefix. nullopt when the route is not one of the CI's.
  std::optional<LocalCiReply> Serve(const std::string& method, const std::string& path,
                                    const std::map<std::string, std::string>& params);

 private:
  enum class Outcome { kRunning, kPassed, kFailed, kCancelled };

  void Watch();
  void StartRun(const std::string& ref, const std::string& sha);  // REQUIRES: mu_ held
  void Execute(std::int64_t run_id);
  // Runs `script` with sh -c in `cwd` as its own process group; cancelling
  // the run kills the group. The exit status, or -1 when it did not exit.
  int RunScript(std::int64_t run_id, const std::string& script, const std::string& cwd, const std::string& sha);
  bool CheckOutAndTest(std::int64_t run_id, const std::string& sha, const std::string& command);
  // Sets every check of the run that has no verdict yet (all of them for
  // kRunning; those not in never_report for kPassed/kFailed) and sends the
  // webhooks that go with it.
  void Report(std::int64_t run_id, Outcome outcome);
  // Gives check `name` of `run` the words of `outcome` (updating it or
  // adding a new object, as the forge does); the check as it now is.
  // REQUIRES: mu_ held.
  LocalCiCheck Say(const LocalCiRun& run, const std::string& name, Outcome outcome);
  // {status, conclusion} of a check run (`check_run`) or else a commit
  // status / GitLab job, in the flavour's words.
  std::pair<std::string, std::string> Words(bool check_run, Outcome outcome) const;
  // REQUIRES: mu_ held. Marks the run cancelled and kills its command; false
  // when it had already finished.
  bool CancelLocked(LocalCiRun& run);
  LocalCiRun* FindRun(std::int64_t id);  // REQUIRES: mu_ held
  std::int64_t NextId() { return next_id_++; }  // REQUIRES: mu_ held

  // Routes (local_ci_routes.cc). REQUIRES: mu_ held.
  std::optional<LocalCiReply> ServeGithub(const std::string& method, const std::vector<std::string>& parts,
                                          const std::map<std::string, std::string>& params);
  std::optional<LocalCiReply> ServeGitlab(const std::string& method, const std::vector<std::string>& parts,
                                          const std::map<std::string, std::string>& params);
  std::optional<LocalCiReply> ServeGitea(const std::string& method, const std::vector<std::string>& parts,
                                         const std::map<std::string, std::string>& params);
  std::vector<LocalCiCheck> ChecksOf(const std::string& sha, bool check_runs) const;

  const Site site_;
  std::mutex mu_;
  std::condition_variable cv_;  // wakes the watcher and runs waiting out a delay
  bool enabled_ = false;
  bool stopping_ = false;
  LocalCiOptions options_;
  std::thread watcher_;
  std::map<std::int64_t, std::thread> threads_;  // run id -> its thread
  std::vector<std::int64_t> exited_;             // runs whose thread returned
  std::map<std::string, std::string> seen_;      // batch ref -> sha last seen
  std::deque<LocalCiRun> runs_;                  // oldest first
  std::vector<LocalCiCheck> checks_;             // oldest first
  std::vector<std::string> cancelled_;
  std::vector<LocalCiVerdict> verdicts_;
  std::map<std::string, std::vector<std::string>> required_;  // branch -> check names
  std::int64_t next_id_ = 1000000;  // far from the forge's own ids
};

}  // namespace mergeyard::forge
