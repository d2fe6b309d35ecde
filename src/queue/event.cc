#include "queue/event.h"

namespace mergeyard::queue {
namespace {

std::string Short(const std::string& sha) { return sha.substr(0, 10); }

struct Printer {
  std::string operator()(const Enqueue& e) const {
    return "Enqueue{pr=" + std::to_string(e.pr) + " head=" + Short(e.head_sha) +
           " prio=" + std::to_string(e.priority) + "}";
  }
  std::string operator()(const Cancel& e) const {
    return "Cancel{pr=" + std::to_string(e.pr) + " " + ReportReasonName(e.reason) + "}";
  }
  std::string operator()(const HeadChanged& e) const {
    return "HeadChanged{pr=" + std::to_string(e.pr) + " head=" + Short(e.head_sha) + "}";
  }
  std::string operator()(const Reprioritize& e) const {
    return "Reprioritize{pr=" + std::to_string(e.pr) + " prio=" + std::to_string(e.priority) + "}";
  }
  std::string operator()(const BatchBuilt& e) const {
    return "BatchBuilt{#" + std::to_string(e.batch) + " " + Short(e.commit) +
           " conflicts=" + std::to_string(e.conflicts.size()) + "}";
  }
  std::string operator()(const BuildFailed& e) const {
    return "BuildFailed{#" + std::to_string(e.batch) + " " + e.message + "}";
  }
  std::string operator()(const RunFinished& e) const {
    return "RunFinished{#" + std::to_string(e.batch) + (e.passed ? " pass" : " fail") + "}";
  }
  std::string operator()(const LandResult& e) const {
    return "LandResult{#" + std::to_string(e.batch) + (e.landed ? " landed" : " rejected") +
           " tip=" + Short(e.tip) + "}";
  }
  std::string operator()(const TargetMoved& e) const { return "TargetMoved{" + Short(e.tip) + "}"; }
  std::string operator()(const TimerFired&) const { return "TimerFired{}"; }
  std::string operator()(const SetPaused& e) const {
    return std::string("SetPaused{") + (e.paused ? "true" : "false") + "}";
  }
  std::string operator()(const ConfigChanged&) const { return "ConfigChanged{}"; }
};

}  // namespace

std::string ToString(const Event& e) { return std::visit(Printer{}, e); }

}  // namespace mergeyard::queue
