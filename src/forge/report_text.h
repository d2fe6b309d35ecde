#pragma once
// The words people read about a queue entry, made in one place from the
// facts of a queue::Report (its kind, reason and fields). The reporter's
// status comments and commit statuses, the API's history and the demo use
// these; nothing parses them back: metrics and the dashboard read the facts.

#include <string>

#include "queue/effect.h"

namespace mergeyard::forge {

// "high", "normal", "low" or the number.
std::string PriorityName(int priority);

// "Queued", "Testing", "Back in the queue", "Merged", "Kicked out of the
// queue", "Removed from the queue".
std::string ReportHeadline(queue::ReportKind kind);

// One or more sentences saying what happened and why, e.g. "Failed step
// `unit` when tested alone on 1a2b3c4d5e (bisection of batch #3). Log: URL".
// `target_branch` names the branch in conflict and interaction messages.
std::string ReportMessage(const queue::Report& r, const std::string& target_branch);

// The first line of ReportMessage, at most `max` bytes (cut on a UTF-8
// boundary): commit-status descriptions.
std::string ReportSummaryLine(const queue::Report& r, const std::string& target_branch,
                              std::size_t max = 140);

}  // namespace mergeyard::forge
