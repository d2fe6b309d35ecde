#include "exec/reapi/execution_service.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "exec/action_json.h"
#include "exec/reapi/bytestream_service.h"
#include "exec/reapi/grpc_status.h"
#include "google/longrunning/operations.pb.h"

namespace mergeyard::exec::reapi {
namespace {

using google::longrunning::Operation;
using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
using OpWriter = grpc::ServerWriter<Operation>;

constexpr char kMetadataHeader[] = "build.bazel.remote.execution.v2.requestmetadata-bin";
constexpr std::size_t kRememberedOperations = 100000;

bool SafeRelative(const std::string& p) {
  if (p.empty() || p.front() == '/') return false;
  std::stringstream ss(p);
  std::string part;
  while (std::getline(ss, part, '/'))
    if (part == "..") return false;
  return true;
}

rex::RequestMetadata MetadataOf(const ServerContext& ctx) {
  rex::RequestMetadata m;
  auto it = ctx.client_metadata().find(kMetadataHeader);
  if (it != ctx.client_metadata().end()) m.ParseFromArray(it->second.data(), static_cast<int>(it->second.size()));
  return m;
}

std::string OperationName(const std::string& instance, const std::string& execution) {
  return (instance.empty() ? "" : instance + "/") + "operations/" + execution;
}

// One caller's wait for its outcome.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  core::Outcome outcome;
};

class ExecutionService final : public rex::Execution::Service {
 public:
  ExecutionService(ServiceContext c, ExecutionOptions o) : c_(c), o_(o) {}

  Status Execute(ServerContext* ctx, const rex::ExecuteRequest* req, OpWriter* writer) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    ++c_.counters->executes;
    const rex::Digest& digest = req->action_digest();
    if (!ValidDigest(digest)) return Status(StatusCode::INVALID_ARGUMENT, "malformed action digest");
    const std::string& instance = req->instance_name();
    if (!req->skip_cache_lookup()) {
      if (auto hit = CompleteResult(*c_.cas, c_.exec->CachedResult(BackendKey(instance, digest)))) {
        ++c_.counters->cache_hits;
        return AnswerCached(writer, OperationName(instance, "cached"), digest, std::move(*hit));
      }
    }
    auto action = c_.cas->GetMessage<rex::Action>(digest);
    if (!action) return action.error().code == ErrorCode::kNotFound ? Missing({digest}) : ToGrpc(action.error());
    auto command = c_.cas->GetMessage<rex::Command>(action->command_digest());
    if (!command)
      return command.error().code == ErrorCode::kNotFound ? Missing({action->command_digest()})
                                                         : ToGrpc(command.error());
    auto missing = c_.cas->MissingInTree(action->input_root_digest());
    if (!missing) return ToGrpc(missing.error());
    if (!missing->empty()) return Missing(*missing);
    auto core_action = CoreAction(instance, digest, *action, *command, MetadataOf(*ctx),
                                  req->execution_policy().priority(), o_);
    if (!core_action) return ToGrpc(core_action.error());
    core::SubmitOptions opts;
    opts.skip_cache = req->skip_cache_lookup();
    opts.no_merge = action->do_not_cache();
    return Run(ctx, writer, *core_action, opts, /*count=*/true);
  }

