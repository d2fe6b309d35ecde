#include "webhook/processor.h"

#include "base/log.h"
#include "forge/command.h"
#include "forge/payload.h"

namespace mergeyard::webhook {

namespace {

std::string PrKey(const std::string& repo, std::int64_t pr) { return repo + "#" + std::to_string(pr); }

}  // namespace

Processor::Processor(DeliveryStore& store, forge::ForgeDirectory& forges, forge::ConfigSource& configs,
                     forge::Admitter& admitter, forge::Reporter& reporter, engine::EventSink& sink,
                     const Clock& clock, ProcessorOptions options)
    : store_(store), forges_(forges), configs_(configs), reporter_(reporter), sink_(sink),
      clock_(clock), options_(std::move(options)), admitter_(admitter), lanes_(options_.lanes) {}

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
      while (Dispatch() >= options_.batch) {  // a full round: there may be more
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
  lanes_.Stop();  // deliveries not started stay pending in the store
}

void Processor::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

int Processor::RunOnce() {
  const int n = Dispatch();
  lanes_.WaitIdle();
  return n;
}

int Processor::Dispatch() {
  const Time now = clock_.Now();
  bool prune = false;
  std::size_t busy;
  {
    std::lock_guard<std::mutex> lock(flight_mu_);
    busy = in_flight_.size();
    if (now - last_prune_ >= kHour) prune = true, last_prune_ = now;
  }
  if (prune) {
    auto pruned = store_.Prune(now - options_.retention);
    if (!pruned.ok()) LOG_WARN("pruning webhook deliveries failed", {{"error", pruned.error().ToString()}});
  }
  // Past those in progress, so a backlog in one repository hides no other's.
  auto due = store_.Due(now, options_.batch + static_cast<int>(busy));
  if (!due.ok()) {
    LOG_WARN("reading webhook deliveries failed", {{"error", due.error().ToString()}});
    return 0;
  }
  int n = 0;
  for (StoredDelivery& d : *due) {
    {
      std::lock_guard<std::mutex> lock(flight_mu_);
      if (!in_flight_.insert(d.id).second) continue;
    }
    ++n;
    Parsed p = Parse(d);
    const std::string lane = d.forge + ":" + p.repo.full_name;  // "" when the payload names none
    lanes_.Add(lane, [this, d = std::move(d), p = std::move(p)] { Process(d, p); });
  }
  return n;
}

void Processor::Process(const StoredDelivery& d, const Parsed& p) {
  auto outcome = Handle(d, p);
  const Time now = clock_.Now();
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
  std::lock_guard<std::mutex> lock(flight_mu_);
  in_flight_.erase(d.id);
}

Processor::Parsed Processor::Parse(const StoredDelivery& d) {
  Parsed p;
  if (!forge::ParseForgeKind(d.forge, &p.kind)) {
    p.event = Invalid("unknown forge " + d.forge);
    return p;
  }
  p.event = forge::ParsePayload(p.kind, d.event, d.body, &p.repo);
  return p;
}

Result<std::string> Processor::Handle(const StoredDelivery& d, const Parsed& p) {
  const forge::ForgeKind kind = p.kind;
  const auto& event = p.event;
  if (!event.ok()) return event.error();
  if (!p.repo.full_name.empty()) forges_.Remember(p.repo.full_name, kind, p.repo.installation_id);
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
                                      queue::Cancel{cl->pr, queue::ReportReason::kClosed, ""});
        !st.ok()) {
      return st.error();
    }
    return std::string("closed");
  }
  if (const auto* p = std::get_if<forge::Push>(&*event)) return OnPush(*p);
  if (const auto* ci = std::get_if<forge::CiReported>(&*event)) return OnCi(*ci);
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
    const engine::QueueKey key{repo, pr->base_branch};
    if (options_.queued && !options_.queued(key, c.pr)) {
      reporter_.Reply(repo, c.pr, "@" + c.author + " this pull request is not in the queue of `" +
                                      pr->base_branch + "`: there is nothing to cancel.");
      return std::string("cancel: not queued");
    }
    // The engine's report answers in the status comment ("Cancelled by @...").
    if (Status st = sink_.PostDurable(key, queue::Cancel{c.pr, queue::ReportReason::kCancelledBy, c.author});
        !st.ok()) {
      return st.error();
    }
    return std::string("cancel");
  }
  int priority = cmd.priority;
  bool given = cmd.priority_given;
  if (cmd.kind == forge::CommandKind::kRetry && !given) {
    // A retry after a kick: the priority the entry last had, when one was given.
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = priorities_.find(PrKey(repo, c.pr)); it != priorities_.end()) {
      priority = it->second;
      given = true;
    }
  }
  return OnIntegrate(*api, c, priority, given);
}

