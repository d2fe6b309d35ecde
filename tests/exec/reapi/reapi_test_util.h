#pragma once
// A REAPI server over loopback (ExecStack with its local executor and the
// gRPC listener on port 0) and a real gRPC client with helpers to upload
// blobs and build actions, for the exec/reapi integration tests.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "build/bazel/remote/execution/v2/remote_execution.grpc.pb.h"
#include "exec/exec_stack.h"
#include "exec/reapi/cas.h"
#include "google/bytestream/bytestream.grpc.pb.h"
#include "google/longrunning/operations.pb.h"
#include "google/rpc/error_details.pb.h"
#include "../exec_test_util.h"

namespace mergeyard::exec::reapi::testing {

namespace rex = build::bazel::remote::execution::v2;
using google::longrunning::Operation;

struct ServerOptionsForTest {
  std::string token;
  Duration grace = 15 * kSecond;
  std::int64_t cas_max_bytes = 0;
  bool local_executor = true;
  std::string tls_cert_file, tls_key_file;
};

class TestServer {
 public:
  explicit TestServer(ServerOptionsForTest t = {}) {
    ExecStackOptions o;
    o.data_dir = dir.path + "/exec";
    o.mirror_of = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    o.configs = [](const engine::QueueKey&) -> std::optional<engine::RepoConfig> { return std::nullopt; };
    o.local_executor = t.local_executor;
    o.local.capacity = core::Resources{4, 0, {}};
    o.local.poll_wait = 50;
    o.backend.no_waiter_grace = t.grace;
    o.cas_max_bytes = t.cas_max_bytes;
    o.reapi.listen = "127.0.0.1:0";
    o.reapi.token = t.token;
    o.reapi.tls_cert_file = t.tls_cert_file;
    o.reapi.tls_key_file = t.tls_key_file;
    auto s = ExecStack::Start(o, clock);
    if (s) stack = std::move(*s);
  }
  ~TestServer() {
    if (stack) stack->Stop();
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(stack->reapi_server()->port()); }
  const Counters& counters() { return stack->reapi_server()->counters(); }

  exec::testing::TempDir dir;
  SystemClock clock;
  std::unique_ptr<ExecStack> stack;
};

class Client {
 public:
  // `creds`: null for plaintext.
  explicit Client(const std::string& target, std::string token = "",
                  std::shared_ptr<grpc::ChannelCredentials> creds = nullptr)
      : token_(std::move(token)),
        channel_(grpc::CreateChannel(target, creds ? creds : grpc::InsecureChannelCredentials())),
        cas(rex::ContentAddressableStorage::NewStub(channel_)),
        ac(rex::ActionCache::NewStub(channel_)),
        exec(rex::Execution::NewStub(channel_)),
        caps(rex::Capabilities::NewStub(channel_)),
        bytestream(google::bytestream::ByteStream::NewStub(channel_)) {}

  // A context carrying the bearer token (if any).
  std::unique_ptr<grpc::ClientContext> Ctx() const {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!token_.empty()) c->AddMetadata("authorization", "Bearer " + token_);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return c;
  }

  // Uploads with BatchUpdateBlobs; the digest.
  rex::Digest Upload(const std::string& bytes) {
    rex::BatchUpdateBlobsRequest req;
    auto* r = req.add_requests();
    *r->mutable_digest() = DigestOf(bytes);
    r->set_data(bytes);
    rex::BatchUpdateBlobsResponse resp;
    auto ctx = Ctx();
    last_status = cas->BatchUpdateBlobs(ctx.get(), req, &resp);
    return DigestOf(bytes);
  }
  rex::Digest UploadMessage(const google::protobuf::MessageLite& m) { return Upload(m.SerializeAsString()); }

  std::string Read(const rex::Digest& d) {
    google::bytestream::ReadRequest req;
    req.set_resource_name("blobs/" + DigestString(d));
    auto ctx = Ctx();
    auto reader = bytestream->Read(ctx.get(), req);
    google::bytestream::ReadResponse resp;
    std::string out;
    while (reader->Read(&resp)) out += resp.data();
    last_status = reader->Finish();
    return out;
  }

  // Runs Execute to the end; the final ExecuteResponse (and every Operation seen).
  rex::ExecuteResponse Execute(const rex::Digest& action, bool skip_cache = false,
                               std::vector<Operation>* ops = nullptr, const std::string& invocation = "") {
    rex::ExecuteRequest req;
    *req.mutable_action_digest() = action;
    req.set_skip_cache_lookup(skip_cache);
    auto ctx = Ctx();
    if (!invocation.empty()) {
      rex::RequestMetadata md;
      md.set_tool_invocation_id(invocation);
      ctx->AddMetadata("build.bazel.remote.execution.v2.requestmetadata-bin", md.SerializeAsString());
    }
    auto reader = exec->Execute(ctx.get(), req);
    Operation op;
    rex::ExecuteResponse resp;
    while (reader->Read(&op)) {
      if (ops) ops->push_back(op);
      if (op.done()) op.response().UnpackTo(&resp);
    }
    last_status = reader->Finish();
    return resp;
  }

  grpc::Status last_status;

 private:
  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;

 public:
  std::unique_ptr<rex::ContentAddressableStorage::Stub> cas;
  std::unique_ptr<rex::ActionCache::Stub> ac;
  std::unique_ptr<rex::Execution::Stub> exec;
  std::unique_ptr<rex::Capabilities::Stub> caps;
  std::unique_ptr<google::bytestream::ByteStream::Stub> bytestream;
};

// Builds a Directory of files {name: (content, executable)} and uploads it
// with its files; the directory's digest.
inline rex::Digest UploadDir(Client& c, const std::map<std::string, std::pair<std::string, bool>>& files,
                             const std::map<std::string, rex::Digest>& subdirs = {}) {
  rex::Directory d;
  for (const auto& [name, f] : files) {
    auto* n = d.add_files();
    n->set_name(name);
    *n->mutable_digest() = c.Upload(f.first);
    n->set_is_executable(f.second);
  }
  for (const auto& [name, digest] : subdirs) {
    auto* n = d.add_directories();
    n->set_name(name);
    *n->mutable_digest() = digest;
  }
  return c.UploadMessage(d);
}

struct ActionSpec {
  std::vector<std::string> argv;
  rex::Digest input_root;
  std::vector<std::string> output_files, output_directories, output_paths;
  std::map<std::string, std::string> env;
  int timeout_s = 0;
  bool do_not_cache = false;
  std::string salt;
};

// Uploads the Command and the Action; the Action's digest.
inline rex::Digest UploadAction(Client& c, const ActionSpec& s) {
  rex::Command cmd;
  for (const auto& a : s.argv) cmd.add_arguments(a);
  for (const auto& [k, v] : s.env) {
    auto* e = cmd.add_environment_variables();
    e->set_name(k);
    e->set_value(v);
  }
  for (const auto& p : s.output_files) cmd.add_output_files(p);
  for (const auto& p : s.output_directories) cmd.add_output_directories(p);
  for (const auto& p : s.output_paths) cmd.add_output_paths(p);
  rex::Action a;
  *a.mutable_command_digest() = c.UploadMessage(cmd);
  *a.mutable_input_root_digest() = s.input_root;
  if (s.timeout_s) a.mutable_timeout()->set_seconds(s.timeout_s);
  a.set_do_not_cache(s.do_not_cache);
  a.set_salt(s.salt);
  return c.UploadMessage(a);
}

inline rex::Digest EmptyDir(Client& c) { return c.UploadMessage(rex::Directory()); }

}  // namespace mergeyard::exec::reapi::testing
