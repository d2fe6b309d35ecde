#include "sim/world.h"

#include <algorithm>
#include <cmath>

namespace mergeyard::sim {

void Calendar::At(Time t, std::function<void()> fn) { items_.emplace(std::make_pair(t, seq_++), std::move(fn)); }

void Calendar::RunNext(ManualClock& clock) {
  auto it = items_.begin();
  auto fn = std::move(it->second);
  clock.Set(it->first.first);
  items_.erase(it);
  fn();
}

World::World(const Scenario& scenario, ManualClock& clock, Calendar& calendar)
    : scenario_(scenario),
      clock_(clock),
      calendar_(calendar),
      rng_(scenario.seed),
      runs_holding_(scenario.prs.size()),
      prs_(scenario.prs.size()),
      partners_(FailPartners(scenario)),
      landed_in_(scenario.prs.size(), 0),
      own_runs_(scenario.prs.size(), 0) {
  for (size_t i = 0; i < scenario.prs.size(); ++i) numbers_[scenario.prs[i].id] = i + 1;
  commits_[kInitialTip] = Commit{"", {}, true};
}

void World::Answer(const engine::QueueKey& key, queue::Event event) {
  if (sink_) sink_->Post(key, std::move(event));
}

// Git answers arrive after everything already due at this instant, as they
// would from a real remote.
void World::AnswerLater(const engine::QueueKey& key, queue::Event event) {
  calendar_.At(clock_.Now(), [this, key, event = std::move(event)] { Answer(key, event); });
}

// ---- git ----------------------------------------------------------------------

void World::Build(const engine::QueueKey& key, const queue::BuildBatch& build, engine::EventSink&) {
  // The same batch id always builds the same commit, so a rebuild after a
  // crash is harmless.
  std::string commit = "c" + std::to_string(build.batch);
  Commit c{build.base_sha, {}, false};
  for (const auto& e : build.entries) c.prs.push_back(e.pr);
  commits_[commit] = std::move(c);
  AnswerLater(key, queue::BatchBuilt{build.batch, commit, {}});
}

void World::Land(const engine::QueueKey& key, const queue::Land& land, engine::EventSink&) {
  if (tip_ == land.commit) {
    AnswerLater(key, queue::LandResult{land.batch, true, tip_});
    return;
  }
  if (tip_ != land.expected_tip) {
    AnswerLater(key, queue::LandResult{land.batch, false, tip_});
    return;
  }
  if (!passed_commits_.count(land.commit))
    violations_.push_back("landed " + land.commit + ", whose tree never passed a run");
  // Every pull request in the new tip's history is merged.
  auto landing = static_cast<std::int64_t>(landings_.size() + 1);
  for (std::string c = land.commit; !c.empty() && !commits_.at(c).landed; c = commits_.at(c).parent) {
    Commit& commit = commits_.at(c);
    commit.landed = true;
    commit.landing = landing;
    for (auto pr : commit.prs) landed_in_.at(pr - 1) = landing;
  }
  tip_ = land.commit;
  landings_.push_back(tip_);
  AnswerLater(key, queue::LandResult{land.batch, true, tip_});
}

// ---- CI -----------------------------------------------------------------------

std::vector<std::int64_t> World::Holds(const std::string& commit, std::int64_t* base_landing) const {
  std::vector<std::int64_t> out;
  *base_landing = 0;
  for (std::string c = commit; !c.empty();) {
    auto it = commits_.find(c);
    if (it == commits_.end()) break;
    if (it->second.landed) {
      *base_landing = it->second.landing;
      break;
    }
    out.insert(out.end(), it->second.prs.begin(), it->second.prs.end());
    c = it->second.parent;
  }
  std::sort(out.begin(), out.end());
  return out;
}

Time World::RunDuration(const std::vector<std::int64_t>& holds) {
  double longest = -1;
  for (auto pr : holds) {
    const auto& d = scenario_.prs.at(pr - 1).ci_duration_s;
    if (d) longest = std::max(longest, *d);
  }
  if (longest > 0) return static_cast<Time>(longest * 1000);
  const CiModel& ci = scenario_.ci;
  double seconds = ci.duration_s;
  if (ci.sigma > 0) {
    std::normal_distribution<double> z(0, 1);
    seconds = std::min(ci.duration_s * std::exp(ci.sigma * z(rng_)), 4 * ci.duration_s);
    if (ci.hang_rate > 0 && std::bernoulli_distribution(ci.hang_rate)(rng_))
      seconds = 3 * ci.duration_s;
  }
  return std::max<Time>(1000, static_cast<Time>(seconds * 1000));
}

void World::Start(const engine::QueueKey& key, const queue::StartRun& run, engine::EventSink&) {
  key_ = key;
  auto existing = runs_.find(run.batch);
  if (existing != runs_.end()) {
    // Re-attach: a finished run answers again, a running one answers when done.
    if (existing->second.finished && !existing->second.cancelled)
      Answer(key, queue::RunFinished{run.batch, existing->second.passed, "test", ""});
    return;
  }
  RunRecord r;
  r.batch = run.batch;
  r.commit = run.commit;
  r.holds = Holds(run.commit, &r.base_landing);
  r.start = clock_.Now();
  Time duration = RunDuration(r.holds);
  const CiModel& ci = scenario_.ci;
  if (ci.shared_fraction > 0 && ci.action_merging) {
    Time shared = static_cast<Time>(duration * ci.shared_fraction);
    auto it = shared_end_.find(tip_);
    if (it == shared_end_.end()) {
      it = shared_end_.emplace(tip_, r.start + shared).first;
      compute_ms_ += shared;
    }
    // The shared step comes first: executed, joined while in flight, or cached.
    r.own_start = std::max(r.start, it->second);
    r.own_end = r.own_start + (duration - shared);
  } else {
    r.own_start = r.start;
    r.own_end = r.start + duration;
  }
  r.end = r.own_end;
  compute_ms_ += r.own_end - r.own_start;
  if (scenario_.ci.flake_rate > 0)
    r.flaked = std::bernoulli_distribution(scenario_.ci.flake_rate)(rng_);
  for (auto pr : r.holds) runs_holding_[pr - 1].emplace_back(r.start, r.batch);
  for (auto pr : commits_.at(run.commit).prs) {
    if (++own_runs_[pr - 1] > most_own_runs_) {
      most_own_runs_ = own_runs_[pr - 1];
      most_tested_ = pr;
    }
  }
  ++runs_started_;
  Time end = r.end;
  runs_[run.batch] = std::move(r);
  calendar_.At(end, [this, batch = run.batch] { Finish(batch); });
}

bool World::InTree(const RunRecord& run, std::int64_t pr) const {
  if (std::binary_search(run.holds.begin(), run.holds.end(), pr)) return true;
  std::int64_t landed = landed_in_.at(pr - 1);
  return landed > 0 && landed <= run.base_landing;
}

bool World::Fails(const RunRecord& run) const {
  if (run.flaked) return true;
  for (auto pr : run.holds) {
    const ScenarioPr& p = scenario_.prs.at(pr - 1);
    if (p.bad) return true;
    for (size_t partner : partners_[pr - 1])
      if (InTree(run, static_cast<std::int64_t>(partner + 1))) return true;
    if (p.fail_runs.empty()) continue;
    const auto& held = runs_holding_[pr - 1];
    auto me = std::make_pair(run.start, run.batch);
    int ordinal = static_cast<int>(std::count_if(held.begin(), held.end(),
                                                 [&](const auto& x) { return x <= me; }));
    if (std::find(p.fail_runs.begin(), p.fail_runs.end(), ordinal) != p.fail_runs.end())
      return true;
  }
  return false;
}

void World::Finish(queue::BatchId batch) {
  auto it = runs_.find(batch);
  if (it == runs_.end() || it->second.cancelled) return;
  RunRecord& r = it->second;
  r.finished = true;
  r.passed = !Fails(r);
  if (r.passed) passed_commits_.insert(r.commit);
  Answer(key_, queue::RunFinished{batch, r.passed, r.passed ? "" : "test",
                                  r.passed ? "" : "sim://log/" + std::to_string(batch)});
}

void World::Cancel(const engine::QueueKey&, const queue::CancelRun& cancel) {
  auto it = runs_.find(cancel.batch);
  if (it == runs_.end() || it->second.finished) return;
  RunRecord& r = it->second;
  r.cancelled = true;
  r.end = clock_.Now();
  if (r.end < r.own_end) compute_ms_ -= r.own_end - std::max(r.end, r.own_start);
  if (r.end == r.start) {
    // Cancelled the instant it was asked for: an execution backend drops such
    // stale work before any executor starts it, so it is no run at all.
    for (auto pr : r.holds) {
      auto& held = runs_holding_[pr - 1];
      held.erase(std::remove(held.begin(), held.end(), std::make_pair(r.start, r.batch)), held.end());
    }
    --runs_started_;
    if (auto c = commits_.find(r.commit); c != commits_.end())
      for (auto pr : c->second.prs) --own_runs_[pr - 1];
    runs_.erase(it);
  }
}

// ---- forge and timers -----------------------------------------------------------

void World::Report(const engine::QueueKey&, const queue::Report& report) {
  using queue::ReportKind;
  if (report.kind != ReportKind::kMerged && report.kind != ReportKind::kKicked &&
      report.kind != ReportKind::kCancelled)
    return;
  if (report.pr < 1 || report.pr > static_cast<std::int64_t>(prs_.size())) {
    violations_.push_back("report for unknown pull request " + std::to_string(report.pr));
    return;
  }
  PrRecord& pr = prs_[report.pr - 1];
  // A report delivered again after a crash (the outbox is at-least-once) is
  // the same ending, not a second one.
  if (pr.outcome == queue::ReportKindName(report.kind)) return;
  if (++pr.terminal_reports > 1) {
    violations_.push_back(Id(report.pr) + " ended twice (" + pr.outcome + ", then " +
                          queue::ReportKindName(report.kind) + ")");
    return;
  }
  pr.outcome = queue::ReportKindName(report.kind);
  pr.done = clock_.Now();
}

void World::Arm(const engine::QueueKey& key, Time at, engine::EventSink&) {
  calendar_.At(std::max(at, clock_.Now()), [this, key] { Answer(key, queue::TimerFired{}); });
}

}  // namespace mergeyard::sim
