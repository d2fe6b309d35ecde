#pragma once
// `mergeyard demo`: the whole service on one machine with no network. A local
// forge (src/forge/local) holds a sample repository and its pull requests
// (app/demo_repo.h); a real `mergeyard serve` child process runs against it
// with local executors; `!integrate` comments reach it as signed webhooks.
// The queue's progress is printed as it moves (app/demo_watch.h), then a
// summary. Success means: every pull request got the outcome a correct queue
// gives it, and main's tree passes the test suite.

#include <string>

namespace mergeyard::app {

struct DemoOptions {
  std::string dir;          // where everything lives; empty: a new directory under /var/tmp
  int port = 0;             // the service's port on 127.0.0.1; 0: any free one
  bool keep = false;        // keep `dir` afterwards (it is always kept on failure)
  bool stay = false;        // keep serving the dashboard until Ctrl-C after the summary
  int timeout_s = 150;      // give up (and fail) after this long
};

// Runs the demo, printing to stdout. The process exit code: 0 when the
// outcome is right, 1 when it is not, 2 when the demo could not be set up.
int RunDemo(const DemoOptions& options);

}  // namespace mergeyard::app
