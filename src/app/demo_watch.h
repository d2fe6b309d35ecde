#pragma once
// What `mergeyard demo` prints as the queue moves: it polls a running
// service's admin API (the queue of one repository and the execution backend)
// and prints each new thing once — entries queued, batches formed and stacked,
// runs started, deduplicated by the action cache or merged into a running
// execution, bisection, landings and kicks.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace mergeyard::app {

struct DemoProgress {
  std::map<std::int64_t, std::string> ended;     // pr -> merged | kicked | cancelled
  std::map<std::int64_t, std::string> messages;  // pr -> why it was kicked
  std::set<std::int64_t> in_failed_batch;        // PRs that were in a batch that failed
  std::int64_t runs_started = 0;                 // executions that ran a step
  std::int64_t cache_hits = 0;                   // answered from the action cache
  std::int64_t merged = 0;                       // joined an identical running execution
  std::int64_t batches = 0;
};

class DemoWatch {
 public:
  // `url`: the service, e.g. http://127.0.0.1:8080; `repo`: owner/name.
  DemoWatch(std::string url, std::string repo, std::FILE* out);

  // Reads the API once and prints what is new. kTransient when the service
  // did not answer.
  Status Poll();
  const DemoProgress& progress() const { return progress_; }
  // Prints one line with the elapsed time in front.
  void Say(const std::string& text);

 private:
  void SeeEntries(const nlohmann::json& queue);
  void SeeBatches(const nlohmann::json& queue);
  void SeeHistory(const nlohmann::json& queue);
  void SeeHistoryRow(const nlohmann::json& row);
  // A batch's result, from the live state or the history; printed once.
  void SeeResult(std::int64_t id, const nlohmann::json& batch, bool passed);
  void SeeExecutions(const nlohmann::json& answer);

  std::string url_;
  std::string repo_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_;
  DemoProgress progress_;
  std::set<std::int64_t> seen_entries_;
  std::map<std::int64_t, std::string> batch_states_;  // id -> last state printed
  std::set<std::int64_t> seen_history_;
  std::set<std::int64_t> results_;   // batches whose result was printed
  std::set<std::int64_t> failed_;    // batches that failed
  std::map<std::int64_t, std::int64_t> parent_of_;  // stacked batch -> the batch below it
  std::map<std::string, std::string> execution_states_;  // id -> last state printed
  std::map<std::string, std::int64_t> execution_merges_;  // id -> merged submissions printed
};

// "#1 #2 #3" for a JSON array of pull request numbers.
std::string PrList(const nlohmann::json& prs);

}  // namespace mergeyard::app
