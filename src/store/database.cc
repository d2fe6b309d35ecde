#include "store/database.h"

#include <chrono>
#include <exception>
#include <thread>

#include <sqlite3.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/migrator.h"

namespace mergeyard::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kOpenAttempts = 250;  // x 20 ms: the busy timeout again

// WAL, full fsync, foreign keys. An in-memory database keeps journal "memory".
void Configure(SQLite::Database& db, const std::string& path) {
  db.setBusyTimeout(kBusyTimeoutMs);
  std::string mode = db.execAndGet("PRAGMA journal_mode=WAL").getString();
  if (path != ":memory:" && mode != "wal") {
    throw SQLite::Exception("could not enable WAL (journal_mode is " + mode + ")");
  }
  db.exec("PRAGMA synchronous=FULL");
  db.exec("PRAGMA foreign_keys=ON");
}

}  // namespace

Database::Database(std::string path, std::unique_ptr<SQLite::Database> db)
    : path_(std::move(path)), db_(std::move(db)) {}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path) {
  return OpenWith(path, EmbeddedMigrations());
}

Result<std::unique_ptr<Database>> Database::OpenWith(const std::string& path,
                                                     const std::vector<Migration>& migrations) {
  std::unique_ptr<SQLite::Database> db;
  // Switching a new file to WAL while another connection does the same can
  // answer SQLITE_BUSY without waiting on the busy handler: try again.
  for (int attempt = 0;; ++attempt) {
    try {
      db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      Configure(*db, path);
      break;
    } catch (const SQLite::Exception& e) {
      int code = e.getErrorCode() & 0xff;
      if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || attempt >= kOpenAttempts)
        return Internal("opening database " + path + ": " + e.what());
      db.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } catch (const std::exception& e) {
      return Internal("opening database " + path + ": " + e.what());
    }
  }
  auto applied = ApplyMigrations(*db, migrations, SystemClock().Now());
  if (!applied) {
    return Error{applied.error().code, "database " + path + ": " + applied.error().message};
  }
  std::unique_ptr<Database> out(new Database(path, std::move(db)));
  for (const Migration& m : *applied) {
    out->applied_on_open_.push_back(m.name);
    LOG_INFO("applied migration", {{"name", m.name}, {"database", path}});
  }
  return out;
}

SQLite::Database& Database::sql() { return *db_; }

std::mutex& Database::mutex() { return mutex_; }

std::string Database::path() const { return path_; }

}  // namespace mergeyard::store
