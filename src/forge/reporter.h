#pragma once
// The forge side of reporting: implements engine::ForgePort. Writes to the
// forge are a budget (GitHub: about 500 content-creating calls an hour), so
// it writes only when what a person sees changes:
// - one status comment per pull request (found again by a hidden marker after
//   a restart), written when its standing changes: queued (with a link to the
//   live dashboard), merged, kicked, removed. Testing and going back to the
//   queue are progress, shown on the dashboard. Of the comment writes still
//   queued for a pull request only the newest is made.
// - a commit status on the pull request's head (GitLab: pipeline status;
//   GitHub App: check run) when it is kicked (failure, linking the failing
//   log or check), and on landing when that clears an earlier failure of the
//   same head or the pull request is closed rather than merged;
// - a `<context>/batch` success status on each landed batch commit, once;
// - on landing, nothing more for merge (the forge marks the pull request
//   merged); for squash and rebase a comment naming the commit, the merged
//   label, and closing the pull request.
// Work runs on one background thread in order; a forge that is down delays
// it (retried with backoff), it never blocks the caller.
//
// With a journal, every job is appended to it before it is queued and marked
// done once it ran or was given up, and a new Reporter first runs the jobs its
// predecessor left pending, in order: what the engine handed over survives a
// crash. Replays are harmless: the status comment is found again by its
// marker, statuses are overwritten, and a landing that was already confirmed
// (pull request closed, or its landing comment present) is not posted again.
// Times in the text ("Waited 5m in the queue") are those of the handover.
// Replies are at least once: one whose post succeeded just before a crash is
// posted again.

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "engine/ports.h"
#include "engine/report_journal.h"
#include "engine/status_comment_index.h"
#include "forge/config_source.h"
#include "forge/directory.h"

namespace mergeyard::forge {

struct ReporterOptions {
  std::string dashboard_url = "http://127.0.0.1:8080";  // links in statuses and comments
  std::string status_context = "mergeyard";
  int max_attempts = 20;            // per job, for kTransient failures
  Duration retry_backoff = 2 * kSecond;   // doubled per attempt, capped at a minute
};

// The marker that identifies mergeyard's status comment.
inline constexpr const char* kStatusMarker = "<!-- mergeyard:status -->";

class Reporter final : public engine::ForgePort {
 public:
  // `journal` may be null (nothing survives the process); when given it must
  // outlive the Reporter, and its pending jobs are queued before any other.
  // `index` may be null (each pull request's status comment is then searched
  // for by its marker once per process); when given it must outlive the
  // Reporter, and the search is made once per pull request (and again by
  // jobs replayed from the journal when none was recorded).
  // `configs` is read for the merge method on landing, and loaded when it has
  // nothing yet for the queue (a job replayed right after a restart).
  Reporter(ForgeDirectory& forges, ConfigSource& configs, const Clock& clock,
           ReporterOptions options = {}, engine::ReportJournal* journal = nullptr,
           engine::StatusCommentIndex* index = nullptr);
  ~Reporter() override;

  // engine::ForgePort
  void Report(const engine::QueueKey& key, const queue::Report& report) override;

  // Replaces the text of the pull request's status comment (creating it once).
  void SetStatusComment(const std::string& repo, std::int64_t pr, const std::string& text);
  // Posts a separate reply (refusals, help), not the status comment.
  void Reply(const std::string& repo, std::int64_t pr, const std::string& text);

  // Waits until every job queued so far (replayed ones included) is done or
  // given up, and marked so in the journal.
  void Flush();

  // The dashboard link for a batch (or the queue when batch is 0).
  std::string DashboardLink(const std::string& repo, queue::BatchId batch) const;

 private:
  using Job = engine::ReportJob;
  void Enqueue(Job job);
  void WorkerLoop();
  // True when the job is over (done or given up); false when the Reporter is
  // stopping first (the job stays pending in the journal).
  // `superseded`: a later queued job rewrites the same status comment, so
  // this one leaves it alone (its other effects still happen).
  bool RunWithRetries(const Job& job, bool superseded);
  Status Run(const Job& job, bool superseded);
  bool SupersededLocked(const Job& job) const;  // REQUIRES: mu_ held
  // `at`: when the report was handed over.
  Status RunReport(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r, Time at, bool superseded);
  // `lands_by_closing`: the queue closes pull requests it lands (squash, rebase).
  Status SetHeadStatus(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r, Time at,
                       bool lands_by_closing);
  Status SetLandedStatus(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r);
  // The queue's configuration, read when nothing has loaded it yet; nullopt
  // when it has none that parses. Errors: kTransient.
  Result<std::optional<engine::RepoConfig>> ConfigOf(const engine::QueueKey& key);
  Status Land(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r,
              const std::optional<engine::RepoConfig>& config);
  Status UpsertStatusComment(ForgeApi& api, const std::string& repo, std::int64_t pr, const std::string& text);
  // The id of the pull request's status comment; 0 when it has none.
  // Records what it learns (0 too) in the map and the index.
  Result<std::int64_t> StatusCommentOf(ForgeApi& api, const std::string& repo, std::int64_t pr);
  void RememberStatusComment(const std::string& repo, std::int64_t pr, std::int64_t id);
  std::string Render(const engine::QueueKey& key, const queue::Report& r, Time at);
  void Sleep(Duration d);

  ForgeDirectory& forges_;
  ConfigSource& configs_;
  const Clock& clock_;
  ReporterOptions options_;
  engine::ReportJournal* journal_;  // may be null
  engine::StatusCommentIndex* index_;  // may be null
  std::int64_t last_replayed_ = 0;     // journal ids up to this were left by a predecessor
  bool replaying_ = false;             // the worker runs a replayed job (worker thread only)

  std::mutex append_mu_;  // held across journal append and queueing: ids ascend in queue order
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<engine::JournaledReportJob> jobs_;  // id 0: not journaled
  bool busy_ = false;
  bool stopping_ = false;
  std::map<std::string, std::int64_t> status_comments_;  // repo#pr -> comment id
  std::map<std::string, std::string> failed_heads_;      // repo#pr -> the head a failure status was set on
  std::deque<std::string> landed_;                       // repo@commit of batches whose status is set
  std::thread worker_;
};

}  // namespace mergeyard::forge
