#include "engine/transition_log.h"

#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace mergeyard::engine {
namespace {

std::string Join(const std::vector<queue::PrNumber>& prs) {
  std::string out;
  for (size_t i = 0; i < prs.size(); ++i) out += (i ? "," : "") + std::to_string(prs[i]);
  return out;
}

// Builds one line: the queue's fields first, then what the caller adds.
class Line {
 public:
  Line(const QueueKey& key, std::string message) {
    line_.message = std::move(message);
    line_.fields = {{"repo", key.repo}, {"branch", key.branch}};
  }
  Line& Add(std::string name, std::string value) {
    line_.fields.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Line& Pr(queue::PrNumber pr) { return Add("pr", std::to_string(pr)); }
  Line& Prs(const std::vector<queue::PrNumber>& prs) { return Add("prs", Join(prs)); }
  Line& Batch(queue::BatchId batch) { return Add("batch", std::to_string(batch)); }
  Line& AddIf(bool cond, std::string name, std::string value) {
    return cond ? Add(std::move(name), std::move(value)) : *this;
  }
  TransitionLine Done() { return std::move(line_); }

 private:
  TransitionLine line_;
};

const char* YesNo(bool b) { return b ? "yes" : "no"; }

struct EventLine {
  const QueueKey& key;

  TransitionLine operator()(const queue::Enqueue& e) const {
    return Line(key, "event: enqueue").Pr(e.pr).Add("head", e.head_sha)
        .Add("priority", std::to_string(e.priority)).Done();
  }
  TransitionLine operator()(const queue::Cancel& e) const {
    return Line(key, "event: cancel").Pr(e.pr).Done();  // the reason is free text
  }
  TransitionLine operator()(const queue::HeadChanged& e) const {
    return Line(key, "event: head changed").Pr(e.pr).Add("head", e.head_sha).Done();
  }
  TransitionLine operator()(const queue::Reprioritize& e) const {
    return Line(key, "event: reprioritize").Pr(e.pr).Add("priority", std::to_string(e.priority)).Done();
  }
  TransitionLine operator()(const queue::BatchBuilt& e) const {
    std::vector<queue::PrNumber> conflicting;
    for (const auto& c : e.conflicts) conflicting.push_back(c.pr);
    return Line(key, "event: batch built").Batch(e.batch)
        .Add("commit", e.commit.empty() ? "(none: every entry conflicted)" : e.commit)
        .Add("conflicts", std::to_string(e.conflicts.size()))
        .AddIf(!conflicting.empty(), "conflicting_prs", Join(conflicting)).Done();
  }
  TransitionLine operator()(const queue::BuildFailed& e) const {
    // The adapter logged its error; it may quote the remote.
    return Line(key, "event: batch build failed").Batch(e.batch).Done();
  }
  TransitionLine operator()(const queue::RunFinished& e) const {
    return Line(key, "event: run finished").Batch(e.batch).Add("result", e.passed ? "pass" : "fail")
        .AddIf(!e.passed && !e.failed_step.empty(), "failed_step", e.failed_step).Done();
  }
  TransitionLine operator()(const queue::LandResult& e) const {
    return Line(key, "event: land result").Batch(e.batch).Add("landed", YesNo(e.landed))
        .AddIf(!e.tip.empty(), "tip", e.tip).Done();
  }
  TransitionLine operator()(const queue::TargetMoved& e) const {
    return Line(key, "event: target moved").Add("tip", e.tip).Done();
  }
  TransitionLine operator()(const queue::TimerFired&) const {
    return Line(key, "event: timer fired").Done();
  }
  TransitionLine operator()(const queue::SetPaused& e) const {
    return Line(key, e.paused ? "event: paused" : "event: resumed").Done();
  }
  TransitionLine operator()(const queue::ConfigChanged& e) const {
    const queue::QueueConfig& c = e.config;
    return Line(key, "event: config changed")
        .Add("target_batch_size", std::to_string(c.target_batch_size))
        .Add("concurrency", std::to_string(c.concurrency))
        .Add("pending_failure_depth", std::to_string(c.pending_failure_depth))
        .Add("optimistic_merging", YesNo(c.optimistic_merging))
        .Add("merge_method", queue::MergeMethodName(c.merge_method)).Done();
  }
};

struct EffectLine {
  const QueueKey& key;

  TransitionLine operator()(const queue::BuildBatch& e) const {
    std::vector<queue::PrNumber> prs;
    for (const auto& entry : e.entries) prs.push_back(entry.pr);
    return Line(key, "batch build requested").Prs(prs).Batch(e.batch).Add("base", e.base_sha)
        .Add("method", queue::MergeMethodName(e.method)).Done();
  }
  TransitionLine operator()(const queue::StartRun& e) const {
    return Line(key, "run started").Batch(e.batch).Add("commit", e.commit).Done();
  }
  TransitionLine operator()(const queue::CancelRun& e) const {
    return Line(key, "run cancelled").Batch(e.batch).Done();
  }
  TransitionLine operator()(const queue::Land& e) const {
    return Line(key, "landing").Prs(e.prs).Batch(e.batch).Add("commit", e.commit)
        .Add("expected_tip", e.expected_tip).Done();
  }
  TransitionLine operator()(const queue::Report& e) const {
    // The message is left out: it quotes people and paths; the forge has it.
    return Line(key, std::string("report: ") + queue::ReportKindName(e.kind)).Pr(e.pr)
        .AddIf(e.batch != 0, "batch", std::to_string(e.batch))
        .AddIf(!e.commit.empty(), "commit", e.commit)
        .AddIf(!e.failed_step.empty(), "failed_step", e.failed_step)
        .AddIf(!e.paths.empty(), "conflicting_files", std::to_string(e.paths.size())).Done();
  }
  TransitionLine operator()(const queue::ArmTimer& e) const {
    return Line(key, "timer armed").Add("at_ms", std::to_string(e.at)).Done();
  }
  TransitionLine operator()(const queue::BatchDone& e) const {
    return Line(key, "batch done").Prs(e.batch.prs).Batch(e.batch.id)
        .Add("kind", queue::BatchKindName(e.batch.kind)).Add("result", e.result).Done();
  }
};

void Write(const TransitionLine& line) { Log(LogLevel::kInfo, line.message, line.fields); }

}  // namespace

TransitionLine DescribeEvent(const QueueKey& key, const queue::Event& event) {
  return std::visit(EventLine{key}, event);
}

TransitionLine DescribeEffect(const QueueKey& key, const queue::Effect& effect) {
  return std::visit(EffectLine{key}, effect);
}

void LogEvent(const QueueKey& key, const queue::Event& event) {
  if (GetLogLevel() > LogLevel::kInfo) return;  // spare the formatting
  Write(DescribeEvent(key, event));
}

void LogEffect(const QueueKey& key, const queue::Effect& effect) {
  if (GetLogLevel() > LogLevel::kInfo) return;
  Write(DescribeEffect(key, effect));
}

}  // namespace mergeyard::engine
