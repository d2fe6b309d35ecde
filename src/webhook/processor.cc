#include "webhook/processor.h"

#include "base/log.h"
#include "forge/command.h"
#include "forge/payload.h"

namespace mergeyard::webhook {

namespace {

std::string PrKey(const std::string& repo, std::int64_t pr) { return repo + "#" + std::to_string(pr); }

std::string PriorityName(int p) {
  if (p == queue::kPriorityHigh) return "high";
  if (p == queue::kPriorityNormal) return "normal";
  if (p == queue::kPriorityLow) return "low";
  return std::to_string(p);
}

}  // namespace

Processor::Processor(DeliveryStore& store, forge::ForgeDirectory& forges, forge::ConfigSource& configs,
                     engine::MergeChecker& merges, forge::Reporter& reporter, engine::EventSink& sink,
                     const Clock& clock, ProcessorOptions options)
    : store_(store), forges_(forges), configs_(configs), merges_(merges), reporter_(reporter),
      sink_(sink), clock_(clock), options_(std::move(options)) {}

Processor::~Processor() { Stop(); }

void Processor::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      wake_ = false;
      lock.unlock();
      while (RunOnce() > 0) {
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(options_.idle_poll), [&] { return stopping_ || wake_; });
    }
  });
}

void Processor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Processor::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

int Processor::RunOnce() {
  const Time now = clock_.Now();
  if (now - last_prune_ >= kHour) {
    last_prune_ = now;
    auto pruned = store_.Prune(now - options_.retention);
    if (!pruned.ok()) LOG_WARN("pruning webhook deliveries failed", {{"error", pruned.error().ToString()}});
  }
  auto due = store_.Due(now, options_.batch);
  if (!due.ok()) {
    LOG_WARN("reading webhook deliveries failed", {{"error", due.error().ToString()}});
    return 0;
  }
  for (const StoredDelivery& d : *due) {
    auto outcome = Handle(d);
    Status st = Ok();
    if (outcome.ok()) {
      st = store_.MarkDone(d.id, *outcome);
    } else if (outcome.error().code == ErrorCode::kTransient) {
      const Duration delay = options_.retry_delay << std::min(d.attempts, 12);
      LOG_WARN("webhook delivery will be retried",
               {{"delivery", d.delivery_id}, {"error", outcome.error().ToString()}});
      st = store_.MarkRetry(d.id, outcome.error().ToString(), now + delay, options_.max_attempts);
    } else {
      LOG_WARN("webhook delivery failed", {{"delivery", d.delivery_id}, {"error", outcome.error().ToString()}});
      st = store_.MarkRetry(d.id, outcome.error().ToString(), now, 1);
    }
    if (!st.ok()) LOG_ERROR("recording a delivery outcome failed", {{"error", st.error().ToString()}});
  }
  return static_cast<int>(due->size());
}

Result<std::string> Processor::Handle(const StoredDelivery& d) {
  forge::ForgeKind kind;
  if (!forge::ParseForgeKind(d.forge, &kind)) return Invalid("unknown forge " + d.forge);
  forge::RepoRef repo;
  auto event = forge::ParsePayload(kind, d.event, d.body, &repo);
  if (!event.ok()) return event.error();
  if (!repo.full_name.empty()) forges_.Remember(repo.full_name, kind, repo.installation_id);
  LOG_DEBUG("webhook delivery", {{"delivery", d.delivery_id}, {"event", forge::Describe(*event)}});
  if (const auto* c = std::get_if<forge::CommentCreated>(&*event)) return OnComment(kind, *c);
  if (const auto* u = std::get_if<forge::PullRequestUpdated>(&*event)) {
    if (u->base_branch.empty()) return std::string("head changed, target unknown");
    if (Status st = sink_.PostDurable({u->repo.full_name, u->base_branch}, queue::HeadChanged{u->pr, u->head_sha});
        !st.ok()) {
      return st.error();
    }
    return std::string("head changed");
  }
  if (const auto* cl = std::get_if<forge::PullRequestClosed>(&*event)) {
    // Merged pull requests end through the queue's own landing (or were
    // merged by hand, in which case the entry dies at the next head/target check).
    if (cl->merged || cl->base_branch.empty()) return std::string("closed (merged)");
    if (Status st = sink_.PostDurable({cl->repo.full_name, cl->base_branch},
                                      queue::Cancel{cl->pr, "the pull request was closed"});
        !st.ok()) {
      return st.error();
    }
    return std::string("closed");
  }
  if (const auto* p = std::get_if<forge::Push>(&*event)) return OnPush(*p);
  return "ignored: " + std::get<forge::Ignored>(*event).reason;
}

