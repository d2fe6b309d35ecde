#include "base/duration.h"

#include <cctype>

namespace mergeyard {

std::optional<Duration> ParseDuration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  Duration total = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    std::int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return std::nullopt;
      ++i;
    }
    std::string unit;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) unit += text[i++];
    Duration scale;
    if (unit.empty() || unit == "s") scale = kSecond;
    else if (unit == "ms") scale = 1;
    else if (unit == "m") scale = kMinute;
    else if (unit == "h") scale = kHour;
    else if (unit == "d") scale = 24 * kHour;
    else return std::nullopt;
    if (unit.empty() && i < text.size()) return std::nullopt;
    total += n * scale;
    any = true;
  }
  if (!any) return std::nullopt;
  return total;
}

std::string FormatDuration(Duration d) {
  if (d < kSecond) return std::to_string(d) + "ms";
  std::string out;
  Duration s = d / kSecond;
  if (s >= 3600) { out += std::to_string(s / 3600) + "h"; s %= 3600; }
  if (s >= 60) { out += std::to_string(s / 60) + "m"; s %= 60; }
  if (s > 0 || out.empty()) out += std::to_string(s) + "s";
  return out;
}

}  // namespace mergeyard
