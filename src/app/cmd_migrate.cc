// `mergeyard migrate [--config FILE]`: opens <data_dir>/mergeyard.db (creating
// data_dir), applies pending migrations, prints them, and exits: 0 when the
// database is up to date, 1 with a message on stderr otherwise.

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "app/commands.h"
#include "app/service_config.h"
#include "base/log.h"
#include "store/database.h"
#include "store/migration.h"

namespace mergeyard::app {
namespace {

int RunMigrate(const std::optional<std::string>& config_path) {
  auto config = LoadServiceConfig(config_path, MergeyardEnvironment());
  if (!config) {
    std::fprintf(stderr, "mergeyard migrate: %s\n", config.error().message.c_str());
    return 1;
  }
  SetLogFormat(config->log_format);
  SetLogLevel(config->log_level);
  std::error_code ec;
  std::filesystem::create_directories(config->data_dir, ec);
  if (ec) {
    std::fprintf(stderr, "mergeyard migrate: cannot create data_dir %s: %s\n",
                 config->data_dir.c_str(), ec.message().c_str());
    return 1;
  }
  std::string path = config->DatabasePath();
  auto db = store::Database::Open(path);
  if (!db) {
    std::fprintf(stderr, "mergeyard migrate: %s\n", db.error().message.c_str());
    return 1;
  }
  const auto& applied = (*db)->applied_on_open();
  for (const std::string& name : applied) std::printf("applied %s\n", name.c_str());
  const auto& known = store::EmbeddedMigrations();
  std::string latest = known.empty() ? "none" : known.back().name;
  if (applied.empty()) {
    std::printf("%s is up to date (schema %s); nothing to apply\n", path.c_str(), latest.c_str());
  } else {
    std::printf("%s migrated to schema %s (%zu applied)\n", path.c_str(), latest.c_str(),
                applied.size());
  }
  return 0;
}

}  // namespace

void AddMigrateCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "migrate", "Apply pending database migrations to <data_dir>/mergeyard.db and exit");
  // Owned by the callback, which the CLI keeps as long as the option is bound.
  auto config_path = std::make_shared<std::string>();
  auto* config_opt = cmd->add_option("--config", *config_path,
                                     "service configuration file (YAML); "
                                     "MERGEYARD_* variables override it");
  cmd->callback([exit_code, config_path, config_opt] {
    std::optional<std::string> path;
    if (config_opt->count() > 0) path = *config_path;
    *exit_code = RunMigrate(path);
  });
}

}  // namespace mergeyard::app
