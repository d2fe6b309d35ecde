#include "forge/ci_gate.h"

#include <algorithm>

#include "base/duration.h"
#include "base/log.h"

namespace mergeyard::forge {

namespace {

const std::vector<double> kWaitBuckets = {5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400};

bool Terminal(CiState s) { return s != CiState::kPending; }

}  // namespace

const char* CiSourceName(CiSource s) {
  switch (s) {
    case CiSource::kWebhook: return "webhook";
    case CiSource::kPoll: return "poll";
    case CiSource::kCache: return "cache";
  }
  return "?";
}

struct CiGate::Wait {
  engine::QueueKey key;
  queue::StartRun run;
  engine::EventSink* sink = nullptr;
  engine::RepoConfig config;             // set by Prepare
  bool prepared = false;                 // config read, required names known, verdict cache asked
  std::vector<std::string> required;     // in the configuration's order
  std::map<std::string, CheckView> checks;
  bool pipeline_running = false;
  std::optional<queue::RunFinished> pipeline;  // the inner port's answer
  Time deadline = 0;
  Time next_poll = 0;
  Duration backoff = 0;                  // after failed polls, 0 when none
  bool cached = false;
  bool resumed = false;                  // started before a restart: its wait is not the CI's duration
  std::string last_source;               // where the latest verdict on a required check came from
  bool decided = false;
  queue::RunFinished result;
};

// The inner pipeline's answers come back through this sink.
struct CiGate::Relay final : engine::EventSink {
  explicit Relay(CiGate& g) : gate(g) {}
  void Post(const engine::QueueKey& key, queue::Event event) override {
    if (const auto* f = std::get_if<queue::RunFinished>(&event)) gate.OnPipeline(key, *f);
  }
  CiGate& gate;
};

CiGate::CiGate(engine::RunPort& pipeline, ForgeDirectory& forges, ConfigLookup configs, const Clock& clock,
               engine::VerdictCache* cache, TreeLookup trees, CiGateOptions options,
               metrics::Registry* registry)
    : pipeline_(pipeline), forges_(forges), configs_(std::move(configs)), clock_(clock), cache_(cache),
      trees_(std::move(trees)), options_(options), relay_(std::make_unique<Relay>(*this)) {
  metrics::Registry& r = registry ? *registry : metrics::Default();
  verdicts_ = &r.Counters("mergeyard_ci_verdicts_total",
                          "External CI verdicts that decided a batch's required checks, by where the "
                          "verdict came from (webhook, poll, cache) and result.",
                          {"source", "result"});
  wait_time_ = &r.Histograms("mergeyard_ci_wait_seconds",
                             "Time a batch waited for its required external checks, from the run's start "
                             "to the verdict.",
                             {}, kWaitBuckets);
  polls_ = &r.Counters("mergeyard_ci_polls_total", "Polls of a forge's CI verdicts for a waiting batch, by result.",
                       {"result"});
  thread_ = std::thread([this] { Loop(); });
}

CiGate::~CiGate() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void CiGate::Start(const engine::QueueKey& key, const queue::StartRun& run, engine::EventSink& sink) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = waits_[{key, run.batch}];
    if (slot && slot->run.commit == run.commit) {  // re-attach
      slot->sink = &sink;
      if (slot->decided) sink.Post(key, slot->result);
      return;
    }
    if (waits_.size() > 4096) {  // forget decided runs; a re-Start then waits again
      for (auto it = waits_.begin(); it != waits_.end();)
        it = it->second && it->second->decided ? waits_.erase(it) : std::next(it);
    }
    auto w = std::make_shared<Wait>();
    w->key = key;
    w->run = run;
    if (w->run.started_at == 0) w->run.started_at = clock_.Now();
    w->sink = &sink;
    if (auto early = early_.find({key.repo, run.commit}); early != early_.end()) {
      for (const auto& [name, c] : early->second.checks) ApplyLocked(*w, c, CiSource::kWebhook);
      early_.erase(early);  // its place in early_order_ goes when it comes up (seq no longer matches)
    }
    waits_[{key, run.batch}] = std::move(w);  // Prepare, on the gate's thread, reads its configuration
  }
  cv_.notify_all();
}

