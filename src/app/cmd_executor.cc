#include <cstdio>

#include "app/commands.h"

namespace mergeyard::app {

void AddExecutorCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("executor", "not built yet");
  cmd->callback([exit_code] {
    std::fprintf(stderr, "mergeyard executor: not built yet\n");
    *exit_code = 2;
  });
}

}  // namespace mergeyard::app
