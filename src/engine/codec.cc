#include "engine/codec.h"

#include <string_view>
#include <type_traits>

namespace mergeyard::queue {

// Field lists for nlohmann's ADL serialisers. Missing keys take the defaults,
// so a state written by an older binary still loads.
NLOHMANN_JSON_SERIALIZE_ENUM(MergeMethod, {{MergeMethod::kMerge, "merge"},
                                           {MergeMethod::kSquash, "squash"},
                                           {MergeMethod::kRebase, "rebase"}})
NLOHMANN_JSON_SERIALIZE_ENUM(Bisection, {{Bisection::kBinary, "binary"}})
NLOHMANN_JSON_SERIALIZE_ENUM(EntryStatus, {{EntryStatus::kWaiting, "waiting"},
                                           {EntryStatus::kBatched, "batched"},
                                           {EntryStatus::kBisecting, "bisecting"}})
NLOHMANN_JSON_SERIALIZE_ENUM(BatchKind, {{BatchKind::kMain, "main"}, {BatchKind::kBisect, "bisect"}})
NLOHMANN_JSON_SERIALIZE_ENUM(BatchState, {{BatchState::kQueued, "queued"},
                                          {BatchState::kWaitingBase, "waiting_base"},
                                          {BatchState::kBuilding, "building"},
                                          {BatchState::kTesting, "testing"},
                                          {BatchState::kPassed, "passed"},
                                          {BatchState::kFailed, "failed"},
                                          {BatchState::kLanding, "landing"}})
NLOHMANN_JSON_SERIALIZE_ENUM(ReportKind, {{ReportKind::kQueued, "queued"},
                                          {ReportKind::kTesting, "testing"},
                                          {ReportKind::kReturned, "returned"},
                                          {ReportKind::kMerged, "merged"},
                                          {ReportKind::kKicked, "kicked"},
                                          {ReportKind::kCancelled, "cancelled"}})
// FailureKind and ReportReason are written by the names types.cc gives them,
// the one list of them; an unknown name reads as the first value.
template <class Enum>
Enum EnumFromName(const nlohmann::json& j, Enum last, const char* (*name)(Enum)) {
  const std::string text = j.is_string() ? j.get<std::string>() : "";
  for (int i = 0; i <= static_cast<int>(last); ++i)
    if (text == name(static_cast<Enum>(i))) return static_cast<Enum>(i);
  return static_cast<Enum>(0);
}
inline void to_json(nlohmann::json& j, FailureKind k) { j = FailureKindName(k); }
inline void from_json(const nlohmann::json& j, FailureKind& k) {
  k = EnumFromName(j, kLastFailureKind, FailureKindName);
}
inline void to_json(nlohmann::json& j, ReportReason r) { j = ReportReasonName(r); }
inline void from_json(const nlohmann::json& j, ReportReason& r) {
  r = EnumFromName(j, kLastReportReason, ReportReasonName);
}

// A state written before causes were facts holds a string: empty for none,
// else a cancel whose words are gone (the admin's, the plainest).
inline void to_json(nlohmann::json& j, const CancelCause& c) {
  j = nlohmann::json{{"reason", c.reason}, {"actor", c.actor}, {"head_sha", c.head_sha}};
}
inline void from_json(const nlohmann::json& j, CancelCause& c) {
  c = CancelCause{};
  if (j.is_string()) {
    if (!j.get<std::string>().empty()) c.reason = ReportReason::kCancelledByAdmin;
    return;
  }
  if (!j.is_object()) return;
  c.reason = j.value("reason", ReportReason::kNone);
  c.actor = j.value("actor", std::string());
  c.head_sha = j.value("head_sha", std::string());
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(QueueConfig, target_batch_size, max_wait,
                                                concurrency, pending_failure_depth,
                                                optimistic_merging, bisection,
                                                bisection_concurrency, merge_method,
                                                singleton_retries, pretest, pretest_bypass)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Entry, pr, head_sha, priority, enqueued_at, seq,
                                                status, retries_used, batch, pending_cancel,
                                                pretested, apart_from, apart_landed,
                                                passed_half_of)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Batch, id, kind, prs, state, parent, base_sha,
                                                commit, created_at, started_at, finished_at,
                                                bisect_root, bisect_parent, sibling, failure,
                                                failed_step, log_url, failure_detail)

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EntryRef, pr, head_sha)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BuildBatch, batch, base_sha, tip, entries, method)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StartRun, batch, commit, started_at)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CancelRun, batch)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Land, batch, commit, expected_tip, prs)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Report, pr, kind, reason, batch, commit, position,
                                                batches_ahead, failure, failed_step, log_url,
                                                failure_detail, base_sha, bisect_root, attempts,
                                                fails_with, paths, actor, head_sha, detail, priority,
                                                queued_at)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ArmTimer, at)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BatchDone, batch, result)

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Enqueue, pr, head_sha, priority, priority_given, actor)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Cancel, pr, reason, actor)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(HeadChanged, pr, head_sha)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Reprioritize, pr, priority)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MergeConflict, pr, paths, with_tip)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BatchBuilt, batch, commit, conflicts)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BuildFailed, batch, message)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RunFinished, batch, passed, failed_step, log_url,
                                                failure, failure_detail)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LandResult, batch, landed, tip)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TargetMoved, tip)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SetPaused, paused)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ConfigChanged, config)

