#include "queue/effect.h"

namespace mergeyard::queue {

const char* ReportKindName(ReportKind k) {
  switch (k) {
    case ReportKind::kQueued: return "queued";
    case ReportKind::kTesting: return "testing";
    case ReportKind::kReturned: return "returned";
    case ReportKind::kMerged: return "merged";
    case ReportKind::kKicked: return "kicked";
    case ReportKind::kCancelled: return "cancelled";
  }
  return "?";
}

namespace {

std::string Prs(const std::vector<PrNumber>& prs) {
  std::string out;
  for (size_t i = 0; i < prs.size(); ++i) out += (i ? "," : "") + std::to_string(prs[i]);
  return out;
}

struct Printer {
  std::string operator()(const BuildBatch& e) const {
    std::vector<PrNumber> prs;
    for (const auto& r : e.entries) prs.push_back(r.pr);
    return "BuildBatch{#" + std::to_string(e.batch) + " [" + Prs(prs) + "] on " +
           e.base_sha.substr(0, 10) + "}";
  }
  std::string operator()(const StartRun& e) const {
    return "StartRun{#" + std::to_string(e.batch) + "}";
  }
  std::string operator()(const CancelRun& e) const {
    return "CancelRun{#" + std::to_string(e.batch) + "}";
  }
  std::string operator()(const Land& e) const {
    return "Land{#" + std::to_string(e.batch) + " [" + Prs(e.prs) + "]}";
  }
  std::string operator()(const Report& e) const {
    return std::string("Report{pr=") + std::to_string(e.pr) + " " + ReportKindName(e.kind) + "}";
  }
  std::string operator()(const ArmTimer& e) const {
    return "ArmTimer{" + std::to_string(e.at) + "}";
  }
  std::string operator()(const BatchDone& e) const {
    return "BatchDone{#" + std::to_string(e.batch.id) + " " + e.result + "}";
  }
};

}  // namespace

std::string ToString(const Effect& e) { return std::visit(Printer{}, e); }

}  // namespace mergeyard::queue
