#include <cstdio>
#include <iostream>

#include "app/commands.h"
#include "sim/scenario.h"
#include "sim/simulator.h"

namespace mergeyard::app {

void AddSimulateCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "simulate", "Run a scenario through the real queue engine on a virtual clock");
  static std::string scenario_path;
  static bool json = false;
  static bool trace = false;
  cmd->add_option("--scenario", scenario_path, "scenario file (JSON, DESIGN.md section 5)")
      ->required();
  cmd->add_flag("--json", json, "print the result as JSON");
  cmd->add_flag("--trace", trace, "print every transition and the queue after it to stderr");
  cmd->callback([exit_code] {
    auto scenario = sim::LoadScenarioFile(scenario_path);
    if (!scenario.ok()) {
      std::fprintf(stderr, "mergeyard simulate: %s\n", scenario.error().message.c_str());
      *exit_code = 2;
      return;
    }
    sim::SimOptions options;
    options.trace = trace;
    auto result = sim::Simulate(*scenario, options);
    if (!result.ok()) {
      std::fprintf(stderr, "mergeyard simulate: %s\n", result.error().message.c_str());
      *exit_code = 1;
      return;
    }
    if (json) {
      std::cout << sim::ToJson(*result).dump(2) << "\n";
    } else {
      std::cout << sim::Summary(*result);
    }
    *exit_code = 0;
  });
}

}  // namespace mergeyard::app
