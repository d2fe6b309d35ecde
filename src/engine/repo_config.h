#pragma once
// A repository's `.mergeyard.yml` (DESIGN.md section 6), parsed. The parser
// (with line/column errors) lives in forge/; the execution adapters turn
// PipelineStep into actions.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/duration.h"
#include "queue/config.h"

namespace mergeyard::engine {

struct StepResources {
  double cpu = 1;                          // cores
  std::int64_t memory_bytes = 0;           // 0: not declared
  std::map<std::string, std::int64_t> custom;  // e.g. {"license": 1}
  bool operator==(const StepResources&) const = default;
};

struct PipelineStep {
  std::string name;
  std::string run;                         // a shell command line, run with sh -c
  Duration timeout = 30 * kMinute;
  StepResources resources;
  std::vector<std::string> inputs;         // empty: the whole tree enters the digest
  std::map<std::string, std::string> env;  // declared variables, added to a scrubbed environment
  bool network = false;                    // sandboxed steps get no network unless true
  bool operator==(const PipelineStep&) const = default;
};

// External CI deciding batches (DESIGN.md section 7). Active when
// `required` is not empty or `from_branch_protection` is set.
struct ChecksConfig {
  std::vector<std::string> required;       // check-run names / status contexts / GitLab "pipeline" or job names
  bool from_branch_protection = false;     // GitHub: also the target branch's required checks
  Duration timeout = 2 * kHour;            // a required check with no verdict by then fails the batch
  bool active() const { return !required.empty() || from_branch_protection; }
  bool operator==(const ChecksConfig&) const = default;
};

struct RepoConfig {
  queue::QueueConfig queue;
  std::vector<PipelineStep> pipeline;
  std::vector<PipelineStep> on_land;
  ChecksConfig checks;
  bool cache_failures = false;             // failures enter the action cache (default off)
  std::string merged_label;                // squash/rebase: label to set when closing
  bool operator==(const RepoConfig&) const = default;
};

}  // namespace mergeyard::engine
