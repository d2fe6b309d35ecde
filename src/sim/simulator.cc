#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "engine/engine.h"
#include "sim/world.h"

namespace mergeyard::sim {
namespace {

const engine::QueueKey kKey{"sim/repo", "main"};

// Structural invariants of a queue state; empty when all hold. Costs
// O(entries + batches); `indexes_too` adds queue::CheckIndexes (a rebuild of
// the indexes, several times dearer).
std::string CheckState(const queue::State& s, bool indexes_too) {
  for (const auto& [id, b] : s.batches) {
    if (b.prs.empty()) return "batch #" + std::to_string(id) + " is empty";
    for (auto pr : b.prs) {
      auto it = s.entries.find(pr);
      if (it == s.entries.end())
        return "batch #" + std::to_string(id) + " holds ended entry " + std::to_string(pr);
      if (it->second.batch != id)
        return "entry " + std::to_string(pr) + " is in batch #" + std::to_string(id) +
               " but points at #" + std::to_string(it->second.batch);
    }
  }
  for (auto id : s.main) {
    auto it = s.batches.find(id);
    if (it == s.batches.end() || it->second.kind != queue::BatchKind::kMain)
      return "main queue names a batch that is not a live main batch: #" + std::to_string(id);
  }
  if (s.landing != 0) {
    auto it = s.batches.find(s.landing);
    if (it == s.batches.end() || it->second.state != queue::BatchState::kLanding)
      return "landing #" + std::to_string(s.landing) + " is not a batch in landing state";
  }
  for (const auto& [pr, e] : s.entries) {
    bool waiting = e.status == queue::EntryStatus::kWaiting;
    if (waiting != (e.batch == 0))
      return "entry " + std::to_string(pr) + " is waiting and batched at once";
    if (!waiting && !s.batches.count(e.batch))
      return "entry " + std::to_string(pr) + " points at missing batch #" + std::to_string(e.batch);
  }
  if (indexes_too) return queue::CheckIndexes(s);
  return "";
}

double Seconds(Time t) { return static_cast<double>(t) / 1000.0; }

class Run {
 public:
  Run(const Scenario& sc, const SimOptions& opt)
      : sc_(sc), opt_(opt), world_(sc, clock_, calendar_),
        engine_(engine::Ports{&world_, &world_, &world_, &world_, nullptr, &clock_}) {
    engine_.SetNewQueueConfig([this](const engine::QueueKey&) { return sc_.config; });
    engine_.SetObserver([this](const engine::QueueKey&, const queue::Event& event,
                               const queue::State& state, const std::vector<queue::Effect>& effects) {
      Observe(event, state, effects);
    });
    world_.SetSink(&engine_);
  }

  Result<SimResult> Go() {
    engine_.Post(kKey, queue::TargetMoved{World::kInitialTip});
    for (size_t i = 0; i < sc_.prs.size(); ++i) {
      Time at = static_cast<Time>(std::llround(sc_.prs[i].arrive_s * 1000));
      calendar_.At(at, [this, i] {
        auto pr = static_cast<std::int64_t>(i + 1);
        world_.MarkEnqueued(pr, clock_.Now());
        engine_.Post(kKey, queue::Enqueue{pr, "head-" + sc_.prs[i].id, sc_.prs[i].priority});
      });
    }
    if (auto s = Step(); !s.ok()) return s.error();
    while (!calendar_.Empty()) {
      calendar_.RunNext(clock_);
      if (auto s = Step(); !s.ok()) return s.error();
    }
    return Finish();
  }

 private:
  Status Step() {
    auto drained = engine_.Drain();
    if (!drained.ok()) return drained.error();
    if (!violation_.empty()) return Internal(violation_);
    // Checked as it happens, so that a queue that loops stops here.
    if (world_.most_own_runs() > opt_.max_own_runs &&
        world_.own_runs()[world_.most_tested() - 1] > opt_.max_own_runs)
      return Liveness(world_.most_tested());
    if (!world_.violations().empty())
      return Internal("invariant broken at step " + std::to_string(step_) + " (" + last_event_ +
                      "): " + world_.violations().front());
    return Ok();
  }

  Status Liveness(std::int64_t pr) {
    auto state = engine_.Snapshot(kKey);
    return Internal("liveness broken at step " + std::to_string(step_) + " (t=" +
                    std::to_string(Seconds(clock_.Now())) + "s): " + world_.Id(pr) +
                    " was tested in " + std::to_string(world_.own_runs()[pr - 1]) +
                    " batches of its own (at most " + std::to_string(opt_.max_own_runs) + ")\n" +
                    (state ? queue::ToString(*state) : ""));
  }

