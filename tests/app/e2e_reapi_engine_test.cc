// `mergeyard serve` end to end with its pipeline steps on a REAPI engine:
// a second `mergeyard serve` listening for REAPI (reapi_remote on the first).
#include <doctest/doctest.h>

#include "e2e_harness.h"

using namespace mergeyard::testing;

TEST_CASE("a queue whose steps run on a second mergeyard as REAPI engine lands the good and kicks the bad") {
  TempDir engine_dir;
  auto grpc_port = mergeyard::app::FreeLoopbackPort();
  REQUIRE(grpc_port);
  const std::string grpc = "127.0.0.1:" + std::to_string(*grpc_port);
  ServeProcess engine(engine_dir.path(), {{"MERGEYARD_ADMIN_TOKEN", "engine-admin"},
                                          {"MERGEYARD_REAPI_LISTEN", grpc},
                                          {"MERGEYARD_REAPI_TOKEN", "engine-token"},
                                          {"MERGEYARD_LOCAL_EXECUTORS", "2"}});
  REQUIRE_MESSAGE(engine.Start(), "the engine did not start:\n" << engine.Log());

  E2e e("  target_batch_size: 2\n  max_wait: 1s\n  concurrency: 1\n",
        {{"MERGEYARD_REAPI_REMOTE", "grpc://" + grpc}, {"MERGEYARD_REAPI_REMOTE_TOKEN", "engine-token"},
         {"MERGEYARD_REAPI_INSTANCE", "queue"}});
  e.OpenPull(1, {{"good.txt", "fine\n"}});
  e.OpenPull(2, {{"bad.txt", "breaks the tests\n"}});
  REQUIRE(e.Comment(1, "!integrate") == 202);
  REQUIRE(e.Comment(2, "!integrate") == 202);
  const bool done = E2e::WaitFor([&] { return e.Merged(1) && e.Kicked(2); });
  INFO(e.serve().Log());
  INFO(engine.Log());
  REQUIRE(done);
  CHECK(Contains(e.FilesOnMain(), "good.txt"));
  CHECK_FALSE(Contains(e.FilesOnMain(), "bad.txt"));
  // The kicked pull request's log, served by the queue, is the engine's output.
  const std::string kicked = e.StatusComment(2);
  auto log_at = kicked.find("Log: ");
  REQUIRE(log_at != std::string::npos);
  std::string url = kicked.substr(log_at + 5, kicked.find_first_of(" \n", log_at + 5) - log_at - 5);
  httplib::Client queue(e.serve().url());
  auto log = queue.Get(url.substr(e.serve().url().size()));
  REQUIRE(log);
  CHECK(log->body.find("FAIL: bad.txt is in the tree") != std::string::npos);
  CHECK(log->body.find("REAPI engine") != std::string::npos);

  // The engine ran them: its executions are REAPI ones.
  httplib::Client cli(engine.url());
  cli.set_bearer_token_auth("engine-admin");
  auto list = cli.Get("/api/v1/executions?limit=50");
  REQUIRE(list);
  auto j = nlohmann::json::parse(list->body);
  int reapi = 0;
  for (const auto& x : j["executions"])
    if (x.value("action_digest", "").rfind("reapi:queue:", 0) == 0) ++reapi;
  CHECK(reapi >= 2);
  CHECK(e.serve().Stop() == 0);
  CHECK(engine.Stop() == 0);
}
