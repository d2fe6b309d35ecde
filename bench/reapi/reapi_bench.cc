// REAPI server benchmark (issue 13): the gRPC server of `mergeyard serve`
// (exec/reapi) measured over loopback by a real gRPC client.
//
// The server is this binary run again as a child, `reapi_bench --serve`: an
// exec::ExecStack (REAPI listener on 127.0.0.1:0, the local executor with
// `mergeyard serve`'s defaults: bubblewrap when available, 500 ms poll wait,
// this machine's cores) in a fresh temporary data directory. A child of its
// own makes its CPU time exact (/proc/<pid>/stat), lets it be pinned to one
// core, and lets a profiler watch the server alone (--server-wrap).
//
//  1. cache hits: one action executed once, then --clients threads (one
//     channel each) issue Execute for it; calls/s, calls per server
//     CPU-second, p50/p99 latency. The server is pinned to core 0 and the
//     client to core 1 (when there are two cores).
//  2. cache misses: unique `true` actions (salted), one Execute at a time;
//     overhead = round trip - the command's own run (ExecutedActionMetadata
//     execution_start..execution_completed; a server without timestamps:
//     the median fork/exec/wait of /bin/true measured here), split into the
//     worker's input fetch and output upload and the time outside the
//     worker. Once with the sandbox (the default) and once without it;
//     pinned as the cache hits are, on a CAS whose fan-out directories
//     exist (FillFanOut).
//  3. CAS: fresh blobs each round, after 1 GiB written and removed so page
//     cache writes land in recycled memory (NewFileWrite: a VM's first
//     touch of a page can dominate); 1 KiB with BatchUpdateBlobs /
//     BatchReadBlobs (1000 per call), 1 MiB and 64 MiB with ByteStream
//     Write / Read (one stream at a time, --chunk-kib chunks).
// Medians of --rounds rounds; latency percentiles pool every round.
//
//   bench/reapi/run.sh [BUILD_DIR] [--rounds 3] [--clients 8] [--seconds 2]
//       [--misses 60] [--chunk-kib 1024] [--only hit|miss|cas|cas-1k|cas-1m|cas-64m]
//       [--server-wrap "perf record -o /tmp/%s.perf --"]   (%s: main or plain)

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "exec/exec_stack.h"
#include "exec/reapi/cas.h"
#include "google/bytestream/bytestream.grpc.pb.h"
#include "google/longrunning/operations.pb.h"

extern char** environ;

using namespace mergeyard;
namespace rex = build::bazel::remote::execution::v2;
namespace bs = google::bytestream;
using exec::reapi::DigestOf;
using exec::reapi::DigestString;
using Clk = std::chrono::steady_clock;

