#pragma once
// An action: one pipeline step on one input tree, as the execution backend
// sees it (DESIGN.md section 4), and the result of running it.
//
// Action digest = lowercase hex SHA-256 of CanonicalEncoding(action).
// The canonical encoding (version 1) is a sequence of netstrings, each
// `<decimal byte length>:<bytes>,` in this exact order:
//   "mergeyard.action.v1"
//   "command", N, arg_1 .. arg_N                 (N in decimal, args in order)
//   "env", N, key_1, value_1 .. key_N, value_N    (sorted by key, byte order)
//   "platform", N, key_1, value_1 ..              (sorted by key, byte order)
//   "timeout_ms", <decimal milliseconds>
//   "network", "0" | "1"
//   "input", <input tree id>                       ("" = empty directory)
// The input tree id is the batch commit's git tree id, or, when the step
// declares `inputs`, the SHA-256 of the lines "<path>\t<tree entry id>\n"
// for each declared path in sorted order (see PathsTreeDigest). The name,
// resources, group, priority and repository are scheduling hints and are NOT
// part of the digest: the same command on the same tree is the same action.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/duration.h"

namespace mergeyard::exec::core {

struct Resources {
  double cpu = 1;                               // cores
  std::int64_t memory_bytes = 0;                // 0: not declared
  std::map<std::string, std::int64_t> custom;   // e.g. {"license": 1}
  bool operator==(const Resources&) const = default;
};

struct ActionInput {
  std::string repo;                 // "owner/name": where the tree comes from
  std::string commit;               // the batch commit
  std::vector<std::string> paths;   // empty: the whole tree
  std::string tree;                 // resolved input tree id (see header comment)
  bool operator==(const ActionInput&) const = default;
};

// An action of the Remote Execution API (DESIGN.md section 8): the executor
// reads the Action, its Command and its input root from the CAS instead of
// checking out a commit, and answers with a REAPI ActionResult message stored
// in the CAS (ActionResult.outputs_digest: its hash). See ActionDigest.
struct RemoteActionRef {
  std::string instance;          // REAPI instance name
  std::string action_hash;       // SHA-256 of the Action message
  std::int64_t action_size = 0;
  bool operator==(const RemoteActionRef&) const = default;
};

struct Action {
  std::string name;                           // step name; keys learned sizing
  std::vector<std::string> command;           // argv
  std::map<std::string, std::string> env;     // declared variables
  std::map<std::string, std::string> platform;  // must match executor labels
  Duration timeout = 30 * kMinute;
  bool network = false;                       // sandboxed steps get no network unless true
  bool has_input = false;                     // false: runs in an empty directory
  ActionInput input;
  Resources resources;
  std::string group;                          // fairness group; default: input.repo
  int priority = 0;                           // higher runs first inside a group
  bool cache_failures = false;                // failing results enter the cache too
  bool cacheable = true;                      // false: no result enters the cache (REAPI do_not_cache)
  bool has_remote = false;                    // a REAPI action: `remote` says which
  RemoteActionRef remote;
};

// The canonical byte encoding described above.
std::string CanonicalEncoding(const Action& action);

// Hex SHA-256 of CanonicalEncoding(action). REQUIRES: input.tree resolved
// when has_input. A REAPI action (has_remote) is keyed by its client's
// digest instead: "reapi:<instance>:<hash>/<size>", so one digest in one
// instance is one cache entry and one in-flight execution.
std::string ActionDigest(const Action& action);

// The input tree id of a step that declares `inputs`: entries are
// (path, git object id of that path in the commit, or "missing").
std::string PathsTreeDigest(std::vector<std::pair<std::string, std::string>> entries);

// The key learned sizing and durations are kept under: group + "/" + name,
// or the command when the step has no name.
std::string SizingKey(const Action& action);

struct ActionResult {
  int exit_code = 0;
  Duration duration = 0;
  std::string log_digest;       // content-store digest of the log, "" if none
  std::string outputs_digest;   // content-store digest of the outputs, "" if none
  std::string executor;         // who ran it
  std::string execution_id;     // the execution that produced it
  std::int64_t peak_memory_bytes = 0;  // measured, 0 if unknown
  double cpu_cores = 0;         // measured average cores used, 0 if unknown
  bool timed_out = false;
  std::string error;            // infrastructure failure (not a test verdict) when non-empty
  std::string isolation;        // "bwrap", "process-group", ...

  bool passed() const { return exit_code == 0 && error.empty() && !timed_out; }
};

}  // namespace mergeyard::exec::core
