#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "base/clock.h"
#include "store/database.h"
#include "store/sqlite_report_journal.h"
#include "open_db.h"
#include "temp_dir.h"

using namespace mergeyard;
using namespace mergeyard::store;
using mergeyard::testing::OpenOrFail;
using engine::ReportJob;

namespace {

ReportJob MergedReport(std::int64_t pr) {
  ReportJob job;
  job.kind = ReportJob::Kind::kReport;
  job.key = {"acme/widgets", "main"};
  job.report.pr = pr;
  job.report.kind = queue::ReportKind::kMerged;
  job.report.batch = 4;
  job.report.commit = "c4";
  return job;
}

ReportJob StatusComment(std::int64_t pr, std::string text) {
  ReportJob job;
  job.kind = ReportJob::Kind::kStatusComment;
  job.repo = "acme/widgets";
  job.pr = pr;
  job.text = std::move(text);
  return job;
}

}  // namespace

TEST_SUITE("store") {

TEST_CASE("journaled report jobs survive closing the database; done ones do not come back") {
  testing::TempDir dir;
  ManualClock clock(1'700'000'000'000);
  std::int64_t first = 0, second = 0, third = 0;
  {
    auto db = OpenOrFail(dir.File("m.db"));
    SqliteReportJournal journal(*db, clock);
    auto a = journal.Append(StatusComment(5, "**mergeyard: Queued**"));
    auto b = journal.Append(MergedReport(6));
    auto c = journal.Append(MergedReport(7));
    REQUIRE((a.ok() && b.ok() && c.ok()));
    first = *a, second = *b, third = *c;
    CHECK(first < second);
    CHECK(second < third);
    CHECK(journal.Done(second).ok());
  }
  auto db = OpenOrFail(dir.File("m.db"));
  SqliteReportJournal journal(*db, clock);
  auto pending = journal.Pending();
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 2);
  CHECK((*pending)[0].id == first);
  CHECK((*pending)[0].job.kind == ReportJob::Kind::kStatusComment);
  CHECK((*pending)[0].job.pr == 5);
  CHECK((*pending)[0].job.text == "**mergeyard: Queued**");
  CHECK((*pending)[1].id == third);
  CHECK((*pending)[1].job.key == engine::QueueKey{"acme/widgets", "main"});
  CHECK((*pending)[1].job.report.kind == queue::ReportKind::kMerged);
  CHECK((*pending)[1].job.report.commit == "c4");

  // The operator's columns, and ids that never repeat after a reopen.
  SQLite::Statement row(db->sql(), "SELECT kind, repo, pr, created_at FROM report_jobs WHERE id = ?");
  row.bind(1, static_cast<int64_t>(third));
  REQUIRE(row.executeStep());
  CHECK(row.getColumn(0).getString() == "report");
  CHECK(row.getColumn(1).getString() == "acme/widgets");
  CHECK(row.getColumn(2).getInt64() == 7);
  CHECK(row.getColumn(3).getInt64() == 1'700'000'000'000);
  auto next = journal.Append(MergedReport(8));
  REQUIRE(next.ok());
  CHECK(*next > third);

  CHECK(journal.Done(first).ok());
  CHECK(journal.Done(first).ok());   // idempotent
  CHECK(journal.Done(999).ok());     // unknown
  CHECK(journal.Pending()->size() == 2);
}

TEST_CASE("a stored report job that does not decode is an error naming it") {
  testing::TempDir dir;
  ManualClock clock(0);
  auto db = OpenOrFail(dir.File("m.db"));
  SqliteReportJournal journal(*db, clock);
  auto id = journal.Append(MergedReport(1));
  REQUIRE(id.ok());
  db->sql().exec("UPDATE report_jobs SET job_json = '{\"kind\": \"shout\", \"repo\": \"a/b\"}'");
  auto pending = journal.Pending();
  REQUIRE_FALSE(pending.ok());
  CHECK(pending.error().code == ErrorCode::kInternal);
  CHECK(pending.error().message.find("report job " + std::to_string(*id)) != std::string::npos);
}

TEST_CASE("a database from before the journal gains its table on open") {
  testing::TempDir dir;
  {
    std::vector<Migration> before;
    for (const Migration& m : EmbeddedMigrations()) {
      if (m.version < 3) before.push_back(m);
    }
    auto old = Database::OpenWith(dir.File("m.db"), before);
    REQUIRE(old.ok());
  }
  auto db = OpenOrFail(dir.File("m.db"));
  REQUIRE_FALSE(db->applied_on_open().empty());
  CHECK(db->applied_on_open().front() == "0003_report_jobs");  // then any later migrations
  ManualClock clock(0);
  SqliteReportJournal journal(*db, clock);
  CHECK(journal.Append(StatusComment(1, "x")).ok());
  CHECK(journal.Pending()->size() == 1);
}

}
