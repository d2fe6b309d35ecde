// forge::ReportMessage: the words a pull request reads, made from the facts
// of a queue::Report (the only place they are made).
#include <doctest/doctest.h>

#include "forge/report_text.h"

using namespace mergeyard;
using namespace mergeyard::queue;
using mergeyard::forge::ReportMessage;

namespace {

Report Of(ReportKind kind, ReportReason reason) {
  Report r;
  r.pr = 7;
  r.kind = kind;
  r.reason = reason;
  return r;
}

}  // namespace

TEST_SUITE("forge") {

TEST_CASE("every reason has words, and none of them is empty") {
  for (int i = 0; i <= static_cast<int>(kLastReportReason); ++i) {
    CAPTURE(ReportReasonName(static_cast<ReportReason>(i)));
    CHECK_FALSE(ReportMessage(Of(ReportKind::kReturned, static_cast<ReportReason>(i)), "main").empty());
  }
}

TEST_CASE("queued names the position and the batch expected") {
  Report r = Of(ReportKind::kQueued, ReportReason::kAccepted);
  r.position = 3;
  r.batches_ahead = 2;
  CHECK(ReportMessage(r, "main") == "Queued at position 3 (expected in batch 2 from now).");
  r.reason = ReportReason::kAlreadyQueued;
  r.position = 0;
  CHECK(ReportMessage(r, "main") == "Already queued.");
}

TEST_CASE("a step failure names the step, the base, the bisection, the attempts and the log") {
  Report r = Of(ReportKind::kKicked, ReportReason::kFailed);
  r.failed_step = "unit";
  r.base_sha = std::string(40, 'a');
  r.bisect_root = 4;
  r.attempts = 2;
  r.log_url = "http://x/log";
  CHECK(ReportMessage(r, "main") ==
        "Failed step `unit` when tested alone on aaaaaaaaaa (bisection of batch #4), 2 times. Log: http://x/log");
}

TEST_CASE("check failures and silent checks are told apart") {
  Report r = Of(ReportKind::kKicked, ReportReason::kFailed);
  r.failure = FailureKind::kCheck;
  r.failed_step = "build";
  r.failure_detail = "cancelled";
  r.attempts = 1;
  CHECK(ReportMessage(r, "main") == "Failed check `build` (cancelled).");
  r.failure = FailureKind::kCheckTimeout;
  r.failure_detail = "2h";
  CHECK(ReportMessage(r, "main") == "Required check `build` did not report within 2h.");
}

TEST_CASE("an interaction names the changes it fails with and the branch to rebase on") {
  Report r = Of(ReportKind::kKicked, ReportReason::kFailed);
  r.failed_step = "unit";
  r.fails_with = {1};
  CHECK(ReportMessage(r, "trunk").find("apart from #1, which has landed since: it fails together with that "
                                       "change. Rebase on trunk") != std::string::npos);
  r.fails_with = {1, 2, 3};
  CHECK(ReportMessage(r, "trunk").find("apart from #1, #2 and #3, which have landed since: it fails together "
                                       "with those changes") != std::string::npos);
}

TEST_CASE("conflicts and cancellations say what and who") {
  Report r = Of(ReportKind::kKicked, ReportReason::kConflict);
  r.paths = {"a.c", "b.c"};
  CHECK(ReportMessage(r, "main") == "Conflicts with main in: a.c, b.c.");
  r = Of(ReportKind::kCancelled, ReportReason::kCancelledBy);
  r.actor = "wendy";
  CHECK(ReportMessage(r, "main") == "Cancelled by @wendy.");
  r = Of(ReportKind::kCancelled, ReportReason::kNewHead);
  r.head_sha = std::string(40, 'b');
  CHECK(ReportMessage(r, "main") ==
        "New commits were pushed (bbbbbbbbbb); comment `!integrate` again to queue them.");
}

TEST_CASE("the summary line is the first line, cut on a character boundary") {
  Report r = Of(ReportKind::kCancelled, ReportReason::kCancelledBy);
  r.actor = "Zoë";
  const std::string full = ReportMessage(r, "main");
  const std::size_t at = full.find("ë");
  const std::string cut = forge::ReportSummaryLine(r, "main", at + 1);  // would split the ë
  CHECK(cut == full.substr(0, at));
}

}  // TEST_SUITE
