#include "forge/reporter.h"

#include <algorithm>

#include "base/log.h"
#include "forge/report_text.h"

namespace mergeyard::forge {

namespace {

std::string PrKey(const std::string& repo, std::int64_t pr) { return repo + "#" + std::to_string(pr); }

// Whether a report changes the pull request's standing (in the queue, landed,
// out): only those are written into the status comment. Testing and going
// back to the queue are progress, shown live on the dashboard it links to.
bool ChangesStanding(queue::ReportKind k) {
  return k != queue::ReportKind::kTesting && k != queue::ReportKind::kReturned;
}

// How many pull requests' status comment ids and failed heads are remembered.
constexpr std::size_t kPullsKept = 10000;

// How many landed batches are remembered so that their commit status is set once.
constexpr std::size_t kLandedBatchesKept = 1024;

}  // namespace

Reporter::Reporter(ForgeDirectory& forges, ConfigSource& configs, const Clock& clock,
                   ReporterOptions options, engine::ReportJournal* journal, engine::StatusCommentIndex* index)
    : forges_(forges), configs_(configs), clock_(clock), options_(std::move(options)), journal_(journal),
      index_(index) {
  while (!options_.dashboard_url.empty() && options_.dashboard_url.back() == '/') options_.dashboard_url.pop_back();
  if (journal_) {
    auto pending = journal_->Pending();
    if (!pending.ok()) {
      LOG_ERROR("cannot read the report journal; its pending jobs are not replayed",
                {{"error", pending.error().ToString()}});
    } else if (!pending->empty()) {
      LOG_INFO("replaying report jobs left pending", {{"jobs", std::to_string(pending->size())}});
      for (auto& job : *pending) {
        last_replayed_ = std::max(last_replayed_, job.id);
        jobs_.push_back(std::move(job));
      }
    }
  }
  worker_ = std::thread([this] { WorkerLoop(); });
}

Reporter::~Reporter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

std::string Reporter::DashboardLink(const std::string& repo, queue::BatchId batch) const {
  std::string url = options_.dashboard_url + "/repos/" + repo;
  if (batch > 0) url += "/batches/" + std::to_string(batch);
  return url;
}

void Reporter::Report(const engine::QueueKey& key, const queue::Report& report) {
  Job j;
  j.kind = Job::Kind::kReport;
  j.key = key;
  j.report = report;
  Enqueue(std::move(j));
}

void Reporter::SetStatusComment(const std::string& repo, std::int64_t pr, const std::string& text) {
  Job j;
  j.kind = Job::Kind::kStatusComment;
  j.repo = repo;
  j.pr = pr;
  j.text = text;
  Enqueue(std::move(j));
}

void Reporter::Reply(const std::string& repo, std::int64_t pr, const std::string& text) {
  Job j;
  j.kind = Job::Kind::kReply;
  j.repo = repo;
  j.pr = pr;
  j.text = text;
  Enqueue(std::move(j));
}

void Reporter::Enqueue(Job job) {
  job.at = clock_.Now();
  std::lock_guard<std::mutex> order(append_mu_);
  std::int64_t id = 0;
  if (journal_) {
    auto appended = journal_->Append(job);
    if (appended.ok()) {
      id = *appended;
    } else {  // still worth doing now; only a crash before it runs loses it
      LOG_WARN("report job not journaled",
               {{"error", appended.error().ToString()}, {"repo", job.Repo()}, {"pr", std::to_string(job.Pr())}});
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.push_back({id, std::move(job)});
  cv_.notify_all();
}

void Reporter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

void Reporter::Sleep(Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(d), [&] { return stopping_; });
}

void Reporter::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    engine::JournaledReportJob job = std::move(jobs_.front());
    jobs_.pop_front();
    const bool superseded = SupersededLocked(job.job);
    replaying_ = job.id != 0 && job.id <= last_replayed_;
    busy_ = true;
    lock.unlock();
    if (RunWithRetries(job.job, superseded) && job.id != 0) {
      if (Status st = journal_->Done(job.id); !st.ok()) {  // it runs again after a restart: harmless
        LOG_WARN("cannot mark a report job done", {{"error", st.error().ToString()}, {"job", std::to_string(job.id)}});
      }
    }
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

bool Reporter::SupersededLocked(const Job& job) const {
  auto writes_comment = [](const Job& j) {
    return j.kind == Job::Kind::kStatusComment ||
           (j.kind == Job::Kind::kReport && ChangesStanding(j.report.kind));
  };
  if (!writes_comment(job)) return false;
  return std::any_of(jobs_.begin(), jobs_.end(), [&](const engine::JournaledReportJob& later) {
    return writes_comment(later.job) && later.job.Repo() == job.Repo() && later.job.Pr() == job.Pr();
  });
}

bool Reporter::RunWithRetries(const Job& job, bool superseded) {
  Duration backoff = options_.retry_backoff;
  for (int attempt = 1;; ++attempt) {
    const Status st = Run(job, superseded);
    if (st.ok()) return true;
    const bool retry = st.error().code == ErrorCode::kTransient && attempt < options_.max_attempts;
    LOG_WARN(retry ? "forge report failed, will retry" : "forge report given up",
             {{"error", st.error().ToString()}, {"attempt", std::to_string(attempt)}});
    if (!retry) return true;
    Sleep(backoff);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
    }
    backoff = std::min<Duration>(backoff * 2, kMinute);
  }
}

Status Reporter::Run(const Job& job, bool superseded) {
  const std::string& repo = job.Repo();
  ForgeApi* api = forges_.ForRepo(repo);
  if (!api) return NotFound("no forge is configured for " + repo);
  switch (job.kind) {
    case Job::Kind::kReport: return RunReport(*api, job.key, job.report, job.at, superseded);
    case Job::Kind::kStatusComment:
      return superseded ? Ok() : UpsertStatusComment(*api, job.repo, job.pr, job.text);
    case Job::Kind::kReply: {
      auto id = api->CreateComment(job.repo, job.pr, job.text);
      return id.ok() ? Ok() : Status(id.error());
    }
  }
  return Ok();
}

Status Reporter::UpsertStatusComment(ForgeApi& api, const std::string& repo, std::int64_t pr,
                                     const std::string& text) {
  const std::string body = text + "\n\n" + kStatusMarker;
  auto id = StatusCommentOf(api, repo, pr);
  if (!id.ok()) return id.error();
  if (*id != 0) {
    Status st = api.EditComment(repo, pr, *id, body);
    if (st.ok() || st.error().code != ErrorCode::kNotFound) {
      if (st.ok()) RememberStatusComment(repo, pr, *id);
      return st;
    }
  }
  auto created = api.CreateComment(repo, pr, body);
  if (!created.ok()) return created.error();
  RememberStatusComment(repo, pr, *created);
  return Ok();
}

Result<std::int64_t> Reporter::StatusCommentOf(ForgeApi& api, const std::string& repo, std::int64_t pr) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = status_comments_.find(PrKey(repo, pr)); it != status_comments_.end()) return it->second;
  }
  if (index_) {
    auto found = index_->Find(repo, pr);
    // Known, unless "none" was recorded and a crash may have come between
    // making one and recording it: only a replayed job can follow that.
    if (found.ok() && *found && (**found != 0 || !replaying_)) return **found;
  }
  // Never looked for (a pull request new to the index, or one from before
  // it existed): search once by the marker, and record what was found.
  auto comments = api.ListComments(repo, pr);
  if (!comments.ok()) return comments.error();
  std::int64_t id = 0;
  for (const Comment& c : *comments) {
    if (c.body.find(kStatusMarker) != std::string::npos) id = c.id;
  }
  RememberStatusComment(repo, pr, id);
  return id;
}

