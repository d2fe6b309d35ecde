#include "exec/reapi/server.h"

#include <grpcpp/grpcpp.h>
#include <malloc.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "exec/reapi/bytestream_service.h"

namespace mergeyard::exec::reapi {

struct Server::Services {
  std::unique_ptr<rex::Capabilities::Service> capabilities;
  std::unique_ptr<rex::Execution::Service> execution;
  std::unique_ptr<rex::ActionCache::Service> action_cache;
  std::unique_ptr<rex::ContentAddressableStorage::Service> cas;
  std::unique_ptr<google::bytestream::ByteStream::Service> bytestream;
};

namespace {
Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Invalid("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, ExecService& exec) {
  // Keep freed memory for reuse: CAS chunks and messages of a few MiB would
  // otherwise be mmap'd, faulted in and given back to the kernel on every
  // call (about 40% of the server's CPU per GB through ByteStream,
  // bench/reapi). Up to 256 MiB of heap may stay mapped.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  std::unique_ptr<Server> s(new Server());
  s->cas_ = std::make_unique<Cas>(exec.content());
  ServiceContext ctx{&exec, s->cas_.get(), &s->counters_, options.token, options.max_batch_bytes};
  s->services_ = std::make_unique<Services>();
  s->services_->capabilities = NewCapabilitiesService(ctx);
  s->services_->execution = NewExecutionService(ctx, options.execution);
  s->services_->action_cache = NewActionCacheService(ctx);
  s->services_->cas = NewCasService(ctx);
  s->services_->bytestream = NewByteStreamService(ctx);

  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    auto cert = ReadFile(options.tls_cert_file);
    if (!cert) return cert.error();
    auto key = ReadFile(options.tls_key_file);
    if (!key) return key.error();
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    creds = grpc::SslServerCredentials(ssl);
  }
  grpc::ServerBuilder b;
  b.AddListeningPort(options.listen, creds, &s->port_);
  // Batch calls may carry max_batch_bytes of data plus framing.
  b.SetMaxReceiveMessageSize(static_cast<int>(options.max_batch_bytes + (1 << 20)));
  b.SetMaxSendMessageSize(static_cast<int>(options.max_batch_bytes + (1 << 20)));
  b.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 1 << 20);
  b.RegisterService(s->services_->capabilities.get());
  b.RegisterService(s->services_->execution.get());
  b.RegisterService(s->services_->action_cache.get());
  b.RegisterService(s->services_->cas.get());
  b.RegisterService(s->services_->bytestream.get());
  s->server_ = b.BuildAndStart();
  if (!s->server_ || s->port_ == 0)
    return Invalid("cannot listen for REAPI on " + options.listen);
  return s;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
}

}  // namespace mergeyard::exec::reapi
