#include <doctest/doctest.h>

#include "forge/command.h"

using namespace mergeyard::forge;

TEST_SUITE("forge") {

TEST_CASE("plain !integrate queues at normal priority") {
  Command c = ParseCommand("!integrate");
  CHECK(c.kind == CommandKind::kIntegrate);
  CHECK(c.priority == 128);
  CHECK_FALSE(c.priority_given);
  CHECK(ParseCommand("   !integrate  \r\nthanks!").kind == CommandKind::kIntegrate);
  CHECK(ParseCommand("\t!integrate").kind == CommandKind::kIntegrate);
}

TEST_CASE("priority names and numbers map to the queue constants") {
  CHECK(ParseCommand("!integrate priority=high").priority == 192);
  CHECK(ParseCommand("!integrate priority=normal").priority == 128);
  CHECK(ParseCommand("!integrate priority=low").priority == 64);
  CHECK(ParseCommand("!integrate priority=0").priority == 0);
  CHECK(ParseCommand("!integrate priority=255").priority == 255);
  CHECK(ParseCommand("!integrate priority=7").priority_given);
  CHECK(ParseCommand("!integrate priority=256").kind == CommandKind::kInvalid);
  CHECK(ParseCommand("!integrate priority=-1").kind == CommandKind::kInvalid);
  CHECK(ParseCommand("!integrate priority=").kind == CommandKind::kInvalid);
  CHECK(ParseCommand("!integrate priority=urgent").kind == CommandKind::kInvalid);
}

TEST_CASE("cancel and retry are understood") {
  CHECK(ParseCommand("!integrate cancel").kind == CommandKind::kCancel);
  CHECK(ParseCommand("  !integrate retry\nplease").kind == CommandKind::kRetry);
}

TEST_CASE("anything else starting with !integrate is invalid and gets the help") {
  CHECK(ParseCommand("!integrate now").kind == CommandKind::kInvalid);
  CHECK(ParseCommand("!integrated").kind == CommandKind::kInvalid);
  CHECK(ParseCommand("!integrate cancel retry").kind == CommandKind::kInvalid);
  CHECK_FALSE(ParseCommand("!integrate please").problem.empty());
  CHECK(CommandHelp().find("!integrate cancel") != std::string::npos);
  CHECK(CommandHelp().find("priority=high|normal|low|<0-255>") != std::string::npos);
}

TEST_CASE("commands only count on the first line") {
  CHECK(ParseCommand("LGTM\n!integrate").kind == CommandKind::kNone);
  CHECK(ParseCommand("please !integrate").kind == CommandKind::kNone);
  CHECK(ParseCommand("").kind == CommandKind::kNone);
  CHECK(ParseCommand("!integ").kind == CommandKind::kNone);
}

}  // TEST_SUITE
