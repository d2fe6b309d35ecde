#include "api/queue_view.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "engine/codec.h"
#include "forge/report_text.h"

namespace mergeyard::api {
namespace {

using nlohmann::json;

const char* EntryStatusName(queue::EntryStatus s) {
  switch (s) {
    case queue::EntryStatus::kWaiting: return "waiting";
    case queue::EntryStatus::kBatched: return "batched";
    case queue::EntryStatus::kBisecting: return "bisecting";
  }
  return "?";
}

json NullIfZero(std::int64_t v) { return v == 0 ? json(nullptr) : json(v); }

template <class T>
T Field(const json& j, const char* key, T fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

// The interaction suspects (queue/step.h) still in the queue: why two pull
// requests are never batched together.
json KeptApartFrom(const queue::State& s, const queue::Entry& e) {
  json out = json::array();
  for (queue::PrNumber pr : e.apart_from) {
    if (s.entries.count(pr)) out.push_back(pr);
  }
  return out;
}

json EntryJson(const queue::State& s, const queue::Entry& e) {
  return {{"pr", e.pr},
          {"head_sha", e.head_sha},
          {"priority", e.priority},
          {"status", EntryStatusName(e.status)},
          {"position", NullIfZero(queue::WaitingPosition(s, e.pr))},
          {"enqueued_at", e.enqueued_at},
          {"batch", NullIfZero(e.batch)},
          {"retries_used", e.retries_used},
          {"kept_apart_from", KeptApartFrom(s, e)}};
}

json BatchJson(const queue::State& s, const queue::Batch& b) {
  json j = engine::BatchToJson(b);
  j["kind"] = queue::BatchKindName(b.kind);
  j["state"] = queue::BatchStateName(b.state);
  auto it = std::find(s.main.begin(), s.main.end(), b.id);
  j["main_position"] = it == s.main.end() ? json(nullptr) : json(it - s.main.begin() + 1);
  j["holds"] = it == s.main.end() && b.kind == queue::BatchKind::kMain ? b.prs
                                                                       : queue::PrsLandingWith(s, b.id);
  return j;
}

// ---- bisection trees ---------------------------------------------------------

struct Node {
  queue::BatchId id = 0;
  queue::BatchId root = 0;
  queue::BatchId parent = 0;
  std::vector<queue::PrNumber> prs;
  std::string kind = "bisect";
  std::string state = "done";
  json result = nullptr;
  std::string failed_step, log_url;
  Time started_at = 0, finished_at = 0;
  bool live = false;
  bool culprit = false;
  std::int64_t history_id = 0;  // newest history row about it (ordering finished trees)
  std::vector<queue::BatchId> children;
};

Node NodeFromBatchJson(const json& b) {
  Node n;
  n.id = Field<queue::BatchId>(b, "id", 0);
  n.root = Field<queue::BatchId>(b, "bisect_root", 0);
  n.parent = Field<queue::BatchId>(b, "bisect_parent", 0);
  n.prs = Field<std::vector<queue::PrNumber>>(b, "prs", {});
  n.kind = Field<std::string>(b, "kind", "bisect");
  n.failed_step = Field<std::string>(b, "failed_step", "");
  n.log_url = Field<std::string>(b, "log_url", "");
  n.started_at = Field<Time>(b, "started_at", 0);
  n.finished_at = Field<Time>(b, "finished_at", 0);
  return n;
}

json NodeJson(const std::map<queue::BatchId, Node>& nodes, const Node& n, int depth = 0) {
  json children = json::array();
  if (depth < 64) {
    for (queue::BatchId c : n.children) children.push_back(NodeJson(nodes, nodes.at(c), depth + 1));
  }
  return {{"id", n.id},           {"prs", n.prs},
          {"kind", n.kind},       {"state", n.state},
          {"result", n.result},   {"failed_step", n.failed_step},
          {"log_url", n.log_url}, {"started_at", n.started_at},
          {"finished_at", n.finished_at}, {"culprit", n.culprit},
          {"children", std::move(children)}};
}

}  // namespace

json QueueSummaryJson(const engine::QueueKey& key, const queue::State& s) {
  int waiting = 0, in_batch = 0, bisecting = 0;
  for (const auto& [pr, e] : s.entries) {
    switch (e.status) {
      case queue::EntryStatus::kWaiting: ++waiting; break;
      case queue::EntryStatus::kBatched: ++in_batch; break;
      case queue::EntryStatus::kBisecting: ++bisecting; break;
    }
  }
  int testing = 0, building = 0, passed = 0, failed = 0, nodes = 0;
  for (const auto& [id, b] : s.batches) {
    if (b.kind == queue::BatchKind::kBisect) ++nodes;
    switch (b.state) {
      case queue::BatchState::kTesting: ++testing; break;
      case queue::BatchState::kBuilding: ++building; break;
      case queue::BatchState::kPassed: ++passed; break;
      case queue::BatchState::kFailed: ++failed; break;
      default: break;
    }
  }
  return {{"repo", key.repo},
          {"branch", key.branch},
          {"paused", s.paused},
          {"tip", s.tip},
          {"landing", s.landing},
          {"counts",
           {{"entries", s.entries.size()},
            {"waiting", waiting},
            {"in_batch", in_batch},
            {"bisecting", bisecting},
            {"batches", s.batches.size()},
            {"main", s.main.size()},
            {"testing", testing},
            {"building", building},
            {"passed", passed},
            {"failed", failed},
            {"bisect_nodes", nodes}}}};
}

json HistoryRowJson(const store::HistoryRow& row, const std::string& branch) {
  json j = {{"id", row.id},
            {"at", row.at},
            {"kind", row.kind},
            {"pr", row.pr ? json(*row.pr) : json(nullptr)},
            {"batch", row.batch ? json(*row.batch) : json(nullptr)}};
  const json& d = row.data;
  if (row.kind == "batch") {
    const json b = d.is_object() && d.contains("batch") ? d["batch"] : json::object();
    j["result"] = Field<std::string>(d, "result", "");
    j["batch_kind"] = Field<std::string>(b, "kind", "");
    j["prs"] = Field<std::vector<std::int64_t>>(b, "prs", {});
    j["base_sha"] = Field<std::string>(b, "base_sha", "");
    j["commit"] = Field<std::string>(b, "commit", "");
    j["failed_step"] = Field<std::string>(b, "failed_step", "");
    j["failure"] = Field<std::string>(d, "result", "") == "fail" ? json(Field<std::string>(b, "failure", "step"))
                                                                  : json(nullptr);
    j["log_url"] = Field<std::string>(b, "log_url", "");
    j["bisect_root"] = Field<std::int64_t>(b, "bisect_root", 0);
    j["bisect_parent"] = Field<std::int64_t>(b, "bisect_parent", 0);
    j["started_at"] = Field<Time>(b, "started_at", 0);
    j["finished_at"] = Field<Time>(b, "finished_at", 0);
  } else {
    auto effect = engine::EffectFromJson(d);
    const queue::Report* r = effect.ok() ? std::get_if<queue::Report>(&*effect) : nullptr;
    queue::Report report = r ? *r : queue::Report{};
    j["reason"] = queue::ReportReasonName(report.reason);
    // Rows written before reports were facts kept their words.
    j["message"] = report.reason == queue::ReportReason::kNone && d.contains("message")
                       ? Field<std::string>(d, "message", "")
                       : forge::ReportMessage(report, branch);
    j["commit"] = report.commit;
    j["failure"] = report.reason == queue::ReportReason::kFailed
                       ? json(queue::FailureKindName(report.failure)) : json(nullptr);
    j["failed_step"] = report.failed_step;
    j["log_url"] = report.log_url;
    j["paths"] = report.paths;
    j["fails_with"] = report.fails_with;
    j["actor"] = report.actor;
  }
  return j;
}

json BisectionTreesJson(const queue::State& s, const std::vector<store::HistoryRow>& history,
                        std::size_t finished_limit) {
  std::map<queue::BatchId, Node> nodes;     // bisection nodes, live and finished
  std::map<queue::BatchId, Node> failed_main;  // finished main batches that failed
  std::set<queue::BatchId> kicked_in;
  // Oldest first, so a later row about the same batch wins.
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    const store::HistoryRow& row = *it;
    if (row.kind == "kicked" && row.batch) kicked_in.insert(*row.batch);
    if (row.kind != "batch" || !row.data.is_object() || !row.data.contains("batch")) continue;
    Node n = NodeFromBatchJson(row.data["batch"]);
    if (n.id == 0) continue;
    n.result = Field<std::string>(row.data, "result", "");
    n.history_id = row.id;
    if (n.kind == "bisect") nodes[n.id] = std::move(n);
    else if (n.result == "fail") failed_main[n.id] = std::move(n);
  }
  for (const auto& [id, b] : s.batches) {
    if (b.kind != queue::BatchKind::kBisect) continue;
    Node n = NodeFromBatchJson(engine::BatchToJson(b));
    n.kind = "bisect";
    n.state = queue::BatchStateName(b.state);
    n.live = true;
    nodes[id] = std::move(n);
  }
  for (auto& [id, n] : nodes) n.culprit = kicked_in.count(id) > 0;

