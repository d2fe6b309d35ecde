#pragma once
// A schema migration: one numbered, forward-only SQL script from migrations/.
// The scripts are embedded into the binary at build time
// (tools/embed_migrations.py, listed in src/store/meson.build).

#include <string>
#include <vector>

namespace mergeyard::store {

struct Migration {
  int version = 0;      // NNNN of NNNN_name.sql; unique, > 0
  std::string name;     // "0001_init"
  std::string sql;      // one or more statements; must be valid inside a transaction
};

// Every migration of migrations/, in version order.
const std::vector<Migration>& EmbeddedMigrations();

}  // namespace mergeyard::store
