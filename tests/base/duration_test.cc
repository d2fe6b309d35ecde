#include <doctest/doctest.h>

#include "base/clock.h"
#include "base/duration.h"

using namespace mergeyard;

TEST_SUITE("base") {
TEST_CASE("durations parse in the units config files use") {
  CHECK(ParseDuration("90") == 90 * kSecond);
  CHECK(ParseDuration("90s") == 90 * kSecond);
  CHECK(ParseDuration("10m") == 10 * kMinute);
  CHECK(ParseDuration("1h30m") == 90 * kMinute);
  CHECK(ParseDuration("250ms") == 250);
  CHECK(ParseDuration("2d") == 48 * kHour);
}

TEST_CASE("malformed durations are rejected") {
  CHECK_FALSE(ParseDuration(""));
  CHECK_FALSE(ParseDuration("-5s"));
  CHECK_FALSE(ParseDuration("10x"));
  CHECK_FALSE(ParseDuration("m"));
  CHECK_FALSE(ParseDuration("5 m"));
}

TEST_CASE("durations format back into the same units") {
  CHECK(FormatDuration(90 * kMinute) == "1h30m");
  CHECK(FormatDuration(45 * kSecond) == "45s");
  CHECK(FormatDuration(250) == "250ms");
}

TEST_CASE("a manual clock only moves when told") {
  ManualClock clock(1000);
  CHECK(clock.Now() == 1000);
  clock.Advance(500);
  CHECK(clock.Now() == 1500);
}
}
