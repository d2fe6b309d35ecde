// Fuzz target: the `.mergeyard.yml` parser and validator.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "forge/repo_config_parser.h"
#include "queue/config.h"

using namespace mergeyard::forge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const RepoConfigParse p = ParseRepoConfig(text);
  // an accepted configuration is always one the queue can use
  if (p.ok() && !mergeyard::queue::Validate(p.config.queue).empty()) std::abort();
  for (const ConfigError& e : p.errors) {
    if (e.message.empty() || e.line < 0 || e.column < 0) std::abort();
  }
  (void)p.ErrorsText();
  return 0;
}
