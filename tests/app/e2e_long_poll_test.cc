// The one HTTP listener serves webhooks, the APIs and remote executors'
// long polls: executors waiting for work must not starve the rest.

#include <doctest/doctest.h>
#include <httplib.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "e2e_harness.h"

using namespace mergeyard::testing;

TEST_CASE("sixty-four remote executors long-polling do not hold up webhooks or health checks") {
  E2e e("  target_batch_size: 1\n");
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kE2eExecutorToken}};
  // More than cpp-httplib's default pool (cores - 1, at least 8) on most
  // machines, fewer than the service's http_threads (128).
  constexpr int kExecutors = 64;
  std::atomic<int> polling{0};
  std::vector<std::thread> polls;
  std::atomic<int> polled{0};
  std::mutex mu;
  std::vector<std::string> problems;  // what went wrong, per executor
  auto problem = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    problems.push_back(what);
  };
  for (int i = 0; i < kExecutors; ++i) {
    polls.emplace_back([&, i] {
      httplib::Client cli("127.0.0.1", e.serve().port());
      cli.set_read_timeout(30);
      const std::string id = "idle-" + std::to_string(i);
      nlohmann::json reg = {{"id", id}, {"resources", {{"cpu", 1}}}, {"labels", {{"os", "plan9"}}}};
      auto r = cli.Post("/api/v1/executors/register", auth, reg.dump(), "application/json");
      if (!r || r->status != 200) return problem(id + " register: " + (r ? r->body : httplib::to_string(r.error())));
      ++polling;
      auto p = cli.Post("/api/v1/executors/" + id + "/poll?wait=8", auth, "{}", "application/json");
      if (!p || p->status != 200) return problem(id + " poll: " + (p ? p->body : httplib::to_string(p.error())));
      ++polled;
    });
  }
  struct JoinAll {  // also when a REQUIRE below fails: no thread outlives the test
    std::vector<std::thread>& threads;
    ~JoinAll() {
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_all{polls};
  REQUIRE(E2e::WaitFor([&] { return polling == kExecutors; }, 30000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the polls reach the server and wait

  auto timed = [](const std::function<int()>& call) {
    auto start = std::chrono::steady_clock::now();
    int status = call();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return std::make_pair(status, ms);
  };
  auto [health, health_ms] = timed([&] {
    httplib::Client cli("127.0.0.1", e.serve().port());
    auto r = cli.Get("/healthz");
    return r ? r->status : -1;
  });
  CHECK(health == 200);
  CHECK(health_ms < 2000);
  // A comment that is no command: stored and answered, and no run starts
  // that an idle executor here could be handed.
  e.OpenPull(1, {{"one.txt", "1\n"}});
  auto [hook, hook_ms] = timed([&] { return e.Comment(1, "Looks good to me"); });
  CHECK(hook >= 200);
  CHECK(hook < 300);
  CHECK(hook_ms < 2000);
  for (auto& t : polls) t.join();
  CHECK_MESSAGE(polled == kExecutors, "" << [&] {  // and each long poll was answered
    std::string all;
    for (const auto& p : problems) all += p + "\n";
    return all;
  }());
}
