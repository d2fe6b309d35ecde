#include "forge/reporter.h"

#include <algorithm>

#include "base/log.h"
#include "forge/report_text.h"

namespace mergeyard::forge {

namespace {

std::string PrKey(const std::string& repo, std::int64_t pr) { return repo + "#" + std::to_string(pr); }

StatusState StateFor(queue::ReportKind k) {
  switch (k) {
    case queue::ReportKind::kQueued: return StatusState::kPending;
    case queue::ReportKind::kTesting: return StatusState::kRunning;
    case queue::ReportKind::kReturned: return StatusState::kPending;
    case queue::ReportKind::kMerged: return StatusState::kSuccess;
    case queue::ReportKind::kKicked: return StatusState::kFailure;
    case queue::ReportKind::kCancelled: return StatusState::kError;
  }
  return StatusState::kPending;
}

}  // namespace

Reporter::Reporter(ForgeDirectory& forges, ConfigSource& configs, const Clock& clock,
                   ReporterOptions options, engine::ReportJournal* journal)
    : forges_(forges), configs_(configs), clock_(clock), options_(std::move(options)), journal_(journal) {
  while (!options_.dashboard_url.empty() && options_.dashboard_url.back() == '/') options_.dashboard_url.pop_back();
  if (journal_) {
    auto pending = journal_->Pending();
    if (!pending.ok()) {
      LOG_ERROR("cannot read the report journal; its pending jobs are not replayed",
                {{"error", pending.error().ToString()}});
    } else if (!pending->empty()) {
      LOG_INFO("replaying report jobs left pending", {{"jobs", std::to_string(pending->size())}});
      for (auto& job : *pending) jobs_.push_back(std::move(job));
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
    busy_ = true;
    lock.unlock();
    if (RunWithRetries(job.job) && job.id != 0) {
      if (Status st = journal_->Done(job.id); !st.ok()) {  // it runs again after a restart: harmless
        LOG_WARN("cannot mark a report job done", {{"error", st.error().ToString()}, {"job", std::to_string(job.id)}});
      }
    }
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

bool Reporter::RunWithRetries(const Job& job) {
  Duration backoff = options_.retry_backoff;
  for (int attempt = 1;; ++attempt) {
    const Status st = Run(job);
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

Status Reporter::Run(const Job& job) {
  const std::string& repo = job.Repo();
  ForgeApi* api = forges_.ForRepo(repo);
  if (!api) return NotFound("no forge is configured for " + repo);
  switch (job.kind) {
    case Job::Kind::kReport: return RunReport(*api, job.key, job.report, job.at);
    case Job::Kind::kStatusComment: return UpsertStatusComment(*api, job.repo, job.pr, job.text);
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
  const std::string key = PrKey(repo, pr);
  std::int64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = status_comments_.find(key); it != status_comments_.end()) id = it->second;
  }
  if (id == 0) {  // after a restart: find the comment again by its marker
    auto comments = api.ListComments(repo, pr);
    if (!comments.ok()) return comments.error();
    for (const Comment& c : *comments) {
      if (c.body.find(kStatusMarker) != std::string::npos) id = c.id;
    }
  }
  if (id != 0) {
    Status st = api.EditComment(repo, pr, id, body);
    if (st.ok() || st.error().code != ErrorCode::kNotFound) {
      if (st.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        status_comments_[key] = id;
      }
      return st;
    }
  }
  auto created = api.CreateComment(repo, pr, body);
  if (!created.ok()) return created.error();
  std::lock_guard<std::mutex> lock(mu_);
  status_comments_[key] = *created;
  return Ok();
}

std::string Reporter::Render(const engine::QueueKey& key, const queue::Report& r, Time at) {
  std::string text = "**mergeyard: " + ReportHeadline(r.kind) + "**";
  text += "\n\n" + ReportMessage(r, key.branch);
  if (r.batch > 0) {
    text += "\n\nBatch [" + std::to_string(r.batch) + "](" + DashboardLink(key.repo, r.batch) + ")";
    text += " on `" + key.branch + "`.";
  }
  if (r.kind == queue::ReportKind::kMerged) {
    if (!r.commit.empty()) text += "\n\nLanded in commit " + r.commit + ".";
    const std::string k = PrKey(key.repo, r.pr);
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = queued_at_.find(k); it != queued_at_.end()) {
      text += " Waited " + FormatDuration(at - it->second) + " in the queue.";
    }
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

Status Reporter::RunReport(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r, Time at) {
  const std::string k = PrKey(key.repo, r.pr);
  if (r.kind == queue::ReportKind::kQueued) {
    std::lock_guard<std::mutex> lock(mu_);
    queued_at_.emplace(k, at);
  }
  if (Status st = UpsertStatusComment(api, key.repo, r.pr, Render(key, r, at)); !st.ok()) return st;
  auto pr = api.GetPullRequest(key.repo, r.pr);
  if (!pr.ok()) return pr.error();
  CommitStatus status;
  status.context = options_.status_context;
  status.state = StateFor(r.kind);
  status.description = ReportHeadline(r.kind) + ": " + ReportSummaryLine(r, key.branch);
  status.summary = Render(key, r, at);
  status.target_url = r.log_url.empty() || r.kind != queue::ReportKind::kKicked
                          ? DashboardLink(key.repo, r.batch) : r.log_url;
  // After a squash or rebase landing the head no longer matters; statuses on
  // the old head are still what the pull request page shows, so set it.
  if (!pr->head_sha.empty()) {
    status.sha = pr->head_sha;
    if (Status st = api.SetStatus(key.repo, status); !st.ok()) return st;
  }
  if (!r.commit.empty() && r.kind != queue::ReportKind::kCancelled) {
    // The batch commit itself, when the report names it.
    CommitStatus batch = status;
    batch.sha = r.commit;
    batch.context = options_.status_context + "/batch";
    batch.description = r.kind == queue::ReportKind::kMerged
                            ? "Tested and landed by mergeyard (batch " + std::to_string(r.batch) + ")"
                            : "Batch " + std::to_string(r.batch) + ": " + ReportHeadline(r.kind);
    if (Status st = api.SetStatus(key.repo, batch); !st.ok()) return st;
  }
  if (r.kind == queue::ReportKind::kMerged) return Land(api, key, r);
  if (r.kind == queue::ReportKind::kKicked || r.kind == queue::ReportKind::kCancelled) {
    std::lock_guard<std::mutex> lock(mu_);
    queued_at_.erase(k);
  }
  return Ok();
}

Status Reporter::Land(ForgeApi& api, const engine::QueueKey& key, const queue::Report& r) {
  auto config = configs_.LastGood(key.repo, key.branch);
  if (!config) {  // right after a restart (a replayed job) nothing has loaded it yet
    auto loaded = configs_.Load(key.repo, key.branch);
    if (!loaded.ok() && loaded.error().code == ErrorCode::kTransient) return loaded.error();
    if (loaded.ok() && loaded->present && loaded->parse.ok()) config = loaded->parse.config;
  }
  const queue::MergeMethod method = config ? config->queue.merge_method : queue::MergeMethod::kMerge;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued_at_.erase(PrKey(key.repo, r.pr));
  }
  if (method == queue::MergeMethod::kMerge) {
    // The pushed batch commit contains the head: the forge marks it merged itself.
    for (int i = 0; i < options_.merge_confirm_attempts; ++i) {
      auto pr = api.GetPullRequest(key.repo, r.pr);
      if (pr.ok() && pr->merged) return Ok();
      Sleep(options_.merge_confirm_delay);
    }
    LOG_WARN("the forge has not marked the pull request merged",
             {{"repo", key.repo}, {"pr", std::to_string(r.pr)}, {"commit", r.commit}});
    return Ok();
  }
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