void CiGate::Cancel(const engine::QueueKey& key, const queue::CancelRun& cancel) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waits_.find({key, cancel.batch});
    if (it != waits_.end()) {
      if (!it->second->decided) to_cancel_.emplace_back(key.repo, it->second->run.commit);
      waits_.erase(it);
    }
  }
  cv_.notify_all();
  pipeline_.Cancel(key, cancel);
}

void CiGate::Observe(const std::string& repo, const std::vector<CiCheck>& checks) {
  std::lock_guard<std::mutex> lock(mu_);
  const Time now = clock_.Now();
  last_webhook_[repo] = now;
  std::vector<bool> heard(checks.size(), false);
  for (auto& [k, w] : waits_) {
    if (k.first.repo != repo) continue;
    bool touched = false;
    for (std::size_t i = 0; i < checks.size(); ++i) {
      if (checks[i].sha != w->run.commit) continue;
      heard[i] = true;
      if (w->decided) continue;
      ApplyLocked(*w, checks[i], CiSource::kWebhook);
      touched = true;
    }
    if (touched) EvaluateLocked(*w, now);
  }
  // A fast CI can answer between the push of a batch commit and the start of
  // its wait: keep what no wait took, for the wait that comes.
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (heard[i]) continue;
    const std::pair<std::string, std::string> at{repo, checks[i].sha};
    auto [it, added] = early_.try_emplace(at);
    if (added) {
      it->second.seq = ++early_seq_;
      early_order_.push_back({at, it->second.seq});
    }
    it->second.checks[checks[i].name] = checks[i];  // the latest word per check
    while (early_order_.size() > kEarlyCommitsKept) {
      const auto& [oldest, seq] = early_order_.front();
      if (auto o = early_.find(oldest); o != early_.end() && o->second.seq == seq) early_.erase(o);
      early_order_.pop_front();
    }
  }
}

void CiGate::PollNow(const std::string& repo, const std::string& sha) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_webhook_[repo] = clock_.Now();
    for (auto& [k, w] : waits_)
      if (!w->decided && k.first.repo == repo && w->run.commit == sha) w->next_poll = 0;
  }
  cv_.notify_all();
}

std::optional<GateView> CiGate::View(const engine::QueueKey& key, queue::BatchId batch) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = waits_.find({key, batch});
  if (it == waits_.end()) return std::nullopt;
  const Wait& w = *it->second;
  GateView v{w.run.commit, w.cached, w.decided, {}};
  for (const std::string& name : w.required) {
    auto c = w.checks.find(name);
    v.checks.push_back(c != w.checks.end() ? c->second : CheckView{name});
  }
  return v;
}

std::size_t CiGate::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(waits_.begin(), waits_.end(), [](const auto& kv) { return !kv.second->decided; }));
}

void CiGate::OnPipeline(const engine::QueueKey& key, const queue::RunFinished& result) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = waits_.find({key, result.batch});
  if (it == waits_.end() || it->second->decided) return;
  it->second->pipeline_running = false;
  it->second->pipeline = result;
  EvaluateLocked(*it->second, clock_.Now());
}

void CiGate::ApplyLocked(Wait& w, const CiCheck& c, CiSource source) {
  if (std::find(w.required.begin(), w.required.end(), c.name) == w.required.end() && w.prepared) return;
  CheckView& v = w.checks[c.name];
  // A late "pending" webhook must not undo a verdict; a poll tells the truth.
  if (Terminal(v.state) && !Terminal(c.state) && source == CiSource::kWebhook) return;
  if (Terminal(c.state)) w.last_source = CiSourceName(source);
  v.name = c.name;
  v.state = c.state;
  v.conclusion = c.conclusion;
  if (!c.url.empty()) v.url = c.url;
  v.source = CiSourceName(source);
}

