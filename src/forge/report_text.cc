#include "forge/report_text.h"

#include <cctype>

namespace mergeyard::forge {

namespace {

using queue::FailureKind;
using queue::ReportKind;
using queue::ReportReason;

std::string Short(const std::string& sha) { return sha.substr(0, 10); }

std::string PrList(const std::vector<queue::PrNumber>& prs) {
  std::string out;
  for (size_t i = 0; i < prs.size(); ++i) {
    if (i) out += i + 1 == prs.size() ? " and " : ", ";
    out += "#" + std::to_string(prs[i]);
  }
  return out;
}

std::string Position(const queue::Report& r) {
  if (r.position == 0) return "";
  return " at position " + std::to_string(r.position) + " (expected in batch " +
         std::to_string(r.batches_ahead) + " from now)";
}

std::string WhatFailed(const queue::Report& r) {
  switch (r.failure) {
    case FailureKind::kStep:
      return r.failed_step.empty() ? "Failed" : "Failed step `" + r.failed_step + "`";
    case FailureKind::kCheck:
      return "Failed check `" + r.failed_step + "`" +
             (r.failure_detail.empty() ? "" : " (" + r.failure_detail + ")");
    case FailureKind::kCheckTimeout:
      return "Required check `" + r.failed_step + "` did not report" +
             (r.failure_detail.empty() ? "" : " within " + r.failure_detail);
  }
  return "Failed";
}

std::string FailedText(const queue::Report& r, const std::string& branch) {
  std::string msg = WhatFailed(r);
  if (!r.base_sha.empty()) msg += " when tested alone on " + Short(r.base_sha);
  if (r.bisect_root != 0) msg += " (bisection of batch #" + std::to_string(r.bisect_root) + ")";
  if (r.attempts > 1) msg += ", " + std::to_string(r.attempts) + " times";
  msg += ".";
  if (!r.fails_with.empty()) {
    const bool one = r.fails_with.size() == 1;
    msg += " It passed when bisected apart from " + PrList(r.fails_with) +
           (one ? ", which has" : ", which have") + " landed since: it fails together with " +
           (one ? "that change" : "those changes") + ". Rebase on " + branch +
           " and fix the combination.";
  }
  if (!r.log_url.empty()) msg += " Log: " + r.log_url;
  return msg;
}

std::string ConflictText(const queue::Report& r, const std::string& branch) {
  std::string files;
  for (const auto& p : r.paths) files += (files.empty() ? "" : ", ") + p;
  return "Conflicts with " + branch + (files.empty() ? "." : " in: " + files + ".");
}

// "@wendy queued commit 0123456789 at priority high" (who and at which
// priority only when known and not the default).
std::string QueuedBy(const queue::Report& r, const std::string& lead) {
  std::string out = r.actor.empty() ? lead : "@" + r.actor + " " + lead;
  if (r.actor.empty() && !out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  if (!r.head_sha.empty()) out += " commit " + Short(r.head_sha);
  if (r.priority != queue::kPriorityNormal) out += " at priority " + PriorityName(r.priority);
  return out;
}

}  // namespace

std::string PriorityName(int p) {
  if (p == queue::kPriorityHigh) return "high";
  if (p == queue::kPriorityNormal) return "normal";
  if (p == queue::kPriorityLow) return "low";
  return std::to_string(p);
}

std::string ReportHeadline(ReportKind k) {
  switch (k) {
    case ReportKind::kQueued: return "Queued";
    case ReportKind::kTesting: return "Testing";
    case ReportKind::kReturned: return "Back in the queue";
    case ReportKind::kMerged: return "Merged";
    case ReportKind::kKicked: return "Kicked out of the queue";
    case ReportKind::kCancelled: return "Removed from the queue";
  }
  return "";
}

std::string ReportMessage(const queue::Report& r, const std::string& branch) {
  switch (r.reason) {
    case ReportReason::kNone: return ReportHeadline(r.kind) + ".";  // written before reasons
    case ReportReason::kAccepted: return QueuedBy(r, "queued") + Position(r) + ".";
    case ReportReason::kAlreadyQueued:
      return (r.actor.empty() ? "Already queued" : "@" + r.actor + ": already queued") +
             (r.priority != queue::kPriorityNormal ? ", now at priority " + PriorityName(r.priority) : "") +
             Position(r) + ".";
    case ReportReason::kBatchStarted: return "Testing in batch #" + std::to_string(r.batch) + ".";
    case ReportReason::kTargetMoved:
      return "The target branch moved; rebuilding" + (r.commit.empty() ? "" : " on " + Short(r.commit)) + ".";
    case ReportReason::kBatchAheadFailed: return "A batch ahead failed; rebuilding without it.";
    case ReportReason::kBatchAheadChanged: return "A batch ahead changed; rebuilding.";
    case ReportReason::kConflictsAhead:
      return "Conflicts with a batch ahead; it will be retried on the new base.";
    case ReportReason::kBuildFailed:
      return "The batch could not be built" + (r.detail.empty() ? "" : ": " + r.detail) + ".";
    case ReportReason::kPassedAlone: return "Passed in isolation; retesting on the current target.";
    case ReportReason::kLandRejected: return "The target branch moved before landing; rebuilding.";
    case ReportReason::kLanded: return "Landed in " + Short(r.commit) + ".";
    case ReportReason::kFailed: return FailedText(r, branch);
    case ReportReason::kConflict: return ConflictText(r, branch);
    case ReportReason::kCancelledBy: return "Cancelled by @" + r.actor + ".";
    case ReportReason::kCancelledByAdmin: return "Cancelled by the admin API.";
    case ReportReason::kClosed: return "The pull request was closed.";
    case ReportReason::kNewHead:
      return "New commits were pushed (" + Short(r.head_sha) +
             "); comment `!integrate` again to queue them.";
    case ReportReason::kReplaced:
      return "Replaced by a new `!integrate` on " + Short(r.head_sha) + ".";
  }
  return ReportHeadline(r.kind) + ".";
}

std::string ReportSummaryLine(const queue::Report& r, const std::string& branch, std::size_t max) {
  std::string line = ReportMessage(r, branch);
  line = line.substr(0, line.find('\n'));
  if (line.size() <= max) return line;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return line.substr(0, cut);
}

}  // namespace mergeyard::forge