namespace {

struct Args {
  int rounds = 3, clients = 8, misses = 60, chunk_kib = 1024;
  double seconds = 2;
  std::string only;          // "" (all), "hit", "miss", "cas" or one CAS size: "cas-1k", "cas-1m", "cas-64m"
  std::string server_wrap;   // command words put before the server child
  bool serve = false, sandbox = true;
};

// ---------------------------------------------------------------- helpers

std::string Fmt(const char* f, double a, double b = 0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

double Secs(Clk::time_point a, Clk::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}
double Median(std::vector<double> v) { return Pct(std::move(v), 0.5); }

// Deterministic, incompressible bytes: the same (n, seed) gives the same blob.
std::string Fill(std::size_t n, std::uint64_t seed) {
  std::string s(n, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < n; i += 8) {
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    std::uint64_t v = x * 0x2545F4914F6CDD1Dull;
    std::memcpy(s.data() + i, &v, std::min<std::size_t>(8, n - i));
  }
  return s;
}

std::string LoadAverage() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  double a = 0;
  if (f && std::fscanf(f, "%lf", &a) != 1) a = 0;
  if (f) std::fclose(f);
  return Fmt("%.1f", a);
}

std::vector<std::string> Split(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// CPU seconds (user + system, all threads) of a process so far.
double ProcessCpu(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return 0;
  char buf[2048];
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  unsigned long long utime = 0, stime = 0;
  if (p) std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime);
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Sets the CPU affinity of every thread of `pid` (threads created later
// inherit it from their creator). cpu < 0: every CPU.
void Pin(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  for (long c = 0; c < n; ++c)
    if (cpu < 0 || c == cpu) CPU_SET(static_cast<int>(c), &set);
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
    sched_setaffinity(std::stoi(t.path().filename().string()), sizeof set, &set);
}

// Runs argv to its end; the wall time of spawn + wait in milliseconds.
double SpawnMs(const std::vector<std::string>& argv) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  auto t0 = Clk::now();
  pid_t pid = 0;
  int status = 0;
  if (posix_spawnp(&pid, a[0], &fa, nullptr, a.data(), environ) == 0) waitpid(pid, &status, 0);
  posix_spawn_file_actions_destroy(&fa);
  return Secs(t0, Clk::now()) * 1e3;
}

double MedianSpawnMs(const std::vector<std::string>& argv, int n) {
  for (int i = 0; i < n / 10; ++i) SpawnMs(argv);  // warm the page cache
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(SpawnMs(argv));
  return Median(v);
}

// ----------------------------------------------------------- server child

// `reapi_bench --serve`: starts the stack, prints "port P pid Q", serves
// until stdin closes, stops, removes its data directory.
int Serve(const Args& args) {
  SetLogLevel(LogLevel::kWarn);
  std::string tmpl = (std::filesystem::temp_directory_path() / "mergeyard-reapi-bench-XXXXXX").string();
  std::string dir = mkdtemp(tmpl.data());
  SystemClock clock;
  exec::ExecStackOptions o;
  o.data_dir = dir + "/exec";
  o.mirror_of = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  o.configs = [](const engine::QueueKey&) -> std::optional<engine::RepoConfig> { return std::nullopt; };
  o.local.sandbox = args.sandbox;
  o.reapi.listen = "127.0.0.1:0";
  auto stack = exec::ExecStack::Start(o, clock);
  if (!stack) {
    std::fprintf(stderr, "cannot start the stack: %s\n", stack.error().message.c_str());
    return 1;
  }
  std::printf("port %d pid %d\n", (*stack)->reapi_server()->port(), getpid());
  std::fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  (*stack)->Stop();
  std::filesystem::remove_all(dir);
  return 0;
}

// The parent's handle on a server child.
class ServerProcess {
 public:
  ServerProcess(const Args& args, bool sandbox) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    std::vector<std::string> argv = Split(args.server_wrap);
    for (auto& w : argv)  // "%s": which server, for per-server profiler output files
      if (auto at = w.find("%s"); at != std::string::npos) w.replace(at, 2, sandbox ? "main" : "plain");
    argv.push_back(std::filesystem::read_symlink("/proc/self/exe").string());
    argv.push_back("--serve");
    if (!sandbox) argv.push_back("--no-sandbox");
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    int rc = posix_spawnp(&child_, a[0], &fa, nullptr, a.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    fcntl(stdin_, F_SETFD, FD_CLOEXEC);
    if (rc != 0) return;
    FILE* f = fdopen(out[0], "r");
    if (std::fscanf(f, "port %d pid %d", &port_, &pid_) != 2) port_ = 0;
    std::fclose(f);
  }
  ~ServerProcess() {
    close(stdin_);  // the child stops when its stdin closes
    int status = 0;
    if (child_ > 0) waitpid(child_, &status, 0);
  }
  bool ok() const { return port_ > 0; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  double cpu() const { return ProcessCpu(pid_); }

 private:
  pid_t child_ = 0, pid_ = 0;
  int port_ = 0, stdin_ = -1;
};

// ------------------------------------------------------------ gRPC client

// One channel (its own connection) and its stubs.
struct Client {
  explicit Client(const std::string& target) {
    grpc::ChannelArguments ca;
    ca.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    ca.SetMaxReceiveMessageSize(128 << 20);
    ca.SetMaxSendMessageSize(128 << 20);
    channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), ca);
    cas = rex::ContentAddressableStorage::NewStub(channel);
    exec = rex::Execution::NewStub(channel);
    bytestream = bs::ByteStream::NewStub(channel);
  }
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<rex::ContentAddressableStorage::Stub> cas;
  std::unique_ptr<rex::Execution::Stub> exec;
  std::unique_ptr<bs::ByteStream::Stub> bytestream;
};

void Deadline(grpc::ClientContext& ctx, int seconds = 120) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

// BatchUpdateBlobs; true when every blob was stored.
bool UploadBatch(Client& c, const std::vector<std::string>& blobs, const std::vector<rex::Digest>& digests) {
  rex::BatchUpdateBlobsRequest req;
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    auto* r = req.add_requests();
    *r->mutable_digest() = digests[i];
    r->set_data(blobs[i]);
  }
  rex::BatchUpdateBlobsResponse resp;
  grpc::ClientContext ctx;
  Deadline(ctx);
  if (!c.cas->BatchUpdateBlobs(&ctx, req, &resp).ok()) return false;
  for (const auto& r : resp.responses())
    if (r.status().code() != 0) return false;
  return resp.responses_size() == static_cast<int>(blobs.size());
}

