#pragma once
// Reads a webhook fixture byte-for-byte from $MERGEYARD_FIXTURES/webhooks/.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mergeyard::testing {

inline std::string FixturesDir() {
  const char* dir = std::getenv("MERGEYARD_FIXTURES");
  return dir ? std::string(dir) : std::string("../shared/fixtures");
}

inline std::string ReadFixture(const std::string& relative) {
  std::ifstream in(FixturesDir() + "/webhooks/" + relative, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + relative);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace mergeyard::testing