Result<std::string> Processor::OnComment(forge::ForgeKind kind, const forge::CommentCreated& c) {
  if (c.author_is_bot || options_.bot_logins.count(c.author)) return std::string("comment by a bot");
  const forge::Command cmd = forge::ParseCommand(c.body);
  if (cmd.kind == forge::CommandKind::kNone) return std::string("not a command");
  forge::ForgeApi* api = forges_.ForKind(kind);
  if (!api) return Invalid(std::string("no ") + forge::ForgeKindName(kind) + " forge is configured");
  const std::string& repo = c.repo.full_name;
  if (cmd.kind == forge::CommandKind::kInvalid) {
    reporter_.Reply(repo, c.pr, "@" + c.author + " " + cmd.problem + ".\n\n" + forge::CommandHelp());
    return std::string("invalid command");
  }
  auto perm = api->GetPermission(repo, c.author, c.author_id);
  if (!perm.ok()) return perm.error();
  if (*perm != forge::Permission::kWrite) {
    reporter_.Reply(repo, c.pr, "Sorry @" + c.author +
                                    ", only people with write access to this repository can use "
                                    "`!integrate` commands.");
    return std::string("refused: no write permission");
  }
  if (cmd.kind == forge::CommandKind::kCancel) {
    auto pr = api->GetPullRequest(repo, c.pr);
    if (!pr.ok()) return pr.error();
    if (Status st = sink_.PostDurable({repo, pr->base_branch}, queue::Cancel{c.pr, "cancelled by @" + c.author});
        !st.ok()) {
      return st.error();
    }
    reporter_.SetStatusComment(repo, c.pr, "**mergeyard: Cancelling**\n\n@" + c.author +
                                               " asked to take this pull request out of the queue.");
    return std::string("cancel");
  }
  int priority = cmd.priority;
  bool given = cmd.priority_given;
  if (cmd.kind == forge::CommandKind::kRetry) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = priorities_.find(PrKey(repo, c.pr)); it != priorities_.end()) priority = it->second;
    given = true;
  }
  return OnIntegrate(*api, c, priority, given);
}

Result<std::string> Processor::OnIntegrate(forge::ForgeApi& api, const forge::CommentCreated& c,
                                           int priority, bool) {
  const std::string& repo = c.repo.full_name;
  auto refuse = [&](const std::string& why) -> Result<std::string> {
    reporter_.Reply(repo, c.pr, "@" + c.author + " this pull request cannot be queued: " + why);
    return "refused: " + why.substr(0, why.find('\n'));
  };
  auto pr = api.GetPullRequest(repo, c.pr);
  if (!pr.ok()) return pr.error();
  if (!pr->open) return refuse(pr->merged ? "it is already merged." : "it is closed.");
  if (pr->draft) return refuse("it is a draft. Mark it ready for review first.");
  auto loaded = configs_.Load(repo, pr->base_branch);
  if (!loaded.ok()) return loaded.error();
  if (!loaded->present) {
    return refuse("the target branch `" + pr->base_branch + "` has no `.mergeyard.yml`.");
  }
  const engine::QueueKey key{repo, pr->base_branch};
  std::string config_note;
  if (!loaded->parse.ok()) {
    const std::string errors = "`.mergeyard.yml` on `" + pr->base_branch + "` is invalid:\n" +
                               loaded->parse.ErrorsText();
    if (!configs_.LastGood(repo, pr->base_branch)) return refuse(errors);
    config_note = "\n\nNote: " + errors + "The queue keeps its last good configuration.";
  } else {
    if (Status st = PostConfig(key, *loaded); !st.ok()) return st.error();
  }
  auto merge = merges_.Check(repo, pr->base_branch, c.pr, pr->head_sha);
  if (!merge.ok()) return merge.error();
  if (!merge->clean) {
    std::string why = "it does not merge cleanly with `" + pr->base_branch + "`.";
    for (const std::string& p : merge->conflicting_paths) why += "\n- `" + p + "`";
    return refuse(why);
  }
  if (Status st = sink_.PostDurable(key, queue::Enqueue{c.pr, pr->head_sha, priority}); !st.ok()) {
    return st.error();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    priorities_[PrKey(repo, c.pr)] = priority;
  }
  reporter_.SetStatusComment(repo, c.pr, "**mergeyard: Accepted**\n\n@" + c.author + " queued commit " +
                                             pr->head_sha.substr(0, 12) + " for `" + pr->base_branch +
                                             "` at priority " + PriorityName(priority) +
                                             "; its position follows." + config_note);
  return std::string("enqueued");
}

Status Processor::PostConfig(const engine::QueueKey& key, const forge::LoadedConfig& loaded) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!loaded.blob_id.empty() && config_blob_posted_[key] == loaded.blob_id) return Ok();
  }
  if (Status st = sink_.PostDurable(key, queue::ConfigChanged{loaded.parse.config.queue}); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  config_blob_posted_[key] = loaded.blob_id;
  return Ok();
}

Result<std::string> Processor::OnPush(const forge::Push& p) {
  const std::string& repo = p.repo.full_name;
  const engine::QueueKey key{repo, p.branch};
  bool known;
  {
    std::lock_guard<std::mutex> lock(mu_);
    known = config_blob_posted_.count(key) > 0;
  }
  if (!known || p.config_changed) {
    auto loaded = configs_.Load(repo, p.branch);
    if (!loaded.ok()) return loaded.error();
    if (!loaded->present) return std::string("push to a branch without .mergeyard.yml");
    if (loaded->parse.ok()) {
      if (Status st = PostConfig(key, *loaded); !st.ok()) return st.error();
    } else {
      LOG_WARN("invalid .mergeyard.yml pushed; keeping the last good configuration",
               {{"repo", repo}, {"branch", p.branch}, {"errors", loaded->parse.ErrorsText()}});
      if (!configs_.LastGood(repo, p.branch)) return std::string("push: invalid configuration");
    }
  }
  if (Status st = sink_.PostDurable(key, queue::TargetMoved{p.after}); !st.ok()) return st.error();
  return std::string("target moved");
}

}  // namespace mergeyard::webhook