// BatchReadBlobs; the bytes read (-1 on any error).
std::int64_t ReadBatch(Client& c, const std::vector<rex::Digest>& digests) {
  rex::BatchReadBlobsRequest req;
  for (const auto& d : digests) *req.add_digests() = d;
  rex::BatchReadBlobsResponse resp;
  grpc::ClientContext ctx;
  Deadline(ctx);
  if (!c.cas->BatchReadBlobs(&ctx, req, &resp).ok()) return -1;
  std::int64_t n = 0;
  for (const auto& r : resp.responses()) {
    if (r.status().code() != 0) return -1;
    n += static_cast<std::int64_t>(r.data().size());
  }
  return n;
}

// One ByteStream Write of a whole blob in `chunk`-byte messages.
bool WriteStream(Client& c, const std::string& data, const rex::Digest& d, std::size_t chunk, int seq) {
  grpc::ClientContext ctx;
  Deadline(ctx);
  bs::WriteResponse resp;
  auto w = c.bytestream->Write(&ctx, &resp);
  bs::WriteRequest req;
  req.set_resource_name("uploads/bench-" + std::to_string(getpid()) + "-" + std::to_string(seq) + "/blobs/" +
                        DigestString(d));
  std::size_t at = 0;
  do {
    std::size_t n = std::min(chunk, data.size() - at);
    req.set_write_offset(static_cast<std::int64_t>(at));
    req.set_data(data.data() + at, n);
    at += n;
    req.set_finish_write(at == data.size());
    if (!w->Write(req)) break;
    req.clear_resource_name();  // only the first message names it
  } while (at < data.size());
  w->WritesDone();
  return w->Finish().ok() && resp.committed_size() == d.size_bytes();
}

// One ByteStream Read of a whole blob; the bytes received (-1 on error).
std::int64_t ReadStream(Client& c, const rex::Digest& d) {
  grpc::ClientContext ctx;
  Deadline(ctx);
  bs::ReadRequest req;
  req.set_resource_name("blobs/" + DigestString(d));
  auto r = c.bytestream->Read(&ctx, req);
  bs::ReadResponse resp;
  std::int64_t n = 0;
  while (r->Read(&resp)) n += static_cast<std::int64_t>(resp.data().size());
  return r->Finish().ok() ? n : -1;
}

// Runs Execute to its end; the final response (status INTERNAL when the
// stream failed or ended without one).
rex::ExecuteResponse Execute(Client& c, const rex::Digest& action) {
  grpc::ClientContext ctx;
  Deadline(ctx);
  rex::ExecuteRequest req;
  *req.mutable_action_digest() = action;
  auto reader = c.exec->Execute(&ctx, req);
  google::longrunning::Operation op;
  rex::ExecuteResponse resp;
  bool done = false;
  while (reader->Read(&op))
    if (op.done()) done = op.response().UnpackTo(&resp);
  grpc::Status s = reader->Finish();
  if (!s.ok() || !done) resp.mutable_status()->set_code(grpc::StatusCode::INTERNAL);
  return resp;
}

bool Succeeded(const rex::ExecuteResponse& r) { return r.status().code() == 0 && r.result().exit_code() == 0; }

