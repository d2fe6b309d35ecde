// app::DirLock: one process per data directory, released by a crash.

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "app/dir_lock.h"
#include "temp_dir.h"

using namespace mergeyard;
using namespace mergeyard::app;

TEST_SUITE("app") {

TEST_CASE("a second lock on a data directory is refused, naming the holder's pid") {
  testing::TempDir dir;
  auto first = DirLock::Acquire(dir.path() + "/data");
  REQUIRE(first.ok());
  auto second = DirLock::Acquire(dir.path() + "/data");
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == ErrorCode::kConflict);
  CHECK(second.error().message.find("pid " + std::to_string(getpid())) != std::string::npos);
}

TEST_CASE("the lock is free again once its holder is gone, even after kill -9") {
  testing::TempDir dir;
  { auto held = DirLock::Acquire(dir.path()); REQUIRE(held.ok()); }
  CHECK(DirLock::Acquire(dir.path()).ok());

  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto held = DirLock::Acquire(dir.path());
    char c = held.ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  struct KillChild {  // also when a REQUIRE below fails
    pid_t pid;
    ~KillChild() {
      if (waitpid(pid, nullptr, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } guard{child};
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  CHECK_FALSE(DirLock::Acquire(dir.path()).ok());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  CHECK(DirLock::Acquire(dir.path()).ok());
  close(ready[0]);
  close(ready[1]);
}

}  // TEST_SUITE
