#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>

#include "exec/process_runner.h"
#include "exec_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec;
using namespace mergeyard::exec::testing;

TEST_SUITE("exec") {

TEST_CASE("a step that exceeds its timeout has its whole process group killed") {
  for (bool sandbox : {false, true}) {
    CAPTURE(sandbox);
    TempDir dir;
    SystemClock clock;
    RunSpec spec;
    // A background child that would write a marker after 1.5 s, and a
    // foreground sleep that outlives the timeout.
    spec.argv = {"sh", "-c", "(sleep 1.5; echo late > marker) & sleep 30"};
    spec.workdir = dir.path;
    spec.timeout = 400;
    spec.kill_grace = 500;
    spec.sandbox = sandbox;
    spec.log_path = dir.path + "/log";
    Time start = clock.Now();
    RunOutcome out = RunProcess(spec, clock);
    CHECK(out.timed_out);
    CHECK(out.exit_code != 0);
    CHECK(clock.Now() - start < 3000);
    std::this_thread::sleep_for(std::chrono::milliseconds(1800));
    CHECK_FALSE(std::filesystem::exists(dir.path + "/marker"));
    CHECK(ReadFile(spec.log_path).find("timed out") != std::string::npos);
  }
}

TEST_CASE("the bubblewrap sandbox has no network, a read-only root and a writable checkout") {
  REQUIRE(BwrapAvailable());
  TempDir dir;
  SystemClock clock;
  RunSpec spec;
  spec.argv = {"sh", "-c",
               "echo ok > inside.txt && cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ';"
               "touch /usr/mergeyard-probe 2>/dev/null && echo ROOT-WRITABLE; exit 0"};
  spec.workdir = dir.path;
  spec.timeout = 10000;
  spec.log_path = dir.path + "/log";
  RunOutcome out = RunProcess(spec, clock);
  CHECK(out.exit_code == 0);
  CHECK(out.isolation == "bwrap");
  std::string log = ReadFile(spec.log_path);
  CHECK(log.find("isolation: bwrap (no network)") != std::string::npos);
  CHECK(log.find("\nlo\n") != std::string::npos);
  CHECK(log.find("eth") == std::string::npos);
  CHECK(log.find("ROOT-WRITABLE") == std::string::npos);
  CHECK(ReadFile(dir.path + "/inside.txt") == "ok\n");
  CHECK_FALSE(std::filesystem::exists("/usr/mergeyard-probe"));
}

TEST_CASE("a step sees a scrubbed environment plus its declared variables") {
  setenv("MERGEYARD_TEST_SECRET", "hunter2", 1);
  TempDir dir;
  SystemClock clock;
  RunSpec spec;
  spec.argv = {"sh", "-c", "env"};
  spec.env = {{"DECLARED", "yes"}};
  spec.workdir = dir.path;
  spec.sandbox = false;
  spec.log_path = dir.path + "/log";
  RunOutcome out = RunProcess(spec, clock);
  CHECK(out.exit_code == 0);
  CHECK(out.isolation == "process-group");
  std::string log = ReadFile(spec.log_path);
  CHECK(log.find("DECLARED=yes") != std::string::npos);
  CHECK(log.find("hunter2") == std::string::npos);
  CHECK(log.find("PATH=/usr/local/bin:/usr/bin:/bin") != std::string::npos);
  unsetenv("MERGEYARD_TEST_SECRET");
}

TEST_CASE("a step's program is found on the step's PATH, never on the server's") {
  TempDir dir;
  SystemClock clock;
  std::filesystem::create_directories(dir.path + "/server-bin");
  std::filesystem::create_directories(dir.path + "/step-bin");
  for (const char* d : {"server-bin", "step-bin"}) {
    std::ofstream(dir.path + "/" + d + "/mytool") << "#!/bin/sh\necho from " << d << "\n";
    std::filesystem::permissions(dir.path + "/" + d + "/mytool", std::filesystem::perms::owner_all);
  }
  const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", (dir.path + "/server-bin:" + saved).c_str(), 1);
  RunSpec spec;
  spec.argv = {"mytool"};
  spec.workdir = dir.path;
  spec.sandbox = false;
  spec.log_path = dir.path + "/log";
  RunOutcome hidden = RunProcess(spec, clock);
  CHECK(hidden.exit_code == 127);  // not on the scrubbed PATH
  CHECK(ReadFile(spec.log_path).find("from server-bin") == std::string::npos);
  spec.env = {{"PATH", dir.path + "/step-bin:/usr/bin:/bin"}};
  RunOutcome found = RunProcess(spec, clock);
  setenv("PATH", saved.c_str(), 1);
  CHECK(found.exit_code == 0);
  CHECK(ReadFile(spec.log_path).find("from step-bin") != std::string::npos);
}

TEST_CASE("a cancelled step is stopped and its exit code and usage are reported") {
  TempDir dir;
  SystemClock clock;
  std::atomic<bool> cancel{false};
  RunSpec spec;
  spec.argv = {"sh", "-c", "sleep 30"};
  spec.workdir = dir.path;
  spec.sandbox = false;
  spec.log_path = dir.path + "/log";
  spec.cancel = &cancel;
  int beats = 0;
  spec.heartbeat_every = 50;
  spec.heartbeat = [&] {
    if (++beats == 3) cancel.store(true);
  };
  RunOutcome out = RunProcess(spec, clock);
  CHECK(out.cancelled);
  CHECK_FALSE(out.timed_out);
  CHECK(out.exit_code == 128 + 15);
  CHECK(beats >= 3);
}

}  // TEST_SUITE