  // Roots: the failed main batches the nodes descend from.
  struct Tree {
    bool active = false;
    std::int64_t newest = 0;
  };
  std::map<queue::BatchId, Tree> trees;
  for (const auto& [id, n] : nodes) {
    if (n.root == 0) continue;
    Tree& t = trees[n.root];
    t.active = t.active || n.live;
    t.newest = std::max(t.newest, n.live ? INT64_MAX : n.history_id);
  }
  for (auto& [root, t] : trees) {
    if (nodes.count(root)) continue;  // defensive: a root is a main batch
    auto f = failed_main.find(root);
    Node r;
    if (f != failed_main.end()) {
      r = f->second;
    } else {  // its row is older than the history read: rebuild what is known
      r.id = root;
      r.result = "fail";
      for (const auto& [id, n] : nodes)
        if (n.root == root && n.parent == root)
          for (auto pr : n.prs)
            if (std::find(r.prs.begin(), r.prs.end(), pr) == r.prs.end()) r.prs.push_back(pr);
    }
    r.kind = "main";
    r.culprit = kicked_in.count(root) > 0;
    nodes[root] = std::move(r);
  }
  for (auto& [id, n] : nodes) {
    if (n.kind == "main" || n.root == 0) continue;
    queue::BatchId parent = nodes.count(n.parent) && n.parent != id ? n.parent : n.root;
    nodes[parent].children.push_back(id);  // ids ascend, so children stay in id order
  }

