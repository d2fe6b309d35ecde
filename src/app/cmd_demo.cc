// `mergeyard demo`: a complete local run (app/demo.h).

#include "app/commands.h"
#include "app/demo.h"

namespace mergeyard::app {

void AddDemoCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "demo", "A complete local run: sample repository, pull requests (good, bad, conflicting, flaky), "
              "real merges and real test runs, printed as it goes");
  auto options = std::make_shared<DemoOptions>();
  cmd->add_option("--dir", options->dir, "Where to keep the demo's files (default: a new directory under /var/tmp)");
  cmd->add_option("--port", options->port, "The service's port on 127.0.0.1 (default: any free one)");
  cmd->add_flag("--keep", options->keep, "Keep the demo's files afterwards");
  cmd->add_flag("--stay", options->stay, "Keep serving the dashboard after the summary, until Ctrl-C");
  cmd->add_option("--timeout", options->timeout_s, "Give up after this many seconds")->check(CLI::PositiveNumber);
  cmd->callback([options, exit_code] { *exit_code = RunDemo(*options); });
}

}  // namespace mergeyard::app
