#include <doctest/doctest.h>

#include "engine/memory_report_journal.h"
#include "engine/report_journal.h"

using namespace mergeyard;
using engine::ReportJob;

namespace {

ReportJob KickedReport() {
  ReportJob job;
  job.kind = ReportJob::Kind::kReport;
  job.key = {"acme/widgets", "release"};
  job.report.pr = 42;
  job.report.kind = queue::ReportKind::kKicked;
  job.report.reason = queue::ReportReason::kFailed;
  job.report.failure = queue::FailureKind::kCheck;
  job.report.fails_with = {7, 8};
  job.report.batch = 9;
  job.report.commit = "c9";
  job.report.failed_step = "unit";
  job.report.log_url = "http://dash/logs/9/unit";
  job.report.paths = {"a.txt", "b/c.txt"};
  return job;
}

ReportJob Reply(std::int64_t pr, std::string text) {
  ReportJob job;
  job.kind = ReportJob::Kind::kReply;
  job.repo = "acme/widgets";
  job.pr = pr;
  job.text = std::move(text);
  return job;
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("a report job keeps its kind and every field through JSON") {
  SUBCASE("queue report") {
    ReportJob job = KickedReport();
    job.at = 1'700'000'123'456;
    auto back = engine::ReportJobFromJson(engine::ReportJobToJson(job));
    REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().ToString()));
    CHECK(back->kind == ReportJob::Kind::kReport);
    CHECK(back->at == 1'700'000'123'456);
    CHECK(back->key == engine::QueueKey{"acme/widgets", "release"});
    CHECK(back->report.pr == 42);
    CHECK(back->report.kind == queue::ReportKind::kKicked);
    CHECK(back->report.reason == queue::ReportReason::kFailed);
    CHECK(back->report.failure == queue::FailureKind::kCheck);
    CHECK(back->report.fails_with == std::vector<queue::PrNumber>{7, 8});
    CHECK(back->report.batch == 9);
    CHECK(back->report.commit == "c9");
    CHECK(back->report.failed_step == "unit");
    CHECK(back->report.log_url == "http://dash/logs/9/unit");
    CHECK(back->report.paths == std::vector<std::string>{"a.txt", "b/c.txt"});
    CHECK(back->Repo() == "acme/widgets");
    CHECK(back->Pr() == 42);
  }
  SUBCASE("status comment and reply") {
    for (auto kind : {ReportJob::Kind::kStatusComment, ReportJob::Kind::kReply}) {
      ReportJob job = Reply(7, "line one\n\n`code` \"quoted\" <!-- marker -->");
      job.kind = kind;
      auto back = engine::ReportJobFromJson(engine::ReportJobToJson(job));
      REQUIRE(back.ok());
      CHECK(back->kind == kind);
      CHECK(back->repo == "acme/widgets");
      CHECK(back->pr == 7);
      CHECK(back->text == job.text);
      CHECK(back->Pr() == 7);
    }
  }
}

TEST_CASE("a malformed report job is an error value naming what is wrong") {
  using nlohmann::json;
  auto error = [](const json& j) {
    auto r = engine::ReportJobFromJson(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInvalid);
    return r.error().message;
  };
  CHECK(error(json::array()).find("object") != std::string::npos);
  CHECK(error(json{{"kind", "shout"}, {"repo", "a/b"}}).find("unknown kind shout") != std::string::npos);
  CHECK(error(json{{"kind", "reply"}, {"repo", "a/b"}, {"text", "x"}}).find("pr") != std::string::npos);
  CHECK(error(json{{"kind", "report"}, {"repo", "a/b"}, {"branch", "main"}}).find("report") != std::string::npos);
  CHECK(error(json{{"kind", "report"}, {"repo", "a/b"}, {"branch", "main"},
                   {"report", {{"type", "arm_timer"}, {"at", 5}}}})
            .find("not a report") != std::string::npos);
  CHECK(error(json{{"kind", "reply"}, {"repo", "a/b"}, {"pr", 1}, {"text", "x"}, {"at", "noon"}})
            .find("at") != std::string::npos);
  auto no_time = engine::ReportJobFromJson(json{{"kind", "reply"}, {"repo", "a/b"}, {"pr", 1}, {"text", "x"}});
  REQUIRE(no_time.ok());
  CHECK(no_time->at == 0);
}

TEST_CASE("the memory journal returns pending jobs in append order and forgets done ones") {
  engine::MemoryReportJournal journal;
  auto a = journal.Append(Reply(1, "a"));
  auto b = journal.Append(KickedReport());
  auto c = journal.Append(Reply(3, "c"));
  REQUIRE((a.ok() && b.ok() && c.ok()));
  CHECK(*a < *b);
  CHECK(*b < *c);
  CHECK(journal.Done(*b).ok());
  CHECK(journal.Done(*b).ok());        // idempotent
  CHECK(journal.Done(12345).ok());     // unknown id
  auto pending = journal.Pending();
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 2);
  CHECK((*pending)[0].id == *a);
  CHECK((*pending)[0].job.text == "a");
  CHECK((*pending)[1].id == *c);
  CHECK((*pending)[1].job.pr == 3);
  CHECK(journal.appended() == 3);
}

}
