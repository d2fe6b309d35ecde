#pragma once
// The store tests' database: opened (migrations applied) or the test stops.

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "store/database.h"

namespace mergeyard::testing {

inline std::unique_ptr<store::Database> OpenOrFail(const std::string& path) {
  auto db = store::Database::Open(path);
  REQUIRE_MESSAGE(db.ok(), (db.ok() ? "" : db.error().ToString()));
  return std::move(*db);
}

}  // namespace mergeyard::testing
