// `mergeyard executor` (a separate process) runs REAPI actions: inputs come
// from the server's blobs into its own cache, outputs go back.
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <thread>

#include "reapi_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec::reapi;
using namespace mergeyard::exec::reapi::testing;

namespace {

std::string Binary() {
  const char* b = std::getenv("MERGEYARD_BINARY");
  return b && std::filesystem::exists(b) ? b : "";
}

}  // namespace

TEST_SUITE("reapi") {

TEST_CASE("a remote executor fetches the input root from the server and sends the outputs back") {
  REQUIRE_MESSAGE(!Binary().empty(), "MERGEYARD_BINARY must name the built mergeyard");
  ServerOptionsForTest o;
  o.local_executor = false;
  TestServer s(o);
  REQUIRE(s.stack);
  httplib::Server http;
  s.stack->Mount(http, exec::ApiTokens{"adm", "exe"});
  int port = http.bind_to_any_port("127.0.0.1");
  std::thread t([&] { http.listen_after_bind(); });
  std::ofstream(s.dir.path + "/token") << "exe\n";
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    execl(Binary().c_str(), Binary().c_str(), "executor", "--server", url.c_str(), "--token-file",
          (s.dir.path + "/token").c_str(), "--id", "far-away", "--work-dir", (s.dir.path + "/far").c_str(),
          "--cpu", "2", "--poll-wait", "1", static_cast<char*>(nullptr));
    _exit(127);
  }

  Client c(s.target());
  std::string big(3 << 20, 'z');
  rex::Digest root = UploadDir(c, {{"big.bin", {big, false}}, {"run.sh", {"#!/bin/sh\nwc -c < big.bin\n", true}}});
  ActionSpec spec;
  spec.argv = {"sh", "-c", "./run.sh > out/count && cp big.bin out/copy"};
  spec.input_root = root;
  spec.output_files = {"out/count", "out/copy"};
  rex::ExecuteResponse resp = c.Execute(UploadAction(c, spec));
  kill(-pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  http.stop();
  t.join();

  REQUIRE(resp.status().code() == 0);
  CHECK(resp.result().exit_code() == 0);
  CHECK(resp.result().execution_metadata().worker() == "far-away");
  REQUIRE(resp.result().output_files_size() == 2);
  for (const auto& f : resp.result().output_files()) {
    if (f.path() == "out/count") CHECK(c.Read(f.digest()) == std::to_string(big.size()) + "\n");
    if (f.path() == "out/copy") CHECK(f.digest().hash() == DigestOf(big).hash());
  }
  // The executor's own cache holds the input it hard-linked from.
  CHECK(std::filesystem::exists(s.dir.path + "/far/cas/" + DigestOf(big).hash().substr(0, 2) + "/" +
                                DigestOf(big).hash()));
}

}  // TEST_SUITE
