#pragma once
// The Engine's account of what happens to a queue, one log line at info level
// (base/log.h) per event it applies and per effect it runs. Every line carries
// the queue's `repo` and `branch`; a line about one pull request carries `pr`,
// a line about a batch carries `batch`, and its pull requests as `prs`
// (comma-separated, in merge order) where the event or effect names them
// (build, landing, batch done). A pull request or a batch can be followed
// through the service's log by one field.
//
//   event: run finished  repo=acme/widgets branch=main batch=3 result=fail failed_step=unit
//   run started          repo=acme/widgets branch=main batch=4 commit=<sha>
//   report: merged       repo=acme/widgets branch=main pr=7 batch=4 commit=<sha>
//
// Lines hold ids, SHAs, step names and outcomes only: never the free text of
// a report, a cancel reason or an adapter's error (people and remotes write
// those), and never a log link (signed: it grants access to the log).

#include "base/log.h"
#include "engine/ports.h"
#include "queue/effect.h"
#include "queue/event.h"

namespace mergeyard::engine {

// The line for `event` applied to the queue `key` ("event: ..."), or none
// when it is below the log level.
void LogEvent(const QueueKey& key, const queue::Event& event);

// The line for `effect` about to be run for the queue `key`.
void LogEffect(const QueueKey& key, const queue::Effect& effect);

// What LogEvent/LogEffect write: the message and its fields, in order
// (repo, branch, pr/prs, batch, then the rest). For tests and tools.
struct TransitionLine {
  std::string message;
  LogFields fields;
};
TransitionLine DescribeEvent(const QueueKey& key, const queue::Event& event);
TransitionLine DescribeEffect(const QueueKey& key, const queue::Effect& effect);

}  // namespace mergeyard::engine
