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

struct RepoConfig {
  queue::QueueConfig queue;
  std::vector<PipelineStep> pipeline;
  std::vector<PipelineStep> on_land;
  bool cache_failures = false;             // failures enter the action cache (default off)
  std::string merged_label;                // squash/rebase: label to set when closing
  bool operator==(const RepoConfig&) const = default;
};

}  // namespace mergeyard::engine
