#include <cstdio>

#include "app/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"mergeyard: a merge queue for Git hosting"};
  app.require_subcommand(1);
  int exit_code = 0;
  mergeyard::app::AddServeCommand(app, &exit_code);
  mergeyard::app::AddExecutorCommand(app, &exit_code);
  mergeyard::app::AddSimulateCommand(app, &exit_code);
  mergeyard::app::AddDemoCommand(app, &exit_code);
  mergeyard::app::AddMigrateCommand(app, &exit_code);
  mergeyard::app::AddMergeBatchCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
