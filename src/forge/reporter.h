#pragma once
// The forge side of reporting: implements engine::ForgePort. For each
// queue::Report it edits the pull request's one status comment (found again
// by a hidden marker after a restart), sets a commit status on the pull
// request's head (GitLab: pipeline status; GitHub App: check run) linking to
// the dashboard, and on landing confirms the merge (merge) or closes the pull
// request with a comment naming the commit and sets the merged label
// (squash, rebase). Work runs on one background thread in order; a forge that
// is down delays it (retried with backoff), it never blocks the caller.

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "engine/ports.h"
#include "forge/config_source.h"
#include "forge/directory.h"

namespace mergeyard::forge {

struct ReporterOptions {
  std::string dashboard_url = "http://127.0.0.1:8080";  // links in statuses and comments
  std::string status_context = "mergeyard";
  int max_attempts = 20;            // per job, for kTransient failures
  Duration retry_backoff = 2 * kSecond;   // doubled per attempt, capped at a minute
  int merge_confirm_attempts = 5;   // merge: how often to look for the forge's merged flag
  Duration merge_confirm_delay = 2 * kSecond;
};

// The marker that identifies mergeyard's status comment.
inline constexpr const char* kStatusMarker = "<!-- mergeyard:status -->";

class Reporter final : public engine::ForgePort {
 public:
  Reporter(ForgeDirectory& forges, const ConfigSource& configs, const Clock& clock,
           ReporterOptions options = {});
  ~Reporter() override;

  // engine::ForgePort
  void Report(const engine::QueueKey& key, const queue::Report& report) override;

  // Replaces the text of the pull request's status comment (creating it once).
  void SetStatusComment(const std::string& repo, std::int64_t pr, const std::string& text);
  // Posts a separate reply (refusals, help), not the status comment.
  void Reply(const std::string& repo, std::int64_t pr, const std::string& text);

  // Waits until every job queued so far is done or given up.
  void Flush();

  // The dashboard link for a batch (or the queue when batch is 0).
  std::string DashboardLink(const std::string& repo, queue::BatchId batch) const;

 private:
  struct Job {
    enum Kind { kReport, kStatusComment, kReply } kind = kReport;
    engine::QueueKey key;
    queue::Report report;
    std::string repo;
    std::int64_t pr = 0;
    std::string text;
  };
  void Enqueue(Job job);
  void WorkerLoop();
  void RunWithRetries(const Job& job);
  Status Run(const Job& job);
  Status RunReport(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r);
  Status Land(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r);
  Status UpsertStatusComment(ForgeApi& api, const std::string& repo, std::int64_t pr, const std::string& text);
  std::string Render(const engine::QueueKey& key, const queue::Report& r);
  void Sleep(Duration d);

  ForgeDirectory& forges_;
  const ConfigSource& configs_;
  const Clock& clock_;
  ReporterOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool busy_ = false;
  bool stopping_ = false;
  std::map<std::string, std::int64_t> status_comments_;  // repo#pr -> comment id
  std::map<std::string, Time> queued_at_;                // repo#pr -> first queued report
  std::thread worker_;
};

}  // namespace mergeyard::forge
