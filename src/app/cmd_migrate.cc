#include <cstdio>

#include "app/commands.h"

namespace mergeyard::app {

void AddMigrateCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("migrate", "not built yet");
  cmd->callback([exit_code] {
    std::fprintf(stderr, "mergeyard migrate: not built yet\n");
    *exit_code = 2;
  });
}

}  // namespace mergeyard::app
