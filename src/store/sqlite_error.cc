#include "store/sqlite_error.h"

#include <SQLiteCpp/Exception.h>

namespace mergeyard::store {

Error FromException(const std::string& what, const std::exception& e) {
  if (const auto* se = dynamic_cast<const SQLite::Exception*>(&e)) {
    const int code = se->getErrorCode() & 0xff;
    if (code == 5 /* SQLITE_BUSY */ || code == 6 /* SQLITE_LOCKED */) {
      return Transient(what + ": " + e.what());
    }
  }
  return Internal(what + ": " + e.what());
}

}  // namespace mergeyard::store
