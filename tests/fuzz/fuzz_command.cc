// Fuzz target: the `!integrate` comment command parser.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "forge/command.h"

using namespace mergeyard::forge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Command c = ParseCommand(text);
  if (c.priority < 0 || c.priority > 255) std::abort();
  if (c.kind == CommandKind::kInvalid && c.problem.empty()) std::abort();
  return 0;
}
