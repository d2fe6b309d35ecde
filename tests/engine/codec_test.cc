#include <doctest/doctest.h>

#include "engine/codec.h"

using namespace mergeyard;
using namespace mergeyard::queue;

TEST_SUITE("engine") {

TEST_CASE("a queue state survives a JSON round trip") {
  State s;
  s.target_branch = "trunk";
  s.tip = "abc";
  s.config.target_batch_size = 8;
  s.config.merge_method = MergeMethod::kSquash;
  s.entries[4] = Entry{4, "h4", 200, 10, 1, EntryStatus::kBatched, 1, 2, {ReportReason::kCancelledBy, "wendy", ""}};
  Batch b;
  b.id = 2;
  b.prs = {4};
  b.state = BatchState::kTesting;
  b.commit = "c2";
  s.batches[2] = b;
  s.main = {2};
  s.next_batch_id = 3;
  s.landing = 0;
  auto back = engine::StateFromJson(engine::StateToJson(s));
  REQUIRE(back.ok());
  CHECK(back->target_branch == "trunk");
  CHECK(back->config == s.config);
  CHECK(back->entries.at(4).priority == 200);
  CHECK(back->entries.at(4).status == EntryStatus::kBatched);
  CHECK(back->batches.at(2).state == BatchState::kTesting);
  CHECK(back->main == std::vector<BatchId>{2});
  CHECK(back->next_batch_id == 3);
}

TEST_CASE("every effect and event keeps its kind and fields through JSON") {
  Effect e = Land{7, "c7", "tip", {1, 2}};
  auto back = engine::EffectFromJson(engine::EffectToJson(e));
  REQUIRE(back.ok());
  REQUIRE(std::holds_alternative<Land>(*back));
  CHECK(std::get<Land>(*back).prs == std::vector<PrNumber>{1, 2});
  Event ev = BatchBuilt{3, "c3", {{5, {"a", "b"}, true}}};
  auto evb = engine::EventFromJson(engine::EventToJson(ev));
  REQUIRE(evb.ok());
  CHECK(std::get<BatchBuilt>(*evb).conflicts.at(0).paths.size() == 2);
  auto timer = engine::EventFromJson(engine::EventToJson(TimerFired{}));
  CHECK(timer.ok());
}

TEST_CASE("every report reason and failure kind keeps its value through JSON, by its name") {
  for (int i = 0; i <= static_cast<int>(kLastReportReason); ++i) {
    Report r;
    r.reason = static_cast<ReportReason>(i);
    r.failure = static_cast<FailureKind>(i % (static_cast<int>(kLastFailureKind) + 1));
    const nlohmann::json j = engine::EffectToJson(r);
    CHECK(j["reason"] == ReportReasonName(r.reason));
    auto back = engine::EffectFromJson(j);
    REQUIRE(back.ok());
    CHECK(std::get<Report>(*back).reason == r.reason);
    CHECK(std::get<Report>(*back).failure == r.failure);
  }
  CHECK(std::string(ReportReasonName(kLastReportReason)) == "replaced");
}

TEST_CASE("a stored pending cancel written as words still loads, as a cancel") {
  nlohmann::json j = engine::StateToJson(State{});
  Entry e;
  e.pr = 4;
  nlohmann::json entry = engine::StateToJson([&] { State s; s.entries[4] = e; return s; }())["entries"][0];
  entry["pending_cancel"] = "cancelled by @wendy";
  j["entries"] = nlohmann::json::array({entry});
  auto back = engine::StateFromJson(j);
  REQUIRE(back.ok());
  CHECK(back->entries.at(4).pending_cancel.reason == ReportReason::kCancelledByAdmin);
  entry["pending_cancel"] = "";
  j["entries"] = nlohmann::json::array({entry});
  back = engine::StateFromJson(j);
  REQUIRE(back.ok());
  CHECK(back->entries.at(4).pending_cancel.reason == ReportReason::kNone);
}

TEST_CASE("malformed JSON is an error value, not an exception") {
  CHECK_FALSE(engine::EffectFromJson(nlohmann::json::parse(R"({"type": "explode"})")).ok());
  CHECK_FALSE(engine::EffectFromJson(nlohmann::json::parse(R"([1,2])")).ok());
  CHECK_FALSE(engine::StateFromJson(nlohmann::json::parse(R"({"entries": 5})")).ok());
  CHECK_FALSE(engine::StateFromJson(nlohmann::json::parse(R"({"main": [9]})")).ok());
}
}
