#pragma once
// Time is an input. Pure code takes `Time now`; only base/clock.cc reads the
// system clock. Times are milliseconds since the Unix epoch (real clock) or
// since the start of a simulation (virtual clock).

#include <cstdint>
#include <optional>
#include <string>

namespace mergeyard {

using Time = std::int64_t;      // milliseconds
using Duration = std::int64_t;  // milliseconds

constexpr Duration kSecond = 1000;
constexpr Duration kMinute = 60 * kSecond;
constexpr Duration kHour = 60 * kMinute;

// Parses "90", "90s", "10m", "1h30m", "2d" into milliseconds. A bare number is
// seconds. Returns nullopt for anything else (negative, empty, unknown unit).
std::optional<Duration> ParseDuration(const std::string& text);

// "1h30m", "45s", "250ms": the inverse of ParseDuration, for messages.
std::string FormatDuration(Duration d);

}  // namespace mergeyard