void Reporter::RememberStatusComment(const std::string& repo, std::int64_t pr, std::int64_t id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Forgetting one costs a lookup in the index (or a search by the marker),
    // never a second comment.
    if (status_comments_.size() >= kPullsKept) status_comments_.erase(status_comments_.begin());
    status_comments_[PrKey(repo, pr)] = id;
  }
  if (!index_) return;
  if (Status st = index_->Remember(repo, pr, id); !st.ok()) {
    LOG_WARN("cannot record the status comment; it is searched for by its marker after a restart",
             {{"repo", repo}, {"pr", std::to_string(pr)}, {"error", st.error().ToString()}});
  }
}

std::string Reporter::Render(const engine::QueueKey& key, const queue::Report& r, Time at) {
  std::string text = "**mergeyard: " + ReportHeadline(r.kind) + "**";
  text += "\n\n" + ReportMessage(r, key.branch);
  if (r.kind == queue::ReportKind::kQueued) {
    text += "\n\nFollow it on the [dashboard](" + DashboardLink(key.repo, 0) + ").";
  }
  if (r.batch > 0) {
    text += "\n\nBatch [" + std::to_string(r.batch) + "](" + DashboardLink(key.repo, r.batch) + ")";
    text += " on `" + key.branch + "`.";
  }
  if (r.kind == queue::ReportKind::kMerged) {
    if (!r.commit.empty()) text += "\n\nLanded in commit " + r.commit + ".";
    if (r.queued_at > 0 && at >= r.queued_at) text += " Waited " + FormatDuration(at - r.queued_at) + " in the queue.";
  }
  if (r.kind == queue::ReportKind::kKicked) {
    if (!r.paths.empty()) {
      text += "\n\nConflicting files:";
      for (const std::string& p : r.paths) text += "\n- `" + p + "`";
    }
    text += "\n\nFix it and comment `!integrate` (or `!integrate retry`) to queue it again.";
  }
  return text;
}

