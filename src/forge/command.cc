#include "forge/command.h"

#include <cctype>
#include <vector>

#include "queue/types.h"

namespace mergeyard::forge {

namespace {

constexpr std::string_view kWord = "!integrate";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !IsSpace(s[j])) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Command Invalid(std::string problem) {
  Command c;
  c.kind = CommandKind::kInvalid;
  c.problem = std::move(problem);
  return c;
}

}  // namespace

bool ParsePriority(std::string_view text, int* out) {
  const std::string t = Lower(text);
  if (t == "high") { *out = queue::kPriorityHigh; return true; }
  if (t == "normal") { *out = queue::kPriorityNormal; return true; }
  if (t == "low") { *out = queue::kPriorityLow; return true; }
  if (t.empty() || t.size() > 3) return false;
  int v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > 255) return false;
  *out = v;
  return true;
}

Command ParseCommand(std::string_view body) {
  std::string_view line = body.substr(0, body.find('\n'));
  size_t start = 0;
  while (start < line.size() && IsSpace(line[start])) ++start;
  line.remove_prefix(start);
  if (line.size() < kWord.size() || Lower(line.substr(0, kWord.size())) != kWord) return {};
  const std::string_view rest = line.substr(kWord.size());
  if (!rest.empty() && !IsSpace(rest[0])) {
    return Invalid("`" + std::string(line.substr(0, line.find_first_of(" \t\r"))) +
                   "` is not a command");
  }
  const std::vector<std::string> words = Words(rest);
  Command c;
  c.kind = CommandKind::kIntegrate;
  if (words.empty()) return c;
  if (words.size() > 1) return Invalid("too many arguments");
  const std::string w = Lower(words[0]);
  if (w == "cancel") { c.kind = CommandKind::kCancel; return c; }
  if (w == "retry") { c.kind = CommandKind::kRetry; return c; }
  constexpr std::string_view kPrio = "priority=";
  if (w.rfind(kPrio, 0) == 0) {
    if (!ParsePriority(std::string_view(w).substr(kPrio.size()), &c.priority)) {
      return Invalid("`" + words[0] + "`: priority must be high, normal, low or 0-255");
    }
    c.priority_given = true;
    return c;
  }
  return Invalid("`" + words[0] + "` is not understood");
}

std::string CommandHelp() {
  return "mergeyard understands, on the first line of a comment:\n"
         "- `!integrate`: add this pull request to the merge queue\n"
         "- `!integrate priority=high|normal|low|<0-255>`: the same, with a priority\n"
         "- `!integrate cancel`: take it out of the queue\n"
         "- `!integrate retry`: queue it again after it was kicked";
}

}  // namespace mergeyard::forge
