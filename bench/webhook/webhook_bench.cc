// Webhook listener benchmark: signed GitHub deliveries over loopback with
// keep-alive and TCP_NODELAY, each committed to SQLite (WAL, synchronous=FULL)
// before its 202. Prints deliveries stored per second and p50/p99 answer time.
//
//   build/bench/webhook/webhook_bench [--clients 1,4,8] [--seconds 5] [--body FILE] [--threads 128]
//
// The listener gets --threads HTTP threads, the service's http_threads
// default: a keep-alive connection holds one between its requests.

#include <httplib.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "forge/signature.h"
#include "store/database.h"
#include "webhook/delivery_store.h"
#include "webhook/listener.h"

using namespace mergeyard;
using Steady = std::chrono::steady_clock;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string DefaultBody() {
  const char* fixtures = std::getenv("MERGEYARD_FIXTURES");
  std::string dir = fixtures ? fixtures : "../shared/fixtures";
  std::string body = ReadFile(dir + "/webhooks/github/issue_comment.created.json");
  if (body.empty()) {
    body = R"({"action":"created","issue":{"number":7,"pull_request":{}},"comment":{"id":1,)"
           R"("body":"!integrate","user":{"login":"alice","id":1,"type":"User"}},)"
           R"("repository":{"full_name":"acme/widgets","id":9}})";
  }
  return body;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

struct Row {
  int clients = 0;
  size_t answered = 0;
  long durable = 0;
  long errors = 0;
  double per_second = 0;
  double p50 = 0;
  double p99 = 0;
  double cpu_seconds = 0;  // user + system time of this process (server and clients)
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// One measurement on a fresh database and listener.
Row Measure(int clients, double seconds, const std::string& body, int listener_threads) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("mergeyard-webhook-bench-" + std::to_string(::getpid()) + "-" + std::to_string(clients));
  std::filesystem::create_directories(dir);
  auto db = store::Database::Open((dir / "bench.sqlite").string());
  if (!db.ok()) { std::fprintf(stderr, "%s\n", db.error().ToString().c_str()); std::exit(1); }
  SystemClock sys;
  auto deliveries = webhook::DeliveryStore::Open(**db, sys);
  if (!deliveries.ok()) { std::fprintf(stderr, "%s\n", deliveries.error().ToString().c_str()); std::exit(1); }

  httplib::Server server;
  server.set_keep_alive_max_count(1000000);
  server.new_task_queue = [listener_threads] {
    return new httplib::ThreadPool(static_cast<size_t>(listener_threads));
  };
  webhook::ListenerOptions options;
  options.secrets.default_secret = "bench-secret";
  webhook::RegisterRoutes(server, options, **deliveries);
  int listen_fd = -1;  // the service's backlog (app/service.cc), not Debian's build's 5
  server.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  server.set_socket_options(httplib::default_socket_options);  // forget `listen_fd`
  if (port < 0) { std::fprintf(stderr, "cannot bind a loopback port\n"); std::exit(1); }
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  std::thread server_thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  const std::string signature = "sha256=" + forge::HmacSha256Hex("bench-secret", body);
  std::atomic<bool> stop{false};
  std::atomic<long> errors{0};
  std::vector<std::vector<double>> latencies(clients);
  std::vector<std::thread> threads;
  const double cpu_start = CpuSeconds();
  const auto start = Steady::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        httplib::Headers h = {{"X-GitHub-Event", "issue_comment"},
                              {"X-GitHub-Delivery", std::to_string(c) + "-" + std::to_string(i)},
                              {"X-Hub-Signature-256", signature}};
        const auto t0 = Steady::now();
        auto r = cli.Post("/webhooks/github", h, body, "application/json");
        const auto t1 = Steady::now();
        if (!r || r->status != 202) { ++errors; continue; }
        latencies[c].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Steady::now() - start).count();
  const double cpu = CpuSeconds() - cpu_start;
  server.stop();
  server_thread.join();

  Row row;
  row.clients = clients;
  std::vector<double> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  row.answered = all.size();
  const auto done = (*deliveries)->Count("done");
  const auto pending = (*deliveries)->Count("pending");
  row.durable = (done.ok() ? *done : 0) + (pending.ok() ? *pending : 0);
  row.errors = errors.load();
  row.per_second = static_cast<double>(all.size()) / elapsed;
  row.p50 = Percentile(all, 0.50);
  row.p99 = Percentile(all, 0.99);
  row.cpu_seconds = cpu;
  deliveries->reset();
  db->reset();
  std::filesystem::remove_all(dir);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> clients = {1, 4, 8};
  double seconds = 5;
  std::string body;
  int threads = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--clients") {
      clients.clear();
      std::stringstream ss(argv[i + 1]);
      std::string item;
      while (std::getline(ss, item, ',')) clients.push_back(std::atoi(item.c_str()));
    } else if (a == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (a == "--body") {
      body = ReadFile(argv[i + 1]);
    } else if (a == "--threads") {
      threads = std::max(1, std::atoi(argv[i + 1]));
    }
  }
  if (body.empty()) body = DefaultBody();
  SetLogLevel(LogLevel::kWarn);
  std::printf("Signed GitHub issue_comment deliveries (%zu bytes) over loopback, keep-alive + TCP_NODELAY,\n"
              "each committed to SQLite (WAL, synchronous=FULL) before its 202; %g s per row; %d listener threads.\n"
              "The last column divides by the CPU time this process (listener and clients) used: on a busy\n"
              "machine it shows what the listener would do with the cores to itself.\n\n",
              body.size(), seconds, threads);
  std::printf("| clients | answered 202 | stored rows | errors | deliveries/s | p50 ms | p99 ms | deliveries per CPU-s |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  bool consistent = true;
  for (int c : clients) {
    const Row r = Measure(c, seconds, body, threads);
    std::printf("| %d | %zu | %ld | %ld | %.0f | %.2f | %.2f | %.0f |\n", r.clients, r.answered, r.durable,
                r.errors, r.per_second, r.p50, r.p99,
                r.cpu_seconds > 0 ? static_cast<double>(r.answered) / r.cpu_seconds : 0.0);
    std::fflush(stdout);
    consistent = consistent && r.durable == static_cast<long>(r.answered);
  }
  return consistent ? 0 : 2;
}
