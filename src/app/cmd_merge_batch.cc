#include <cstdio>

#include "app/commands.h"

namespace mergeyard::app {

void AddMergeBatchCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("merge-batch", "not built yet");
  cmd->callback([exit_code] {
    std::fprintf(stderr, "mergeyard merge-batch: not built yet\n");
    *exit_code = 2;
  });
}

}  // namespace mergeyard::app