Status Reporter::RunReport(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r, Time at,
                           bool superseded) {
  if (!superseded && ChangesStanding(r.kind)) {
    if (Status st = UpsertStatusComment(api, key.repo, r.pr, Render(key, r, at)); !st.ok()) return st;
  }
  std::optional<engine::RepoConfig> config;  // read for landings only
  if (r.kind == queue::ReportKind::kMerged) {
    auto c = ConfigOf(key);
    if (!c.ok()) return c.error();
    config = std::move(*c);
  }
  const bool closes = config && config->queue.merge_method != queue::MergeMethod::kMerge;
  if (Status st = SetHeadStatus(api, key, r, at, closes); !st.ok()) return st;
  if (r.kind == queue::ReportKind::kMerged) {
    if (Status st = SetLandedStatus(api, key, r); !st.ok()) return st;
    return Land(api, key, r, config);
  }
  return Ok();
}

Status Reporter::SetHeadStatus(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r, Time at,
                               bool lands_by_closing) {
  const std::string k = PrKey(key.repo, r.pr);
  std::string failed_head;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = failed_heads_.find(k); it != failed_heads_.end()) failed_head = it->second;
  }
  // A kick marks the head failed; a landing clears a failure set on the same
  // head (a retry), or stands in for the forge's "merged" when the pull
  // request is closed rather than merged (squash, rebase).
  const bool kicked = r.kind == queue::ReportKind::kKicked;
  const bool merged = r.kind == queue::ReportKind::kMerged;
  if (r.kind == queue::ReportKind::kQueued && !failed_head.empty() && r.head_sha == failed_head) {
    // Queued again with the head it was kicked with: its failure no longer holds.
    CommitStatus status;
    status.sha = failed_head;
    status.context = options_.status_context;
    status.state = StatusState::kPending;
    status.description = ReportHeadline(r.kind) + ": " + ReportSummaryLine(r, key.branch);
    status.summary = Render(key, r, at);
    status.target_url = DashboardLink(key.repo, 0);
    return api.SetStatus(key.repo, status);  // still remembered: a landing sets success on it
  }
  if (!kicked && !(merged && (!failed_head.empty() || lands_by_closing))) return Ok();
  auto pr = api.GetPullRequest(key.repo, r.pr);
  if (!pr.ok()) return pr.error();
  if (pr->head_sha.empty()) return Ok();
  if (merged && !lands_by_closing && failed_head != pr->head_sha) return Ok();
  CommitStatus status;
  status.sha = pr->head_sha;
  status.context = options_.status_context;
  status.state = kicked ? StatusState::kFailure : StatusState::kSuccess;
  status.description = ReportHeadline(r.kind) + ": " + ReportSummaryLine(r, key.branch);
  status.summary = Render(key, r, at);
  status.target_url = kicked && !r.log_url.empty() ? r.log_url : DashboardLink(key.repo, r.batch);
  if (Status st = api.SetStatus(key.repo, status); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  if (kicked && failed_heads_.size() >= kPullsKept) failed_heads_.erase(failed_heads_.begin());
  if (kicked) failed_heads_[k] = pr->head_sha;
  else failed_heads_.erase(k);
  return Ok();
}