  Status WaitExecution(ServerContext* ctx, const rex::WaitExecutionRequest* req, OpWriter* writer) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    const std::string& name = req->name();
    std::size_t at = name.rfind("operations/");
    if (at == std::string::npos) return Status(StatusCode::NOT_FOUND, "no operation " + name);
    std::string execution = name.substr(at + 11);
    core::Action action;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = known_.find(execution);
      if (it == known_.end()) return Status(StatusCode::NOT_FOUND, "no operation " + name);
      action = it->second;
    }
    auto view = c_.exec->View(execution);
    if (view && view->result &&
        (view->state == core::ExecState::kCompleted || view->state == core::ExecState::kCancelled)) {
      core::Outcome o;
      o.execution = execution;
      o.winner = view->winner;
      o.result = *view->result;
      writer->Write(Final(name, ClientDigest(action), ResponseFor(o)));
      return Status::OK;
    }
    return Run(ctx, writer, action, {}, /*count=*/false);
  }

 private:
  // The client's action digest, which a REAPI core::Action carries.
  static rex::Digest ClientDigest(const core::Action& a) {
    return MakeDigest(a.remote.action_hash, a.remote.action_size);
  }

  Status Missing(const std::vector<rex::Digest>& missing) {
    ++c_.counters->missing_inputs;
    return MissingBlobs(missing);
  }

  // The whole answer from the action cache: a done operation with the result.
  static Status AnswerCached(OpWriter* writer, const std::string& name, const rex::Digest& digest,
                             rex::ActionResult result) {
    rex::ExecuteResponse resp;
    *resp.mutable_result() = std::move(result);
    resp.set_cached_result(true);
    *resp.mutable_status() = RpcStatus(StatusCode::OK, "");
    writer->Write(Final(name, digest, resp));
    return Status::OK;
  }

  // Submits (or joins) and follows the execution to its end on `writer`.
  Status Run(ServerContext* ctx, OpWriter* writer, const core::Action& action, core::SubmitOptions opts,
             bool count) {
    const rex::Digest digest = ClientDigest(action);
    auto pending = std::make_shared<Pending>();
    auto done = [pending](const core::Outcome& o) {
      std::lock_guard<std::mutex> lock(pending->mu);
      pending->outcome = o;
      pending->done = true;
      pending->cv.notify_all();
    };
    core::Submitted s = c_.exec->Submit(action, opts, done);
    if (s.status == core::SubmitStatus::kCached) {
      if (auto hit = CompleteResult(*c_.cas, s.cached)) {
        if (count) ++c_.counters->cache_hits;
        return AnswerCached(writer, OperationName(action.remote.instance, s.execution), digest, std::move(*hit));
      }
      opts.skip_cache = true;  // its outputs were evicted: run it again
      s = c_.exec->Submit(action, opts, done);
    }
    if (count) ++(s.status == core::SubmitStatus::kMerged ? c_.counters->merged : c_.counters->executed);
    const std::string name = OperationName(action.remote.instance, s.execution);
    Remember(s.execution, action);
    return Follow(ctx, writer, action.remote.instance, name, digest, s, *pending);
  }

  Status Follow(ServerContext* ctx, OpWriter* writer, const std::string& instance, const std::string& name,
                const rex::Digest& digest, const core::Submitted& s, Pending& pending) {
    auto stage = rex::ExecutionStage::QUEUED;
    auto stage_now = [&] {
      auto v = c_.exec->View(s.execution);
      return v && v->state == core::ExecState::kRunning ? rex::ExecutionStage::EXECUTING
                                                        : rex::ExecutionStage::QUEUED;
    };
    stage = stage_now();
    const std::string log_stream = LogStreamName(instance, s.execution);
    auto last_sent = std::chrono::steady_clock::now();
    bool alive = writer->Write(Progress(name, digest, stage, log_stream));
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(pending.mu);
        pending.cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return pending.done; });
        if (pending.done) break;
      }
      if (!alive || ctx->IsCancelled()) {
        c_.exec->Leave(s.waiter);
        ++c_.counters->cancelled;
        return Status(StatusCode::CANCELLED, "the caller went away");
      }
      auto now_stage = stage_now();
      auto now = std::chrono::steady_clock::now();
      if (now_stage != stage || now - last_sent >= std::chrono::milliseconds(o_.keepalive)) {
        stage = now_stage;
        last_sent = now;
        alive = writer->Write(Progress(name, digest, stage, log_stream));
      }
    }
    core::Outcome outcome;
    {
      std::lock_guard<std::mutex> lock(pending.mu);
      outcome = pending.outcome;
    }
    if (!outcome.joined) {
      auto v = c_.exec->View(s.execution);
      if (v && !v->hedges.empty()) ++c_.counters->hedged;
    }
    writer->Write(Final(name, digest, ResponseFor(outcome), log_stream));
    return Status::OK;
  }

  rex::ExecuteResponse ResponseFor(const core::Outcome& o) {
    rex::ExecuteResponse resp;
    const core::ActionResult& r = o.result;
    resp.set_message("mergeyard execution " + o.winner + (r.executor.empty() ? "" : " on " + r.executor));
    if (o.cancelled) {
      *resp.mutable_status() = RpcStatus(StatusCode::UNAVAILABLE, "the execution was cancelled by the server");
      return resp;
    }
    auto stored = StoredResult(*c_.cas, r);
    if (stored) *resp.mutable_result() = std::move(*stored);
    if (r.error.rfind(kMissingInputs, 0) == 0) {
      std::vector<rex::Digest> missing;
      std::stringstream ss(r.error.substr(sizeof(kMissingInputs) - 1));
      std::string d;
      while (ss >> d) {
        auto slash = d.find('/');
        if (slash == std::string::npos) continue;
        missing.push_back(MakeDigest(d.substr(0, slash), std::atoll(d.c_str() + slash + 1)));
      }
      *resp.mutable_status() = MissingBlobsRpc(missing);
    } else if (!r.error.empty()) {
      *resp.mutable_status() = RpcStatus(StatusCode::UNAVAILABLE, r.error);
    } else if (r.timed_out) {
      *resp.mutable_status() = RpcStatus(StatusCode::DEADLINE_EXCEEDED, "the action ran past its timeout");
    } else if (!stored) {
      *resp.mutable_status() = RpcStatus(StatusCode::INTERNAL, "the result is not in the CAS: " + stored.error().message);
    } else {
      *resp.mutable_status() = RpcStatus(StatusCode::OK, "");
    }
    return resp;
  }

  // `log_stream`: the execution's LogStreamName, offered as its stdout
  // stream; empty for a cached answer.
  static Operation Progress(const std::string& name, const rex::Digest& digest, rex::ExecutionStage::Value stage,
                            const std::string& log_stream = "") {
    Operation op;
    op.set_name(name);
    rex::ExecuteOperationMetadata meta;
    meta.set_stage(stage);
    *meta.mutable_action_digest() = digest;
    meta.set_stdout_stream_name(log_stream);
    op.mutable_metadata()->PackFrom(meta);
    return op;
  }

  static Operation Final(const std::string& name, const rex::Digest& digest, const rex::ExecuteResponse& resp,
                         const std::string& log_stream = "") {
    Operation op = Progress(name, digest, rex::ExecutionStage::COMPLETED, log_stream);
    op.set_done(true);
    op.mutable_response()->PackFrom(resp);
    return op;
  }

  void Remember(const std::string& execution, const core::Action& action) {
    std::lock_guard<std::mutex> lock(mu_);
    if (known_.emplace(execution, action).second) order_.push_back(execution);
    while (order_.size() > kRememberedOperations) {
      known_.erase(order_.front());
      order_.pop_front();
    }
  }

  ServiceContext c_;
  ExecutionOptions o_;
  std::mutex mu_;
  std::unordered_map<std::string, core::Action> known_;  // by execution id
  std::deque<std::string> order_;
};

}  // namespace