void CiGate::EvaluateLocked(Wait& w, Time now) {
  if (w.decided || !w.prepared) return;
  for (const std::string& name : w.required) {
    auto it = w.checks.find(name);
    if (it == w.checks.end() || it->second.state != CiState::kFailure) continue;
    queue::RunFinished f{w.run.batch, false, name, it->second.url, queue::FailureKind::kCheck,
                         it->second.conclusion};
    return FinishLocked(w, f);
  }
  if (w.pipeline && !w.pipeline->passed) return FinishLocked(w, *w.pipeline);
  const auto passed = [&](const std::string& name) {
    auto it = w.checks.find(name);
    return it != w.checks.end() && it->second.state == CiState::kSuccess;
  };
  const bool checks_passed = std::all_of(w.required.begin(), w.required.end(), passed);
  if (checks_passed && !w.pipeline_running) {
    queue::RunFinished f = w.pipeline ? *w.pipeline : queue::RunFinished{w.run.batch, true};
    return FinishLocked(w, f);
  }
  if (now < w.deadline || checks_passed) return;
  for (const std::string& name : w.required) {
    if (passed(name)) continue;
    auto it = w.checks.find(name);
    queue::RunFinished f{w.run.batch, false, name, it != w.checks.end() ? it->second.url : "",
                         queue::FailureKind::kCheckTimeout, FormatDuration(w.config.checks.timeout)};
    return FinishLocked(w, f);
  }
}

void CiGate::FinishLocked(Wait& w, queue::RunFinished result) {
  w.decided = true;
  result.batch = w.run.batch;
  w.result = result;
  const bool by_step = !result.passed && result.failure == queue::FailureKind::kStep;
  if (!by_step) {  // a CI verdict (a failing pipeline step is not one)
    const char* source = w.cached ? "cache"
                         : result.failure == queue::FailureKind::kCheckTimeout && !result.passed ? "timeout"
                                                                                                 : nullptr;
    verdicts_->With({source ? source : w.last_source, result.passed ? "pass" : "fail"}).Inc();
    const Duration waited = std::max<Time>(clock_.Now() - w.run.started_at, 0);
    wait_time_->Get().Observe(static_cast<double>(waited) / kSecond);
    // How long the CI takes: learnt from webhooks only (a poll answers late,
    // and a run resumed after a restart waited for the restart too).
    if (!source && w.last_source == CiSourceName(CiSource::kWebhook) && !w.resumed) {
      auto& d = durations_[w.key.repo];
      d.push_back(waited);
      if (d.size() > kDurationsKept) d.pop_front();
    }
  }
  if (!result.passed) {
    to_cancel_.emplace_back(w.key.repo, w.run.commit);
    cv_.notify_all();
  }
  if (result.passed && !w.cached && cache_ && trees_ && !w.required.empty()) {
    engine::CachedVerdict v{w.run.commit, {}};
    for (const std::string& name : w.required) v.links[name] = w.checks[name].url;
    to_remember_.push_back({w.key.repo, w.required, std::move(v)});  // the gate's thread resolves the tree
    cv_.notify_all();
  }
  LOG_INFO(result.passed ? "required checks passed" : "required checks failed",
           {{"repo", w.key.repo}, {"branch", w.key.branch}, {"batch", std::to_string(w.run.batch)},
            {"check", result.failed_step}});
  w.sink->Post(w.key, result);
}

Time CiGate::NextPollLocked(const Wait& w, Time now) const {
  auto it = last_webhook_.find(w.key.repo);
  const bool webhooks = it != last_webhook_.end() && now - it->second < options_.webhooks_fresh;
  Duration interval = webhooks ? options_.safety_poll_interval : options_.poll_interval;
  if (w.backoff > 0) interval = std::max(interval, w.backoff);
  Time next = now + interval;
  // While webhooks flow, a poll before the CI usually answers would only
  // find it still running: wait at least until most runs have answered.
  if (webhooks && w.backoff == 0) {
    Time expected = w.run.started_at + ExpectedDurationLocked(w.key.repo);
    // A lost webhook is still found before the deadline fails the batch.
    if (w.deadline > 0) expected = std::min(expected, w.deadline - options_.safety_poll_interval);
    next = std::max(next, expected);
  }
  return next;
}