Status Reporter::SetLandedStatus(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r) {
  if (r.commit.empty()) return Ok();
  const std::string id = key.repo + "@" + r.commit;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::find(landed_.begin(), landed_.end(), id) != landed_.end()) return Ok();
  }
  CommitStatus batch;
  batch.sha = r.commit;
  batch.context = options_.status_context + "/batch";
  batch.state = StatusState::kSuccess;
  batch.description = "Tested and landed by mergeyard (batch " + std::to_string(r.batch) + ")";
  batch.target_url = DashboardLink(key.repo, r.batch);
  if (Status st = api.SetStatus(key.repo, batch); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  landed_.push_back(id);
  if (landed_.size() > kLandedBatchesKept) landed_.pop_front();
  return Ok();
}

Result<std::optional<engine::RepoConfig>> Reporter::ConfigOf(const engine::QueueKey& key) {
  if (auto config = configs_.LastGood(key.repo, key.branch)) return config;
  // Right after a restart (a replayed job) nothing has loaded it yet.
  auto loaded = configs_.Load(key.repo, key.branch);
  if (!loaded.ok() && loaded.error().code == ErrorCode::kTransient) return loaded.error();
  if (loaded.ok() && loaded->present && loaded->parse.ok()) return std::optional(loaded->parse.config);
  return std::optional<engine::RepoConfig>();
}

Status Reporter::Land(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r,
                      const std::optional<engine::RepoConfig>& config) {
  const queue::MergeMethod method = config ? config->queue.merge_method : queue::MergeMethod::kMerge;
  // The pushed batch commit contains the head: the forge marks it merged itself.
  if (method == queue::MergeMethod::kMerge) return Ok();
  auto pr = api.GetPullRequest(key.repo, r.pr);
  if (!pr.ok()) return pr.error();
  if (!pr->open) return Ok();  // already closed (a retry or replay of this job)
  const std::string how = method == queue::MergeMethod::kSquash ? "squashed" : "rebased";
  const std::string landed = "Landed on `" + key.branch + "` " + how + " as commit " + r.commit +
                             " by mergeyard; closing this pull request.";
  // A retry or replay after the comment was posted but before the close.
  auto comments = api.ListComments(key.repo, r.pr);
  if (!comments.ok()) return comments.error();
  const bool posted = std::any_of(comments->begin(), comments->end(),
                                  [&](const Comment& c) { return c.body.find(landed) != std::string::npos; });
  if (!posted) {
    auto c = api.CreateComment(key.repo, r.pr, landed);
    if (!c.ok()) return c.error();
  }
  if (config && !config->merged_label.empty()) {
    if (Status st = api.AddLabel(key.repo, r.pr, config->merged_label); !st.ok()) return st;
  }
  return api.ClosePullRequest(key.repo, r.pr);
}

}  // namespace mergeyard::forge