Result<core::Action> CoreAction(const std::string& instance, const rex::Digest& action_digest,
                                const rex::Action& action, const rex::Command& command,
                                const rex::RequestMetadata& metadata, int policy_priority,
                                const ExecutionOptions& options) {
  if (command.arguments_size() == 0) return Invalid("the Command has no arguments");
  for (const auto* list : {&command.output_files(), &command.output_directories(), &command.output_paths()})
    for (const auto& p : *list)
      if (!SafeRelative(p)) return Invalid("output path \"" + p + "\" must be relative and stay inside the input root");
  if (!command.working_directory().empty() && !SafeRelative(command.working_directory()))
    return Invalid("working_directory must be relative and stay inside the input root");
  core::Action a;
  a.name = metadata.action_mnemonic().empty() ? "reapi" : metadata.action_mnemonic();
  a.command.assign(command.arguments().begin(), command.arguments().end());
  for (const auto& e : command.environment_variables()) a.env[e.name()] = e.value();
  auto platform = [&](const rex::Platform& p) -> mergeyard::Status {
    for (const auto& prop : p.properties()) {
      const std::string& k = prop.name();
      if (k == "cpu" || k == "cores") {
        try {
          a.resources.cpu = std::stod(prop.value());
        } catch (...) {
          return Invalid("platform property " + k + " must be a number");
        }
      } else if (k == "memory") {
        auto m = ParseMemory(nlohmann::json(prop.value()));
        if (!m) return m.error();
        a.resources.memory_bytes = *m;
      } else if (k == "OSFamily") {
        std::string v = prop.value();
        std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
        a.platform["os"] = v;
      } else {
        a.platform[k] = prop.value();
      }
    }
    return Ok();
  };
  if (mergeyard::Status s = platform(command.platform()); !s) return s.error();
  if (mergeyard::Status s = platform(action.platform()); !s) return s.error();
  Duration timeout = options.default_timeout;
  if (action.has_timeout() && (action.timeout().seconds() > 0 || action.timeout().nanos() > 0))
    timeout = action.timeout().seconds() * 1000 + action.timeout().nanos() / 1000000;
  a.timeout = std::min(std::max<Duration>(timeout, 1), options.max_timeout);
  a.network = false;
  a.group = metadata.tool_invocation_id().empty() ? "reapi" : metadata.tool_invocation_id();
  a.priority = -policy_priority;
  a.cacheable = !action.do_not_cache();
  a.has_remote = true;
  a.remote = {instance, action_digest.hash(), action_digest.size_bytes()};
  return a;
}

std::unique_ptr<rex::Execution::Service> NewExecutionService(ServiceContext ctx, ExecutionOptions options) {
  return std::make_unique<ExecutionService>(ctx, options);
}

}  // namespace mergeyard::exec::reapi