// Uploads Command {argv}, the empty input root and one Action per salt (in
// one batch); the Action digests.
std::vector<rex::Digest> UploadActions(Client& c, const std::vector<std::string>& argv,
                                       const std::vector<std::string>& salts) {
  rex::Command cmd;
  for (const auto& a : argv) cmd.add_arguments(a);
  std::vector<std::string> blobs = {cmd.SerializeAsString(), rex::Directory().SerializeAsString()};
  std::vector<rex::Digest> digests = {DigestOf(blobs[0]), DigestOf(blobs[1])};
  std::vector<rex::Digest> actions;
  for (const auto& salt : salts) {
    rex::Action a;
    *a.mutable_command_digest() = digests[0];
    *a.mutable_input_root_digest() = digests[1];
    a.set_salt(salt);
    blobs.push_back(a.SerializeAsString());
    digests.push_back(DigestOf(blobs.back()));
    actions.push_back(digests.back());
  }
  if (!UploadBatch(c, blobs, digests)) return {};
  return actions;
}

// ------------------------------------------------------ the table's rows

struct Row {
  std::string measure, value, goal, met;
};
std::vector<Row> g_rows;
std::vector<std::string> g_notes;

void AddRow(std::string measure, std::string value, std::string goal = "-", int met = -1) {
  g_rows.push_back({std::move(measure), std::move(value), std::move(goal), met < 0 ? "-" : met ? "yes" : "NO"});
}
void Note(std::string s) { g_notes.push_back(std::move(s)); }

// ------------------------------------------------------ 1. cache hits

struct HitRound {
  std::uint64_t calls = 0, failed = 0;
  double wall_s = 0, server_cpu_s = 0, client_cpu_s = 0;
  std::vector<double> lat_us;
};

double SelfCpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Every client thread issues Execute(action) back to back for `seconds`.
HitRound RunHits(std::vector<std::unique_ptr<Client>>& clients, const rex::Digest& action, double seconds,
                 const ServerProcess& server) {
  HitRound out;
  std::vector<std::vector<double>> lat(clients.size());
  std::vector<std::uint64_t> failed(clients.size(), 0);
  std::atomic<bool> stop{false};
  double s0 = server.cpu(), c0 = SelfCpu();
  auto t0 = Clk::now();
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < clients.size(); ++i)
    threads.emplace_back([&, i] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto a = Clk::now();
        bool ok = Succeeded(Execute(*clients[i], action));
        lat[i].push_back(Secs(a, Clk::now()) * 1e6);
        if (!ok) ++failed[i];
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  out.wall_s = Secs(t0, Clk::now());
  out.server_cpu_s = server.cpu() - s0;
  out.client_cpu_s = SelfCpu() - c0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    out.calls += lat[i].size();
    out.failed += failed[i];
    out.lat_us.insert(out.lat_us.end(), lat[i].begin(), lat[i].end());
  }
  return out;
}

// Warms one action (one real run of `true`), then measures rounds of hits.
void BenchHits(const Args& args, const ServerProcess& server) {
  Client c(server.target());
  auto actions = UploadActions(c, {"true"}, {"cache-hit"});
  if (actions.empty() || !Succeeded(Execute(c, actions[0])) || !Execute(c, actions[0]).cached_result()) {
    AddRow("cache-hit Execute", "setup failed");
    return;
  }
  bool pinned = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
  if (pinned) Pin(server.pid(), 0), Pin(getpid(), 1);
  auto measure = [&](int n) {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < n; ++i) clients.push_back(std::make_unique<Client>(server.target()));
    RunHits(clients, actions[0], 0.5, server);  // warm-up: connections, server threads
    std::vector<HitRound> rounds;
    for (int r = 0; r < args.rounds; ++r) rounds.push_back(RunHits(clients, actions[0], args.seconds, server));
    return rounds;
  };
  auto one = measure(1);
  auto many = measure(args.clients);
  if (pinned) Pin(server.pid(), -1), Pin(getpid(), -1);

  std::vector<double> per_s, per_cpu_s, lat1, latn, util, client_util;
  std::uint64_t failed = 0;
  for (const auto& r : one) lat1.insert(lat1.end(), r.lat_us.begin(), r.lat_us.end()), failed += r.failed;
  for (const auto& r : many) {
    per_s.push_back(static_cast<double>(r.calls) / r.wall_s);
    per_cpu_s.push_back(static_cast<double>(r.calls) / std::max(r.server_cpu_s, 1e-9));
    util.push_back(r.server_cpu_s / r.wall_s);
    client_util.push_back(r.client_cpu_s / r.wall_s);
    latn.insert(latn.end(), r.lat_us.begin(), r.lat_us.end());
    failed += r.failed;
  }
  std::string n = std::to_string(args.clients);
  AddRow("cache-hit Execute, " + n + " clients, wall", Fmt("%.0f calls/s", Median(per_s)), ">= 10000/s",
         Median(per_s) >= 10000);
  AddRow("cache-hit Execute per server CPU-second", Fmt("%.0f calls/s", Median(per_cpu_s)), ">= 10000/s",
         Median(per_cpu_s) >= 10000);
  AddRow("cache-hit latency, " + n + " clients, p50 / p99",
         Fmt("%.0f / %.0f us", Pct(latn, 0.5), Pct(latn, 0.99)));
  AddRow("cache-hit latency, 1 client, p50 / p99", Fmt("%.0f / %.0f us", Pct(lat1, 0.5), Pct(lat1, 0.99)));
  Note(std::string("cache hits: ") +
       (pinned ? "server pinned to core 0, client to core 1" : "server and client share the cores") +
       Fmt("; server core busy %.0f%%, client %.0f%% of a core (medians)", Median(util) * 100,
           Median(client_util) * 100) +
       Fmt("; failed calls: %.0f", static_cast<double>(failed)));
}

