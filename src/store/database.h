#pragma once
// The service's SQLite database: one file, opened once per process, migrated
// to the schema this binary knows on open.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "base/result.h"
#include "store/migration.h"

namespace mergeyard::store {

class Database {
 public:
  // Opens or creates the SQLite file at `path` (":memory:" allowed), sets WAL,
  // synchronous=FULL, busy_timeout 5000 ms, foreign_keys=ON, and applies every
  // pending migration. Errors: kInternal with the SQLite message, or the failed migration's name.
  // Also kInternal when the file's schema is newer than this binary knows.
  static Result<std::unique_ptr<Database>> Open(const std::string& path);

  // As Open, with the migrations given instead of EmbeddedMigrations() (tests).
  static Result<std::unique_ptr<Database>> OpenWith(const std::string& path,
                                                    const std::vector<Migration>& migrations);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  SQLite::Database& sql();     // use only while holding mutex()
  std::mutex& mutex();         // one writer at a time inside this process
  std::string path() const;

  // Names of the migrations the last Open applied ("0001_init"), in order.
  const std::vector<std::string>& applied_on_open() const { return applied_on_open_; }

 private:
  Database(std::string path, std::unique_ptr<SQLite::Database> db);

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  std::mutex mutex_;
  std::vector<std::string> applied_on_open_;
};

}  // namespace mergeyard::store