  std::vector<std::pair<queue::BatchId, Tree>> order(trees.begin(), trees.end());
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (a.second.active != b.second.active) return a.second.active;
    if (a.second.newest != b.second.newest) return a.second.newest > b.second.newest;
    return a.first > b.first;
  });
  json out = json::array();
  std::size_t finished = 0;
  for (const auto& [root, t] : order) {
    if (!t.active && finished++ >= finished_limit) continue;
    out.push_back({{"root", root}, {"active", t.active}, {"tree", NodeJson(nodes, nodes.at(root))}});
  }
  return out;
}

json QueueDetailJson(const engine::QueueKey& key, const queue::State& s,
                     const std::vector<store::HistoryRow>& history, std::size_t history_limit) {
  json j = QueueSummaryJson(key, s);
  j["config"] = engine::ConfigToJson(s.config);

  json entries = json::array();
  for (queue::PrNumber pr : queue::WaitingInOrder(s)) entries.push_back(EntryJson(s, s.entries.at(pr)));
  std::vector<const queue::Entry*> rest;
  for (const auto& [pr, e] : s.entries)
    if (e.status != queue::EntryStatus::kWaiting) rest.push_back(&e);
  auto index_in_batch = [&](const queue::Entry* e) -> std::ptrdiff_t {
    auto b = s.batches.find(e->batch);
    if (b == s.batches.end()) return 0;
    return std::find(b->second.prs.begin(), b->second.prs.end(), e->pr) - b->second.prs.begin();
  };
  std::sort(rest.begin(), rest.end(), [&](const queue::Entry* a, const queue::Entry* b) {
    if (a->batch != b->batch) return a->batch < b->batch;
    return index_in_batch(a) < index_in_batch(b);
  });
  for (const queue::Entry* e : rest) entries.push_back(EntryJson(s, *e));
  j["entries"] = std::move(entries);

  json batches = json::array();
  for (queue::BatchId id : s.main)
    if (auto it = s.batches.find(id); it != s.batches.end()) batches.push_back(BatchJson(s, it->second));
  for (const auto& [id, b] : s.batches)
    if (std::find(s.main.begin(), s.main.end(), id) == s.main.end()) batches.push_back(BatchJson(s, b));
  j["batches"] = std::move(batches);
  j["main"] = s.main;
  j["bisections"] = BisectionTreesJson(s, history);

  json rows = json::array();
  for (std::size_t i = 0; i < history.size() && i < history_limit; ++i)
    rows.push_back(HistoryRowJson(history[i], key.branch));
  j["history"] = std::move(rows);
  return j;
}

}  // namespace mergeyard::api