// ------------------------------------------------------ 2. cache misses

struct MissResult {
  std::vector<double> rtt_ms, overhead_ms;
  // From ExecutedActionMetadata, when the server reports it: input fetch,
  // the command's run (sandbox start included), output upload, and what the
  // round trip spent outside the worker (queueing, dispatch, gRPC).
  std::vector<double> fetch_ms, run_ms, upload_ms, outside_ms;
  int failed = 0, with_metadata = 0;
};

double Ms(const google::protobuf::Timestamp& t) {
  return static_cast<double>(t.seconds()) * 1e3 + static_cast<double>(t.nanos()) / 1e6;
}

// Executes `count` unique `true` actions one after another.
MissResult RunMisses(Client& c, const std::string& tag, int count, double true_ms) {
  std::vector<std::string> salts;
  for (int i = 0; i < count; ++i) salts.push_back(tag + "-" + std::to_string(i));
  MissResult out;
  auto actions = UploadActions(c, {"true"}, salts);  // uploaded before the clock starts
  if (actions.empty()) {
    out.failed = count;
    return out;
  }
  for (const auto& a : actions) {
    auto t0 = Clk::now();
    rex::ExecuteResponse r = Execute(c, a);
    double rtt = Secs(t0, Clk::now()) * 1e3;
    if (!Succeeded(r) || r.cached_result()) {
      ++out.failed;
      continue;
    }
    out.rtt_ms.push_back(rtt);
    const auto& m = r.result().execution_metadata();
    if (!m.has_execution_start_timestamp() || !m.has_worker_completed_timestamp()) {
      out.overhead_ms.push_back(rtt - true_ms);
      continue;
    }
    ++out.with_metadata;
    double run = Ms(m.execution_completed_timestamp()) - Ms(m.execution_start_timestamp());
    out.overhead_ms.push_back(rtt - run);
    out.run_ms.push_back(run);
    out.fetch_ms.push_back(Ms(m.input_fetch_completed_timestamp()) - Ms(m.worker_start_timestamp()));
    out.upload_ms.push_back(Ms(m.output_upload_completed_timestamp()) - Ms(m.execution_completed_timestamp()));
    out.outside_ms.push_back(rtt - (Ms(m.worker_completed_timestamp()) - Ms(m.worker_start_timestamp())));
  }
  return out;
}

void Pool(std::vector<double>* into, const std::vector<double>& from) { into->insert(into->end(), from.begin(), from.end()); }

std::string P50P99(const std::vector<double>& v) { return Fmt("%.2f / %.2f ms", Pct(v, 0.5), Pct(v, 0.99)); }

// Stores 2048 small blobs, so that (almost) every one of the store's 256
// fan-out directories exists, as in a CAS in use: making one costs a
// directory inode, which a fresh data directory would otherwise charge to
// the first results stored.
void FillFanOut(Client& c, const std::string& tag) {
  std::vector<std::string> blobs;
  std::vector<rex::Digest> digests;
  for (int i = 0; i < 2048; ++i) {
    blobs.push_back(tag + "-fan-out-" + std::to_string(i));
    digests.push_back(DigestOf(blobs.back()));
  }
  UploadBatch(c, blobs, digests);
}

