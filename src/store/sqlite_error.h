#pragma once
// The one translation of SQLiteCpp's exceptions into errors as values.

#include <exception>
#include <string>

#include "base/result.h"

namespace mergeyard::store {

// kTransient for SQLITE_BUSY / SQLITE_LOCKED (still busy after the busy
// timeout: worth a retry), kInternal otherwise; the message is
// "<what>: <SQLite's message>".
Error FromException(const std::string& what, const std::exception& e);

}  // namespace mergeyard::store
