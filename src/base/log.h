#pragma once
// Structured logging, std only. One line per record: readable text by default,
// one JSON object per line after SetLogFormat(LogFormat::kJson). Thread-safe.
// Never pass secrets (tokens, webhook secrets, keys) as messages or fields.
//
//   LOG_INFO("batch landed", {{"repo", key.repo}, {"batch", std::to_string(id)}});

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mergeyard {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };
enum class LogFormat { kText, kJson };

using LogFields = std::vector<std::pair<std::string, std::string>>;

void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
LogLevel GetLogLevel();

// Parses "debug", "info", "warn", "error", "off"; false when unknown.
bool ParseLogLevel(const std::string& text, LogLevel* out);

void Log(LogLevel level, const std::string& message, const LogFields& fields = {});

// Tests only: every line that passes the level goes to `sink` (formatted as
// for stderr, newline included) instead of stderr; an empty function restores
// stderr. `sink` is called under the logger's lock: it must not log.
void SetLogSinkForTesting(std::function<void(const std::string& line)> sink);

// Escapes a string for inclusion in a JSON string literal (without quotes).
std::string JsonEscape(const std::string& s);

}  // namespace mergeyard

#define LOG_DEBUG(...) ::mergeyard::Log(::mergeyard::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) ::mergeyard::Log(::mergeyard::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) ::mergeyard::Log(::mergeyard::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) ::mergeyard::Log(::mergeyard::LogLevel::kError, __VA_ARGS__)