  void Observe(const queue::Event& event, const queue::State& state,
               const std::vector<queue::Effect>& effects) {
    ++step_;
    last_event_ = queue::ToString(event);
    if (opt_.trace) {
      std::string line = "step " + std::to_string(step_) + " t=" + std::to_string(Seconds(clock_.Now())) +
                         "s " + last_event_ + " ->";
      for (const auto& e : effects) line += " " + queue::ToString(e);
      std::fprintf(stderr, "%s\n%s", line.c_str(), queue::ToString(state).c_str());
    }
    // A small state is checked after every step. A large one (a backlog of
    // thousands) every 1 + size/64 steps, its indexes every 1 + size/2, so
    // that checking costs O(1) per step amortized instead of O(queue).
    std::int64_t size = static_cast<std::int64_t>(state.entries.size() + state.batches.size());
    bool check = step_ % (1 + size / 64) == 0;
    bool indexes_too = step_ % (1 + size / 2) == 0;
    if (violation_.empty() && (check || indexes_too)) {
      std::string broken = CheckState(state, indexes_too);
      if (!broken.empty())
        violation_ = "invariant broken at step " + std::to_string(step_) + " (" + last_event_ +
                     "): " + broken + "\n" + queue::ToString(state);
    }
    if (!opt_.keep_batches) return;
    for (const auto& e : effects) {
      if (const auto* done = std::get_if<queue::BatchDone>(&e)) Record(*done, state);
    }
  }

  void Record(const queue::BatchDone& done, const queue::State& state) {
    auto run = world_.runs().find(done.batch.id);
    if (run == world_.runs().end()) return;  // never tested
    BatchResult b;
    b.id = done.batch.id;
    for (auto pr : done.batch.prs) b.prs.push_back(world_.Id(pr));
    b.base = done.batch.parent == 0 ? state.target_branch : "batch:" + std::to_string(done.batch.parent);
    b.kind = queue::BatchKindName(done.batch.kind);
    b.result = done.result;
    b.start_s = Seconds(run->second.start);
    b.end_s = Seconds(run->second.finished ? run->second.end : clock_.Now());
    batches_.push_back(std::move(b));
  }

  Result<SimResult> Finish() {
    SimResult r;
    r.transitions = step_;
    r.ci_runs = world_.runs_started();
    for (auto& b : batches_) {
      if (world_.runs().count(b.id)) r.batches.push_back(std::move(b));  // not dropped unstarted
    }
    std::sort(r.batches.begin(), r.batches.end(),
              [](const BatchResult& a, const BatchResult& b) { return a.id < b.id; });
    bool exact = HasNoFlakes(sc_);
    auto partners = FailPartners(sc_);
    for (size_t i = 0; i < sc_.prs.size(); ++i) {
      const PrRecord& rec = world_.prs()[i];
      const ScenarioPr& p = sc_.prs[i];
      if (rec.outcome.empty()) {
        auto state = engine_.Snapshot(kKey);
        return Internal("invariant broken at the end: " + p.id + " never ended\n" +
                        (state ? queue::ToString(*state) : ""));
      }
      std::string merged_partner;
      for (size_t j : partners[i])
        if (world_.prs()[j].outcome == "merged") merged_partner = sc_.prs[j].id;
      if (!merged_partner.empty() && rec.outcome == "merged")
        return Internal("invariant broken: " + p.id + " and " + merged_partner +
                        ", which fail together, both merged");
      if (exact && p.bad && rec.outcome == "merged")
        return Internal("invariant broken: bad pull request " + p.id + " was merged");
      if (exact && !p.bad && rec.outcome == "kicked" && merged_partner.empty())
        return Internal("invariant broken: good pull request " + p.id + " was kicked without a flake" +
                        (partners[i].empty() ? "" : " and without a partner it fails with merged"));
      PrResult pr{rec.outcome, Seconds(rec.enqueued), Seconds(rec.done), p.bad};
      pr.partner_merged = !merged_partner.empty();
      r.prs[p.id] = pr;
    }
    if (auto state = engine_.Snapshot(kKey); state && (!state->entries.empty() || !state->batches.empty()))
      return Internal("invariant broken at the end: the queue is not empty\n" + queue::ToString(*state));
    double ci_seconds = 0;
    for (const auto& [id, run] : world_.runs())
      ci_seconds += Seconds((run.finished || run.cancelled ? run.end : clock_.Now()) - run.start);
    ComputeMetrics(r, ci_seconds);
    r.metrics.ci_compute_hours = world_.compute_seconds() / 3600;
    return r;
  }

