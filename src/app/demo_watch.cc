#include "app/demo_watch.h"

#include <httplib.h>


namespace mergeyard::app {

namespace {

using nlohmann::json;

Result<json> GetJson(const std::string& url, const std::string& path) {
  httplib::Client cli(url);
  cli.set_connection_timeout(2);
  cli.set_read_timeout(5);
  auto r = cli.Get(path);
  if (!r) return Transient("GET " + path + ": " + httplib::to_string(r.error()));
  if (r->status != 200) return Transient("GET " + path + ": HTTP " + std::to_string(r->status));
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return Transient("GET " + path + ": not JSON");
  return j;
}

std::string Short(const json& sha) {
  return sha.is_string() ? sha.get<std::string>().substr(0, 7) : std::string("-");
}

std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::int64_t Int(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number_integer() ? j[key].get<std::int64_t>() : 0;
}

}  // namespace

std::string PrList(const json& prs) {
  std::string out;
  for (const auto& p : prs) out += (out.empty() ? "#" : " #") + std::to_string(p.get<std::int64_t>());
  return out;
}

DemoWatch::DemoWatch(std::string url, std::string repo, std::FILE* out)
    : url_(std::move(url)), repo_(std::move(repo)), out_(out), start_(std::chrono::steady_clock::now()) {}

void DemoWatch::Say(const std::string& text) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(out_, "[%6.1fs] %s\n", s, text.c_str());
  std::fflush(out_);
}

Status DemoWatch::Poll() {
  auto queue = GetJson(url_, "/api/v1/repos/" + repo_ + "/queue?history=200");
  if (!queue.ok()) return queue.error();
  for (const auto& q : (*queue)["queues"]) {
    SeeEntries(q);
    SeeBatches(q);
    SeeHistory(q);
  }
  auto execs = GetJson(url_, "/api/v1/executions?limit=200");
  if (!execs.ok()) return execs.error();
  SeeExecutions(*execs);
  return Ok();
}

void DemoWatch::SeeEntries(const json& q) {
  for (const auto& e : q["entries"]) {
    const std::int64_t pr = Int(e, "pr");
    if (!seen_entries_.insert(pr).second) continue;
    Say("#" + std::to_string(pr) + " queued" +
        (e["position"].is_number() ? " (waiting, position " + std::to_string(Int(e, "position")) + ")" : ""));
  }
}

void DemoWatch::SeeBatches(const json& q) {
  for (const auto& b : q["batches"]) {
    const std::int64_t id = Int(b, "id");
    const std::string state = Str(b, "state");
    auto it = batch_states_.find(id);
    const bool bisect = Str(b, "kind") == "bisect";
    const std::string name = (bisect ? "bisection half " : "batch ") + std::to_string(id);
    if (it == batch_states_.end()) {
      ++progress_.batches;
      std::string line = name + " formed: " + PrList(b["prs"]);
      if (bisect) {
        line += " (split of batch " + std::to_string(Int(b, "bisect_parent") ? Int(b, "bisect_parent")
                                                                               : Int(b, "bisect_root")) + ")";
      } else if (Int(b, "parent")) {
        parent_of_[id] = Int(b, "parent");
        line += ", stacked on batch " + std::to_string(Int(b, "parent")) + " (tests " + PrList(b["holds"]) + ")";
      } else {
        line += ", on main " + Short(b["base_sha"]);
      }
      Say(line);
      batch_states_[id] = "";
      it = batch_states_.find(id);
    }
    if (it->second == state) continue;
    it->second = state;
    if (state == "testing") Say(name + " testing commit " + Short(b["commit"]));
    if (state == "failed" || state == "passed") SeeResult(id, b, state == "passed");
  }
}

void DemoWatch::SeeResult(std::int64_t id, const json& b, bool passed) {
  if (!results_.insert(id).second) return;
  const bool bisect = Str(b, "kind") == "bisect" || Str(b, "batch_kind") == "bisect";
  const std::string name = (bisect ? "bisection half " : "batch ") + std::to_string(id);
  if (!passed) {
    failed_.insert(id);
    for (const auto& p : b["prs"]) progress_.in_failed_batch.insert(p.get<std::int64_t>());
    const std::string what = Str(b, "failure") == "check" || Str(b, "failure") == "check_timeout" ? "check" : "step";
    Say(name + " FAILED at " + what + " '" + Str(b, "failed_step") + "'" +
        (Str(b, "log_url").empty() ? "" : " (log: " + Str(b, "log_url") + ")"));
    return;
  }
  Say(name + " passed");
  const std::int64_t parent = parent_of_.count(id) ? parent_of_[id] : 0;
  if (failed_.count(parent)) {
    Say("  batch " + std::to_string(parent) + "'s failure was transient: batch " + std::to_string(id) +
        " holds all of it and passed, so both land together (optimistic merging)");
  }
}

void DemoWatch::SeeHistory(const json& q) {
  const json& rows = q["history"];  // newest first
  // Batch results first, so "passed" comes before the landings it caused.
  for (const bool batches : {true, false}) {
    for (auto r = rows.rbegin(); r != rows.rend(); ++r) {
      if ((Str(*r, "kind") == "batch") == batches) SeeHistoryRow(*r);
    }
  }
}

void DemoWatch::SeeHistoryRow(const json& r) {
  if (!seen_history_.insert(Int(r, "id")).second) return;
  const std::string kind = Str(r, "kind");
  const std::int64_t pr = Int(r, "pr");
  if (kind == "merged") {
    progress_.ended[pr] = kind;
    Say("#" + std::to_string(pr) + " MERGED: main is now " + Short(r["commit"]));
  } else if (kind == "kicked" || kind == "cancelled") {
    progress_.ended[pr] = kind;
    progress_.messages[pr] = Str(r, "message");
    Say("#" + std::to_string(pr) + " " + (kind == "kicked" ? "KICKED" : "cancelled") + ": " + Str(r, "message"));
  } else if (kind == "batch") {
    const std::string result = Str(r, "result");
    if (result == "fail" || result == "pass") SeeResult(Int(r, "batch"), r, result == "pass");
  }
}

void DemoWatch::SeeExecutions(const json& answer) {
  const json& counters = answer["counters"];
  if (counters.is_object()) {
    const std::int64_t hits = Int(counters, "cache_hits");
    if (hits > progress_.cache_hits) {
      Say("action cache: " + std::to_string(hits - progress_.cache_hits) +
          " step(s) answered from the cache, not run again (" + std::to_string(hits) + " so far)");
      progress_.cache_hits = hits;
    }
  }
  const json& list = answer["executions"];  // newest first
  for (auto e = list.rbegin(); e != list.rend(); ++e) {
    const std::string id = Str(*e, "execution_id");
    const std::string state = Str(*e, "state");
    const std::string name = "'" + Str(*e, "name") + "' (" + id + ")";
    const std::int64_t merges = Int(*e, "merged_submissions");
    if (merges > execution_merges_[id]) {
      progress_.merged += merges - execution_merges_[id];
      Say("run " + name + " is wanted by another batch too: merged into the running execution, not run twice");
      execution_merges_[id] = merges;
    }
    auto [seen, first] = execution_states_.try_emplace(id, "");
    if (first) ++progress_.runs_started;
    if (seen->second == state) continue;
    if (state == "running") Say("run " + name + " started on " + Str(*e, "executor"));
    seen->second = state;
  }
}

}  // namespace mergeyard::app
