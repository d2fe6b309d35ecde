#pragma once
// The simulated world around one Engine: a virtual calendar, a fake git remote
// (commits are lists of pull requests), a fake CI whose outcomes follow the
// scenario's rules, a fake forge recording what people would be told, and
// timers. The world outlives an Engine, so tests can crash one and recover
// another against the same world.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "engine/ports.h"
#include "sim/scenario.h"

namespace mergeyard::sim {

// Events at virtual times; equal times run in the order they were added.
class Calendar {
 public:
  void At(Time t, std::function<void()> fn);
  bool Empty() const { return items_.empty(); }
  Time NextTime() const { return items_.begin()->first.first; }
  // Sets the clock to the next item's time and runs it. REQUIRES: !Empty().
  void RunNext(ManualClock& clock);

 private:
  std::map<std::pair<Time, std::uint64_t>, std::function<void()>> items_;
  std::uint64_t seq_ = 0;
};

struct RunRecord {
  queue::BatchId batch = 0;
  std::string commit;
  std::vector<std::int64_t> holds;  // pull request numbers in the tested tree, not landed
  std::int64_t base_landing = 0;    // the tree also holds every landing up to this one
  Time start = 0;
  Time end = 0;
  Time own_start = 0;               // the run's own steps, after the shared one
  Time own_end = 0;
  bool flaked = false;              // drawn at start from flake_rate
  bool finished = false;
  bool cancelled = false;
  bool passed = false;
};

struct PrRecord {
  std::string outcome;  // "", "merged", "kicked", "cancelled"
  Time enqueued = -1;
  Time done = -1;
  int terminal_reports = 0;
};

class World final : public engine::GitPort,
                    public engine::RunPort,
                    public engine::ForgePort,
                    public engine::TimerPort {
 public:
  static constexpr const char* kInitialTip = "main@0";

  World(const Scenario& scenario, ManualClock& clock, Calendar& calendar);

  // Where the world's answers go; null drops them (a crashed engine).
  void SetSink(engine::EventSink* sink) { sink_ = sink; }

  // engine::GitPort
  void Build(const engine::QueueKey& key, const queue::BuildBatch& build,
             engine::EventSink& sink) override;
  void Land(const engine::QueueKey& key, const queue::Land& land, engine::EventSink& sink) override;
  void Drop(const engine::QueueKey&, const queue::BatchDone&) override {}
  // engine::RunPort
  void Start(const engine::QueueKey& key, const queue::StartRun& run,
             engine::EventSink& sink) override;
  void Cancel(const engine::QueueKey& key, const queue::CancelRun& cancel) override;
  // engine::ForgePort
  void Report(const engine::QueueKey& key, const queue::Report& report) override;
  // engine::TimerPort
  void Arm(const engine::QueueKey& key, Time at, engine::EventSink& sink) override;

  // Pull request number <-> scenario id (numbers are 1-based positions).
  std::int64_t Number(const std::string& id) const { return numbers_.at(id); }
  const std::string& Id(std::int64_t pr) const { return scenario_.prs.at(pr - 1).id; }

  const std::string& tip() const { return tip_; }
  const std::map<queue::BatchId, RunRecord>& runs() const { return runs_; }
  const std::vector<PrRecord>& prs() const { return prs_; }  // index = number - 1
  // Runs of batches that held the pull request as an entry of their own (not
  // through a batch they were stacked on), by number - 1: the liveness bound.
  const std::vector<int>& own_runs() const { return own_runs_; }
  // The largest own_runs() count reached so far (a run cancelled at its
  // start may have lowered it since) and the pull request (number) it is of.
  int most_own_runs() const { return most_own_runs_; }
  std::int64_t most_tested() const { return most_tested_; }
  void MarkEnqueued(std::int64_t pr, Time at) { prs_.at(pr - 1).enqueued = at; }
  int runs_started() const { return runs_started_; }
  // CI compute spent, in seconds: each run's own part (up to its end or
  // cancellation) plus each execution of the shared step.
  double compute_seconds() const { return compute_ms_ / 1000.0; }
  // Every commit the target moved to, in order.
  const std::vector<std::string>& landings() const { return landings_; }
  // Broken invariants seen by the fakes ("landed an untested tree", ...).
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  struct Commit {
    std::string parent;
    std::vector<std::int64_t> prs;
    bool landed = false;
    std::int64_t landing = 0;  // once landed: the ordinal of the landing that took it
  };
  // The pull requests of `commit`'s tree not landed yet, sorted, and the
  // ordinal of the landing its first landed ancestor came with.
  std::vector<std::int64_t> Holds(const std::string& commit, std::int64_t* base_landing) const;
  bool InTree(const RunRecord& run, std::int64_t pr) const;
  Time RunDuration(const std::vector<std::int64_t>& holds);
  bool Fails(const RunRecord& run) const;
  void Finish(queue::BatchId batch);
  void Answer(const engine::QueueKey& key, queue::Event event);
  void AnswerLater(const engine::QueueKey& key, queue::Event event);

  const Scenario& scenario_;
  ManualClock& clock_;
  Calendar& calendar_;
  engine::EventSink* sink_ = nullptr;
  engine::QueueKey key_;
  std::mt19937_64 rng_;

  std::map<std::string, std::int64_t> numbers_;
  std::map<std::string, Commit> commits_;
  std::string tip_ = kInitialTip;
  std::set<std::string> passed_commits_;
  std::map<queue::BatchId, RunRecord> runs_;
  // For each pull request, (start, batch) of every run that held it.
  std::vector<std::vector<std::pair<Time, queue::BatchId>>> runs_holding_;
  std::vector<PrRecord> prs_;
  std::vector<std::vector<size_t>> partners_;  // FailPartners(scenario)
  std::vector<std::int64_t> landed_in_;        // by number - 1: its landing's ordinal, 0 if none
  std::vector<int> own_runs_;
  int most_own_runs_ = 0;
  std::int64_t most_tested_ = 0;
  int runs_started_ = 0;
  std::vector<std::string> landings_;
  std::map<std::string, Time> shared_end_;  // tip -> when its shared step is done
  Time compute_ms_ = 0;
  std::vector<std::string> violations_;
};

}  // namespace mergeyard::sim