Duration CiGate::ExpectedDurationLocked(const std::string& repo) const {
  auto it = durations_.find(repo);
  if (it == durations_.end() || it->second.size() < kDurationsForExpected) return 0;
  std::vector<Duration> sorted(it->second.begin(), it->second.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted[sorted.size() * 9 / 10];
}

void CiGate::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const Time now = clock_.Now();
    std::vector<std::shared_ptr<Wait>> prepare, poll;
    Time wake = 0;  // 0: nothing to wake for but a notify
    for (auto& [k, w] : waits_) {
      if (w->decided) continue;
      if (!w->prepared) {
        // Not backing off (a first try), or the backoff is over.
        if (w->backoff == 0 || w->next_poll <= now) prepare.push_back(w);
        else wake = wake == 0 ? w->next_poll : std::min(wake, w->next_poll);
        continue;
      }
      EvaluateLocked(*w, now);  // deadlines
      if (w->decided) continue;
      if (w->next_poll <= now) {
        poll.push_back(w);
        w->next_poll = NextPollLocked(*w, now);  // moved on now: a slow poll is not repeated
      }
      const Time next = std::min(w->next_poll, w->deadline);
      wake = wake == 0 ? next : std::min(wake, next);
    }
    auto cancels = std::move(to_cancel_);
    to_cancel_.clear();
    auto remember = std::move(to_remember_);
    to_remember_.clear();
    if (prepare.empty() && poll.empty() && cancels.empty() && remember.empty()) {
      if (wake == 0) cv_.wait(lock);
      else cv_.wait_for(lock, std::chrono::milliseconds(std::max<Duration>(wake - now, 1)));
      continue;
    }
    lock.unlock();
    for (const auto& w : prepare) Prepare(w);
    for (const auto& w : poll) Poll(w);
    for (const auto& [repo, sha] : cancels) CancelCi(repo, sha);
    for (const auto& r : remember) Remember(r);
    lock.lock();
  }
}

void CiGate::Prepare(const std::shared_ptr<Wait>& w) {
  // Read here, not in Start: after a restart it may ask the forge.
  auto config = configs_(w->key);
  if (!config || !config->checks.active()) return Delegate(w);
  std::vector<std::string> required = config->checks.required;
  if (config->checks.from_branch_protection) {
    auto names = ProtectedChecks(w->key);
    if (!names.ok()) {
      LOG_WARN("cannot read the branch protection's required checks; will retry",
               {{"repo", w->key.repo}, {"branch", w->key.branch}, {"error", names.error().ToString()}});
      std::lock_guard<std::mutex> lock(mu_);
      BackOffLocked(*w, clock_.Now());
      return;
    }
    for (const std::string& n : *names)
      if (std::find(required.begin(), required.end(), n) == required.end()) required.push_back(n);
  }
  std::optional<engine::CachedVerdict> hit;
  if (cache_ && trees_ && !required.empty()) {
    auto tree = trees_(w->key.repo, w->run.commit);
    if (tree.ok()) {
      auto found = cache_->Find(w->key.repo, *tree, required);
      if (found.ok()) hit = *found;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!Live(*w)) return;  // cancelled meanwhile
  const Time now = clock_.Now();
  w->config = std::move(*config);
  w->required = std::move(required);
  w->deadline = w->run.started_at + w->config.checks.timeout;
  // A run started a while ago was waiting before a restart: poll at once.
  w->resumed = w->run.started_at + kSecond < now;
  w->next_poll = w->resumed ? now : NextPollLocked(*w, now);
  w->backoff = 0;
  w->prepared = true;
  // Webhooks heard before the names were known may name other checks.
  std::erase_if(w->checks, [&](const auto& kv) {
    return std::find(w->required.begin(), w->required.end(), kv.first) == w->required.end();
  });
  if (hit) {
    w->cached = true;
    for (const std::string& name : w->required) {
      auto link = hit->links.find(name);
      w->checks[name] = CheckView{name, CiState::kSuccess, "cached", link == hit->links.end() ? "" : link->second,
                                  "cache"};
    }
    to_cancel_.emplace_back(w->key.repo, w->run.commit);  // the CI its push started is not needed
    LOG_INFO("required checks answered by the verdict cache",
             {{"repo", w->key.repo}, {"batch", std::to_string(w->run.batch)}, {"passed_on", hit->commit}});
  }
  // Under the lock, so that a Cancel either finds the pipeline started or
  // keeps it from starting; the inner port never answers from Start itself.
  w->pipeline_running = !w->config.pipeline.empty();
  if (w->pipeline_running) pipeline_.Start(w->key, w->run, *relay_);
  EvaluateLocked(*w, now);
}

void CiGate::Delegate(const std::shared_ptr<Wait>& w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!Live(*w)) return;
  waits_.erase({w->key, w->run.batch});
  pipeline_.Start(w->key, w->run, *w->sink);  // under the lock: see Prepare
}

