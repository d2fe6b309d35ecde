#pragma once
// One function per `mergeyard` subcommand; each adds its subcommand to the CLI
// and, when it runs, stores the process exit code in *exit_code.

#include <CLI/CLI.hpp>

namespace mergeyard::app {

void AddServeCommand(CLI::App& app, int* exit_code);
void AddExecutorCommand(CLI::App& app, int* exit_code);
void AddSimulateCommand(CLI::App& app, int* exit_code);
void AddDemoCommand(CLI::App& app, int* exit_code);
void AddMigrateCommand(CLI::App& app, int* exit_code);
void AddMergeBatchCommand(CLI::App& app, int* exit_code);

}  // namespace mergeyard::app
