#include <doctest/doctest.h>

#include <sys/stat.h>

#include "exec/log_links.h"
#include "temp_dir.h"

using mergeyard::exec::LogLinks;

TEST_CASE("a log link's signature opens that execution's log only, and survives a restart") {
  mergeyard::testing::TempDir dir;
  auto links = LogLinks::LoadOrCreate(dir.File("keys/log-link.key"));
  REQUIRE(links.ok());
  const std::string sig = links->Sign("exec-1");
  CHECK(sig.size() == 32);
  CHECK(links->Verify("exec-1", sig));
  CHECK_FALSE(links->Verify("exec-2", sig));
  CHECK_FALSE(links->Verify("exec-1", ""));
  CHECK_FALSE(links->Verify("exec-1", sig.substr(0, 31) + (sig[31] == '0' ? "1" : "0")));
  struct stat st {};
  REQUIRE(::stat(dir.File("keys/log-link.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = LogLinks::LoadOrCreate(dir.File("keys/log-link.key"));
  REQUIRE(again.ok());
  CHECK(again->Verify("exec-1", sig));
  auto other = LogLinks::LoadOrCreate(dir.File("other.key"));
  REQUIRE(other.ok());
  CHECK_FALSE(other->Verify("exec-1", sig));
}