void MissRows(const std::string& label, const Args& args, const ServerProcess& server, double true_ms) {
  Client c(server.target());
  FillFanOut(c, label);
  RunMisses(c, label + "-warmup", 10, true_ms);
  // The goal is for one core: the server, its executor and the actions it
  // starts on core 0, this client on core 1.
  const bool pinned = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
  if (pinned) Pin(server.pid(), 0), Pin(getpid(), 1);
  MissResult all;
  for (int r = 0; r < args.rounds; ++r) {
    MissResult m = RunMisses(c, label + "-" + std::to_string(r), args.misses, true_ms);
    for (auto [into, from] : {std::pair{&all.rtt_ms, &m.rtt_ms}, {&all.overhead_ms, &m.overhead_ms},
                              {&all.fetch_ms, &m.fetch_ms}, {&all.run_ms, &m.run_ms},
                              {&all.upload_ms, &m.upload_ms}, {&all.outside_ms, &m.outside_ms}})
      Pool(into, *from);
    all.failed += m.failed;
    all.with_metadata += m.with_metadata;
  }
  if (pinned) Pin(server.pid(), -1), Pin(getpid(), -1);
  double p99 = Pct(all.overhead_ms, 0.99);
  AddRow("cache-miss overhead, " + label + ", p50 / p99", P50P99(all.overhead_ms), "p99 <= 5 ms",
         !all.overhead_ms.empty() && p99 <= 5);
  AddRow("  round trip", P50P99(all.rtt_ms));
  if (!all.run_ms.empty()) {
    AddRow("  command run (sandbox start included, not overhead)", P50P99(all.run_ms));
    AddRow("  overhead: input fetch on the worker", P50P99(all.fetch_ms));
    AddRow("  overhead: output upload on the worker", P50P99(all.upload_ms));
    AddRow("  overhead: outside the worker (queue, dispatch, gRPC)", P50P99(all.outside_ms));
  }
  Note(label + ": " + std::to_string(all.overhead_ms.size()) + " actions measured, " +
       std::to_string(all.failed) + " failed, " + std::to_string(all.with_metadata) +
       " with ExecutedActionMetadata timestamps (overhead = round trip - the command's run between "
       "execution_start and execution_completed; without them, /bin/true's spawn time is subtracted)");
}