Result<std::string> Processor::OnIntegrate(forge::ForgeApi& api, const forge::CommentCreated& c,
                                           int priority, bool priority_given) {
  const std::string& repo = c.repo.full_name;
  auto admitted = admitter_.Admit(api, repo, c.pr, priority, priority_given, c.author);
  if (!admitted.ok()) return admitted.error();
  const forge::Admission& a = *admitted;
  const std::string& branch = a.key.branch;
  auto refuse = [&](const std::string& why) -> Result<std::string> {
    reporter_.Reply(repo, c.pr, "@" + c.author + " this pull request cannot be queued: " + why);
    return "refused: " + why.substr(0, why.find('\n'));
  };
  switch (a.refusal) {
    case forge::Refusal::kNone: break;
    case forge::Refusal::kMerged: return refuse("it is already merged.");
    case forge::Refusal::kClosed: return refuse("it is closed.");
    case forge::Refusal::kDraft: return refuse("it is a draft. Mark it ready for review first.");
    case forge::Refusal::kNotOptedIn:
      return refuse("the target branch `" + branch + "` has no `.mergeyard.yml`.");
    case forge::Refusal::kInvalidConfig:
      return refuse("`.mergeyard.yml` on `" + branch + "` is invalid:\n" + a.config_errors);
    case forge::Refusal::kConflicts: {
      std::string why = "it does not merge cleanly with `" + branch + "`.";
      for (const std::string& p : a.conflicting_paths) why += "\n- `" + p + "`";
      return refuse(why);
    }
  }
  if (priority_given) RememberPriority(repo, c.pr, priority);
  // The queued report acknowledges it in the status comment.
  if (!a.config_errors.empty()) {
    reporter_.Reply(repo, c.pr, "Note: `.mergeyard.yml` on `" + branch + "` is invalid:\n" + a.config_errors +
                                    "The queue keeps its last good configuration.");
  }
  return std::string("enqueued");
}

Result<std::string> Processor::OnCi(const forge::CiReported& ci) {
  forge::CiGate* gate = ci_gate_.load();
  if (!gate) return std::string("CI verdict: no batch waits on external checks");
  if (!ci.checks.empty()) gate->Observe(ci.repo.full_name, ci.checks);
  for (const std::string& sha : ci.poll_shas) gate->PollNow(ci.repo.full_name, sha);
  return std::string("CI verdict");
}

void Processor::RememberPriority(const std::string& repo, std::int64_t pr, int priority) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = PrKey(repo, pr);
  if (priorities_.size() >= kPrioritiesKept && !priorities_.count(key)) priorities_.erase(priorities_.begin());
  priorities_[key] = priority;
}

Result<std::string> Processor::OnPush(const forge::Push& p) {
  const std::string& repo = p.repo.full_name;
  const engine::QueueKey key{repo, p.branch};
  // A known queue learns its new tip first, so that an admission running
  // meanwhile reads the configuration at the new tip, not the old one.
  const bool known = admitter_.KnowsQueue(key);
  if (known) {
    if (Status st = sink_.PostDurable(key, queue::TargetMoved{p.after}); !st.ok()) return st.error();
  }
  if (!known || p.config_changed) {
    auto loaded = configs_.Load(repo, p.branch, p.after);
    if (!loaded.ok()) return loaded.error();
    if (!loaded->present) return std::string("push to a branch without .mergeyard.yml");
    if (loaded->parse.ok()) {
      if (Status st = admitter_.SyncConfig(key, *loaded); !st.ok()) return st.error();
    } else {
      LOG_WARN("invalid .mergeyard.yml pushed; keeping the last good configuration",
               {{"repo", repo}, {"branch", p.branch}, {"errors", loaded->parse.ErrorsText()}});
      if (!configs_.LastGood(repo, p.branch)) return std::string("push: invalid configuration");
    }
  }
  if (!known) {
    if (Status st = sink_.PostDurable(key, queue::TargetMoved{p.after}); !st.ok()) return st.error();
  }
  return std::string("target moved");
}

}  // namespace mergeyard::webhook
