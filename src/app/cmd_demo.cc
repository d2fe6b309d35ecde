#include <cstdio>

#include "app/commands.h"

namespace mergeyard::app {

void AddDemoCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("demo", "not built yet");
  cmd->callback([exit_code] {
    std::fprintf(stderr, "mergeyard demo: not built yet\n");
    *exit_code = 2;
  });
}

}  // namespace mergeyard::app