// The sandbox's own start-up: bwrap with process_runner.cc's arguments.
double BwrapTrueMs() {
  if (access("/usr/bin/bwrap", X_OK) != 0) return -1;
  std::string d = std::filesystem::temp_directory_path().string();
  return MedianSpawnMs({"/usr/bin/bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs",
                        "/tmp", "--bind", d, d, "--chdir", d, "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                        "--die-with-parent", "--unshare-net", "--", "true"},
                       50);
}

void BenchMisses(const Args& args, const ServerProcess& sandboxed, const ServerProcess& plain) {
  double true_ms = MedianSpawnMs({"/bin/true"}, 200);
  double bwrap_ms = BwrapTrueMs();
  AddRow("/bin/true fork+exec+wait here (subtracted)", Fmt("%.2f ms", true_ms));
  if (bwrap_ms >= 0) AddRow("bwrap ... -- true, directly (for scale)", Fmt("%.2f ms", bwrap_ms));
  MissRows("sandbox (default)", args, sandboxed, true_ms);
  MissRows("no sandbox", args, plain, true_ms);
}

// ------------------------------------------------------ 3. CAS throughput

struct Blobs {
  std::vector<std::string> data;
  std::vector<rex::Digest> digests;
  std::int64_t bytes = 0;
};

Blobs MakeBlobs(std::size_t size, int count, std::uint64_t seed) {
  Blobs b;
  for (int i = 0; i < count; ++i) {
    b.data.push_back(Fill(size, seed * 1000003 + static_cast<std::uint64_t>(i)));
    b.digests.push_back(DigestOf(b.data.back()));
    b.bytes += static_cast<std::int64_t>(size);
  }
  return b;
}

struct Throughput {
  double up_mb_s = 0, down_mb_s = 0, up_cpu_per_gb = 0, down_cpu_per_gb = 0;
  bool ok = true;
};

// One round: upload fresh blobs, then read them back. MB = 10^6 bytes.
Throughput CasRound(Client& c, std::size_t size, int count, std::uint64_t seed, const Args& args,
                    const ServerProcess& server) {
  Blobs b = MakeBlobs(size, count, seed);
  const bool batch = size <= 64 * 1024;
  constexpr int kPerBatch = 1000;
  Throughput t;
  double s0 = server.cpu();
  auto t0 = Clk::now();
  for (int i = 0; i < count; i += batch ? kPerBatch : 1) {
    if (batch) {
      int n = std::min(kPerBatch, count - i);
      std::vector<std::string> d(b.data.begin() + i, b.data.begin() + i + n);
      std::vector<rex::Digest> g(b.digests.begin() + i, b.digests.begin() + i + n);
      t.ok &= UploadBatch(c, d, g);
    } else {
      t.ok &= WriteStream(c, b.data[static_cast<std::size_t>(i)], b.digests[static_cast<std::size_t>(i)],
                          static_cast<std::size_t>(args.chunk_kib) * 1024, i);
    }
  }
  double up_s = Secs(t0, Clk::now()), up_cpu = server.cpu() - s0;
  s0 = server.cpu();
  t0 = Clk::now();
  std::int64_t got = 0;
  for (int i = 0; i < count; i += batch ? kPerBatch : 1) {
    std::int64_t n = batch ? ReadBatch(c, std::vector<rex::Digest>(b.digests.begin() + i,
                                                                   b.digests.begin() + std::min(count, i + kPerBatch)))
                           : ReadStream(c, b.digests[static_cast<std::size_t>(i)]);
    t.ok &= n >= 0;
    got += std::max<std::int64_t>(n, 0);
  }
  double down_s = Secs(t0, Clk::now()), down_cpu = server.cpu() - s0;
  t.ok &= got == b.bytes;
  double mb = static_cast<double>(b.bytes) / 1e6;
  t.up_mb_s = mb / up_s;
  t.down_mb_s = mb / down_s;
  t.up_cpu_per_gb = up_cpu / mb * 1e3;
  t.down_cpu_per_gb = down_cpu / mb * 1e3;
  return t;
}

void CasRows(const std::string& label, std::size_t size, int count, const Args& args, const ServerProcess& server,
             bool large) {
  Client c(server.target());
  CasRound(c, size, std::min(count, 100), 999, args, server);  // warm-up
  std::vector<double> up, down, up_cpu, down_cpu;
  bool ok = true;
  for (int r = 0; r < args.rounds; ++r) {
    Throughput t = CasRound(c, size, count, static_cast<std::uint64_t>(size) * 131 + static_cast<std::uint64_t>(r),
                            args, server);
    up.push_back(t.up_mb_s), down.push_back(t.down_mb_s), ok &= t.ok;
    up_cpu.push_back(t.up_cpu_per_gb), down_cpu.push_back(t.down_cpu_per_gb);
  }
  std::string goal = large ? ">= 500 MB/s" : "-";
  std::string api = size <= 64 * 1024 ? "Batch" : "ByteStream";
  double blobs_s = Median(up) * 1e6 / static_cast<double>(size);
  AddRow("CAS upload " + label + " (" + api + (ok ? "" : ", ERRORS") + ")",
         Fmt("%.0f MB/s", Median(up)) + (large ? "" : Fmt(" (%.0f blobs/s)", blobs_s)), goal,
         large ? Median(up) >= 500 : -1);
  AddRow("CAS download " + label + " (" + api + ")", Fmt("%.0f MB/s", Median(down)), goal,
         large ? Median(down) >= 500 : -1);
  Note("CAS " + label + Fmt(": server CPU %.2f s per GB up, %.2f s per GB down", Median(up_cpu), Median(down_cpu)));
}

// Writes `mib` MiB to a new file in the temporary directory (as the server
// writes an upload) and removes it; MB/s of the write.
double NewFileWrite(int mib) {
  std::string path = (std::filesystem::temp_directory_path() / "mergeyard-reapi-bench-write").string();
  std::string chunk(1 << 20, 'x');
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  auto t0 = Clk::now();
  for (int i = 0; i < mib; ++i)
    if (write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) break;
  close(fd);
  double s = Secs(t0, Clk::now());
  unlink(path.c_str());
  return mib * 1.048576 / s;
}

void BenchCas(const Args& args, const ServerProcess& server) {
  // A VM may back a page of guest memory only when it is first touched:
  // then a file written into page cache never used before is several times
  // slower than one written into recycled pages, which is what a server in
  // steady state writes into. Shown, then paid once up front.
  const double cold = NewFileWrite(64);
  NewFileWrite(1024);
  const double warm = NewFileWrite(64);
  AddRow("64 MiB to a new file here: fresh / recycled page cache (ceiling)", Fmt("%.0f / %.0f MB/s", cold, warm));
  auto want = [&](const char* key) { return args.only.size() <= 3 || args.only == key; };  // "cas-1k": that one
  if (want("cas-1k")) CasRows("1 KiB x 8000", 1024, 8000, args, server, false);
  if (want("cas-1m")) CasRows("1 MiB x 32", 1 << 20, 32, args, server, true);
  if (want("cas-64m")) CasRows("64 MiB x 1", 64 << 20, 1, args, server, true);
}

// ------------------------------------------------------------------ main

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (k == "--serve") a.serve = true;
    else if (k == "--no-sandbox") a.sandbox = false;
    else if (k == "--rounds") a.rounds = std::max(1, std::stoi(next()));
    else if (k == "--clients") a.clients = std::max(1, std::stoi(next()));
    else if (k == "--seconds") a.seconds = std::stod(next());
    else if (k == "--misses") a.misses = std::max(1, std::stoi(next()));
    else if (k == "--chunk-kib") a.chunk_kib = std::max(1, std::stoi(next()));
    else if (k == "--only") a.only = next();
    else if (k == "--server-wrap") a.server_wrap = next();
    else std::fprintf(stderr, "unknown argument %s\n", k.c_str());
  }
  return a;
}

