#include <cstdio>

#include "app/commands.h"

namespace mergeyard::app {

void AddSimulateCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("simulate", "not built yet");
  cmd->callback([exit_code] {
    std::fprintf(stderr, "mergeyard simulate: not built yet\n");
    *exit_code = 2;
  });
}

}  // namespace mergeyard::app