  const Scenario& sc_;
  SimOptions opt_;
  ManualClock clock_;
  Calendar calendar_;
  World world_;
  engine::Engine engine_;
  std::int64_t step_ = 0;
  std::string last_event_;
  std::string violation_;
  std::vector<BatchResult> batches_;
};

}  // namespace

double Percentile(std::vector<double> values, double pct) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(pct / 100.0 * values.size()));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

void ComputeMetrics(SimResult& r, double ci_seconds) {
  Metrics& m = r.metrics;
  std::vector<double> ttm;
  for (const auto& [id, p] : r.prs) {
    if (p.outcome == "merged") {
      ++m.merged;
      ttm.push_back(p.done_s - p.enqueued_s);
      if (p.bad) ++m.escapes;
    } else if (p.outcome == "kicked") {
      ++m.kicked;
      if (!p.bad && !p.partner_merged) ++m.false_kicks;
    }
    m.makespan_s = std::max(m.makespan_s, p.done_s);
  }
  m.p50_time_to_merge_s = Percentile(ttm, 50);
  m.p95_time_to_merge_s = Percentile(ttm, 95);
  m.ci_runs_per_merged = m.merged ? static_cast<double>(r.ci_runs) / m.merged : 0;
  m.ci_hours = ci_seconds / 3600;
  m.merged_per_hour = m.makespan_s > 0 ? m.merged / (m.makespan_s / 3600) : 0;
}

Result<SimResult> Simulate(const Scenario& scenario, const SimOptions& options) {
  return Run(scenario, options).Go();
}

nlohmann::json ToJson(const SimResult& r) {
  using nlohmann::json;
  json prs = json::object();
  for (const auto& [id, p] : r.prs) {
    json o{{"outcome", p.outcome}, {"enqueued_s", p.enqueued_s}};
    if (p.done_s >= 0) o["done_s"] = p.done_s;
    prs[id] = std::move(o);
  }
  json batches = json::array();
  for (const auto& b : r.batches) {
    batches.push_back(json{{"id", b.id}, {"prs", b.prs}, {"base", b.base}, {"kind", b.kind},
                           {"result", b.result}, {"start_s", b.start_s}, {"end_s", b.end_s}});
  }
  const Metrics& m = r.metrics;
  return json{{"prs", std::move(prs)},
              {"ci_runs", r.ci_runs},
              {"batches", std::move(batches)},
              {"metrics",
               {{"merged", m.merged},
                {"kicked", m.kicked},
                {"false_kicks", m.false_kicks},
                {"escapes", m.escapes},
                {"p50_time_to_merge_s", m.p50_time_to_merge_s},
                {"p95_time_to_merge_s", m.p95_time_to_merge_s},
                {"ci_runs_per_merged", m.ci_runs_per_merged},
                {"ci_hours", m.ci_hours},
                {"ci_compute_hours", m.ci_compute_hours},
                {"makespan_s", m.makespan_s},
                {"merged_per_hour", m.merged_per_hour}}}};
}

std::string Summary(const SimResult& r) {
  std::ostringstream o;
  const Metrics& m = r.metrics;
  o << "batches (" << r.batches.size() << " tested, " << r.ci_runs << " CI runs):\n";
  for (const auto& b : r.batches) {
    o << "  #" << b.id << " " << b.kind << " on " << b.base << " [";
    for (size_t i = 0; i < b.prs.size(); ++i) o << (i ? " " : "") << b.prs[i];
    o << "] " << b.result << "  " << b.start_s << "s -> " << b.end_s << "s\n";
  }
  o << "pull requests:\n";
  for (const auto& [id, p] : r.prs) {
    o << "  " << id << (p.bad ? " (bad)" : "") << ": " << p.outcome << " after "
      << (p.done_s - p.enqueued_s) << "s\n";
  }
  o << "merged " << m.merged << ", kicked " << m.kicked << " (false kicks " << m.false_kicks
    << "), p50 time to merge " << m.p50_time_to_merge_s << "s, p95 " << m.p95_time_to_merge_s
    << "s, CI runs per merged " << m.ci_runs_per_merged << ", makespan " << m.makespan_s << "s\n";
  return o.str();
}

}  // namespace mergeyard::sim