void PrintTable() {
  std::size_t w[3] = {7, 5, 4};
  for (const auto& r : g_rows)
    w[0] = std::max(w[0], r.measure.size()), w[1] = std::max(w[1], r.value.size()),
    w[2] = std::max(w[2], r.goal.size());
  auto line = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d) {
    std::printf("| %-*s | %-*s | %-*s | %-4s |\n", static_cast<int>(w[0]), a.c_str(), static_cast<int>(w[1]),
                b.c_str(), static_cast<int>(w[2]), c.c_str(), d.c_str());
  };
  line("measure", "value", "goal", "met?");
  std::printf("|%s|%s|%s|------|\n", std::string(w[0] + 2, '-').c_str(), std::string(w[1] + 2, '-').c_str(),
              std::string(w[2] + 2, '-').c_str());
  for (const auto& r : g_rows) line(r.measure, r.value, r.goal, r.met);
  std::printf("\n");
  for (const auto& n : g_notes) std::printf("  %s\n", n.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  if (args.serve) return Serve(args);
  signal(SIGPIPE, SIG_IGN);
  // The client keeps freed memory: in a VM a page touched afresh can cost tens
  // of microseconds, and the client's own faults would count against the
  // server's throughput. The server child keeps glibc's defaults.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Both servers start before this process touches gRPC.
  ServerProcess server(args, /*sandbox=*/true);
  ServerProcess plain(args, /*sandbox=*/false);
  if (!server.ok() || !plain.ok()) {
    std::fprintf(stderr, "the server did not start\n");
    return 1;
  }
  std::printf("REAPI over loopback gRPC: server = `reapi_bench --serve` (ExecStack + local executor, "
              "serve defaults), pid %d; %ld cores, load average %s; %d rounds, medians\n\n",
              server.pid(), sysconf(_SC_NPROCESSORS_ONLN), LoadAverage().c_str(), args.rounds);
  auto t0 = Clk::now();
  if (args.only.empty() || args.only == "hit") BenchHits(args, server);
  if (args.only.empty() || args.only == "miss") BenchMisses(args, server, plain);
  if (args.only.empty() || args.only.rfind("cas", 0) == 0) BenchCas(args, server);
  PrintTable();
  std::printf("\n  total %.1f s; load average now %s (other work on the machine inflates wall-clock rows)\n",
              Secs(t0, Clk::now()), LoadAverage().c_str());
  return 0;
}