bool CiGate::Live(const Wait& w) const {
  auto it = waits_.find({w.key, w.run.batch});
  return it != waits_.end() && it->second.get() == &w;
}

void CiGate::BackOffLocked(Wait& w, Time now) {
  w.backoff = std::clamp<Duration>(w.backoff * 2, options_.poll_interval, options_.max_poll_backoff);
  w.next_poll = now + w.backoff;
}

Result<std::vector<std::string>> CiGate::ProtectedChecks(const engine::QueueKey& key) {
  const Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = protection_.find({key.repo, key.branch});
    if (it != protection_.end() && now - it->second.first < options_.protection_ttl) return it->second.second;
  }
  ForgeApi* api = forges_.ForRepo(key.repo);
  if (!api) return Transient("no forge is known for " + key.repo);
  auto names = api->RequiredChecks(key.repo, key.branch);
  if (!names.ok()) return names.error();
  std::lock_guard<std::mutex> lock(mu_);
  protection_[{key.repo, key.branch}] = {now, *names};
  return *names;
}

void CiGate::Poll(const std::shared_ptr<Wait>& w) {
  ForgeApi* api = forges_.ForRepo(w->key.repo);
  auto checks = api ? api->ListChecks(w->key.repo, w->run.commit)
                    : Result<std::vector<CiCheck>>(Transient("no forge is known for " + w->key.repo));
  polls_->With({checks.ok() ? "ok" : "error"}).Inc();
  std::lock_guard<std::mutex> lock(mu_);
  if (w->decided) return;
  const Time now = clock_.Now();
  if (!checks.ok()) {
    BackOffLocked(*w, now);
    LOG_WARN("polling CI verdicts failed", {{"repo", w->key.repo}, {"commit", w->run.commit},
                                            {"error", checks.error().ToString()},
                                            {"next_in_s", std::to_string(w->backoff / kSecond)}});
    return;
  }
  w->backoff = 0;
  for (const CiCheck& c : *checks)
    if (c.sha.empty() || c.sha == w->run.commit) ApplyLocked(*w, c, CiSource::kPoll);
  EvaluateLocked(*w, now);
}

void CiGate::CancelCi(const std::string& repo, const std::string& sha) {
  ForgeApi* api = forges_.ForRepo(repo);
  if (!api) return;
  if (Status st = api->CancelChecks(repo, sha); !st.ok()) {
    LOG_WARN("cancelling CI no longer needed failed", {{"repo", repo}, {"commit", sha}, {"error", st.error().ToString()}});
  }
}

void CiGate::Remember(const Remembered& r) {
  auto tree = trees_(r.repo, r.verdict.commit);
  if (!tree.ok()) return;
  if (Status st = cache_->Put(r.repo, *tree, r.checks, r.verdict); !st.ok()) {
    LOG_WARN("cannot remember a CI verdict", {{"repo", r.repo}, {"error", st.error().ToString()}});
  }
}

}  // namespace mergeyard::forge