inline void to_json(nlohmann::json& j, const TimerFired&) { j = nlohmann::json::object(); }
inline void from_json(const nlohmann::json&, TimerFired&) {}

}  // namespace mergeyard::queue

namespace mergeyard::engine {
namespace {

using nlohmann::json;

// The "type" tag of each alternative, in variant order.
constexpr std::string_view kEffectTypes[] = {"build_batch", "start_run", "cancel_run", "land",
                                             "report",      "arm_timer", "batch_done"};
constexpr std::string_view kEventTypes[] = {
    "enqueue",      "cancel",       "head_changed", "reprioritize", "batch_built", "build_failed",
    "run_finished", "land_result",  "target_moved", "timer_fired",  "set_paused",  "config_changed"};

template <class Variant, size_t N>
json VariantToJson(const Variant& v, const std::string_view (&types)[N]) {
  static_assert(std::variant_size_v<Variant> == N);
  json j = std::visit([](const auto& alt) { return json(alt); }, v);
  j["type"] = std::string(types[v.index()]);
  return j;
}

template <class Variant, size_t I = 0, size_t N>
Result<Variant> VariantFromJson(const json& j, const std::string& type,
                                const std::string_view (&types)[N]) {
  if constexpr (I == N) {
    return Invalid("unknown type '" + type + "'");
  } else {
    if (types[I] == type) {
      return Variant(std::in_place_index<I>, j.get<std::variant_alternative_t<I, Variant>>());
    }
    return VariantFromJson<Variant, I + 1>(j, type, types);
  }
}

template <class Variant, size_t N>
Result<Variant> DecodeVariant(const json& j, const std::string_view (&types)[N]) {
  try {
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
      return Invalid("expected an object with a string \"type\"");
    return VariantFromJson<Variant>(j, j["type"].get<std::string>(), types);
  } catch (const json::exception& e) {
    return Invalid(e.what());
  }
}

}  // namespace

json ConfigToJson(const queue::QueueConfig& config) { return json(config); }

json BatchToJson(const queue::Batch& batch) { return json(batch); }

json StateToJson(const queue::State& s) {
  json entries = json::array();
  for (const auto& [pr, e] : s.entries) entries.push_back(e);
  json batches = json::array();
  for (const auto& [id, b] : s.batches) batches.push_back(b);
  return json{{"target_branch", s.target_branch},
              {"tip", s.tip},
              {"past_tips", s.past_tips},
              {"config", s.config},
              {"paused", s.paused},
              {"entries", std::move(entries)},
              {"batches", std::move(batches)},
              {"main", s.main},
              {"next_batch_id", s.next_batch_id},
              {"next_seq", s.next_seq},
              {"timer_at", s.timer_at},
              {"landing", s.landing},
              {"build_backoff_until", s.build_backoff_until}};
}

Result<queue::State> StateFromJson(const json& j) {
  try {
    queue::State s;
    s.target_branch = j.value("target_branch", s.target_branch);
    s.tip = j.value("tip", s.tip);
    s.past_tips = j.value("past_tips", std::vector<std::string>{});
    if (j.contains("config")) s.config = j.at("config").get<queue::QueueConfig>();
    s.paused = j.value("paused", false);
    for (const auto& e : j.value("entries", json::array())) {
      auto entry = e.get<queue::Entry>();
      s.entries[entry.pr] = entry;
    }
    for (const auto& b : j.value("batches", json::array())) {
      auto batch = b.get<queue::Batch>();
      s.batches[batch.id] = batch;
    }
    s.main = j.value("main", std::vector<queue::BatchId>{});
    s.next_batch_id = j.value("next_batch_id", queue::BatchId{1});
    s.next_seq = j.value("next_seq", std::int64_t{1});
    s.timer_at = j.value("timer_at", Time{0});
    s.landing = j.value("landing", queue::BatchId{0});
    s.build_backoff_until = j.value("build_backoff_until", Time{0});
    for (queue::BatchId id : s.main) {
      if (!s.batches.count(id)) return Invalid("main queue names unknown batch " + std::to_string(id));
    }
    return s;
  } catch (const json::exception& e) {
    return Invalid(std::string("queue state: ") + e.what());
  }
}

json EffectToJson(const queue::Effect& effect) { return VariantToJson(effect, kEffectTypes); }

Result<queue::Effect> EffectFromJson(const json& j) {
  return DecodeVariant<queue::Effect>(j, kEffectTypes);
}

json EventToJson(const queue::Event& event) { return VariantToJson(event, kEventTypes); }

Result<queue::Event> EventFromJson(const json& j) {
  return DecodeVariant<queue::Event>(j, kEventTypes);
}

}  // namespace mergeyard::engine
