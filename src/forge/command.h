#pragma once
// The `!integrate` comment commands (DESIGN.md section 5). Only the first line
// of a comment counts; leading spaces and tabs are allowed. Pure.

#include <string>
#include <string_view>

namespace mergeyard::forge {

enum class CommandKind {
  kNone,       // the comment is not a command
  kIntegrate,  // `!integrate [priority=...]`
  kCancel,     // `!integrate cancel`
  kRetry,      // `!integrate retry`
  kInvalid,    // starts with `!integrate` but is not understood: reply with CommandHelp()
};

struct Command {
  CommandKind kind = CommandKind::kNone;
  int priority = 128;            // queue::kPriorityNormal unless given
  bool priority_given = false;
  std::string problem;           // kInvalid: what was not understood
};

Command ParseCommand(std::string_view comment_body);

// The reply for kInvalid: every form that is understood.
std::string CommandHelp();

// "high" 192, "normal" 128, "low" 64, or an integer 0..255. False otherwise.
bool ParsePriority(std::string_view text, int* out);

}  // namespace mergeyard::forge
