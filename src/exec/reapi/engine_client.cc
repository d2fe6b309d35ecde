#include "exec/reapi/engine_client.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "exec/reapi/grpc_status.h"
#include "exec/reapi/log_follower.h"
#include "google/longrunning/operations.pb.h"

namespace mergeyard::exec::reapi {
namespace {

constexpr std::int64_t kBatchBytes = 2 << 20;   // per BatchUpdateBlobs call
constexpr std::int64_t kStreamAbove = 1 << 20;  // larger blobs go through ByteStream
constexpr int kFindChunk = 5000;

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Streams `git cat-file --batch` over `oids`, calling fn(oid, content) for each.
Status CatFileBatch(const std::string& mirror, const std::vector<std::string>& oids,
                    const std::function<Status(const std::string&, const std::string&)>& fn) {
  if (oids.empty()) return Ok();
  char list[] = "/tmp/mergeyard-oids-XXXXXX";
  int fd = mkstemp(list);
  if (fd < 0) return Internal("cannot create a temporary file");
  {
    std::ofstream out(list);
    for (const auto& o : oids) out << o << "\n";
  }
  close(fd);
  std::string cmd = "git -C " + ShellQuote(mirror) + " cat-file --batch < " + list;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    unlink(list);
    return Internal("cannot run git cat-file");
  }
  Status result = Ok();
  char header[256];
  while (result && fgets(header, sizeof header, p)) {
    char oid[128], type[32];
    long long size = 0;
    if (std::sscanf(header, "%127s %31s %lld", oid, type, &size) != 3) {
      result = Internal(std::string("git cat-file: ") + header);
      break;
    }
    std::string content(static_cast<std::size_t>(size), '\0');
    if (size > 0 && fread(content.data(), 1, content.size(), p) != content.size()) {
      result = Internal("git cat-file: short read");
      break;
    }
    fgetc(p);  // the newline after the content
    result = fn(oid, content);
  }
  pclose(p);
  unlink(list);
  return result;
}

rex::Platform PlatformOf(const core::Action& a) {
  std::map<std::string, std::string> props = a.platform;
  if (a.resources.cpu > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", a.resources.cpu);
    props["cpu"] = buf;
  }
  if (a.resources.memory_bytes > 0) props["memory"] = std::to_string(a.resources.memory_bytes);
  for (const auto& [k, v] : a.resources.custom) props[k] = std::to_string(v);
  rex::Platform p;
  for (const auto& [k, v] : props) {  // REAPI: sorted by name
    auto* prop = p.add_properties();
    prop->set_name(k);
    prop->set_value(v);
  }
  return p;
}

}  // namespace

struct EngineClient::Tree {
  struct File {
    std::string oid;
    bool executable = false;
    rex::Digest digest;
  };
  struct Dir {
    std::map<std::string, File> files;
    std::map<std::string, std::string> symlinks;  // name -> oid, then target
    std::map<std::string, Dir> dirs;
  };
  Dir root;
  std::map<std::string, std::string> symlink_targets;            // oid -> target
  std::map<std::string, std::pair<rex::Digest, std::string>> directories;  // hash -> (digest, bytes)
  std::map<std::string, std::string> oid_of;                     // file hash -> git oid
};

Result<std::unique_ptr<EngineClient>> EngineClient::Create(EngineClientOptions options) {
  std::unique_ptr<EngineClient> c(new EngineClient());
  std::string target = options.remote;
  bool tls = false;
  if (target.rfind("grpcs://", 0) == 0) {
    tls = true;
    target = target.substr(8);
  } else if (target.rfind("grpc://", 0) == 0) {
    target = target.substr(7);
  }
  if (target.empty() || target.find("://") != std::string::npos)
    return Invalid("reapi_remote must be grpc://host:port, grpcs://host:port or host:port (got '" +
                   options.remote + "')");
  auto creds = tls ? grpc::SslCredentials(grpc::SslCredentialsOptions()) : grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  c->channel_ = grpc::CreateCustomChannel(target, creds, args);
  c->cas_ = rex::ContentAddressableStorage::NewStub(c->channel_);
  c->exec_ = rex::Execution::NewStub(c->channel_);
  c->bytestream_ = google::bytestream::ByteStream::NewStub(c->channel_);
  c->o_ = std::move(options);
  return c;
}

EngineClient::Stats EngineClient::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::unique_ptr<grpc::ClientContext> EngineClient::Context(const std::string& invocation,
                                                           const std::string& mnemonic) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!o_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + o_.token);
  rex::RequestMetadata md;
  md.mutable_tool_details()->set_tool_name("mergeyard");
  md.set_tool_invocation_id(invocation);
  md.set_action_mnemonic(mnemonic);
  ctx->AddMetadata("build.bazel.remote.execution.v2.requestmetadata-bin", md.SerializeAsString());
  return ctx;
}

Status EngineClient::HashBlobs(const std::string& mirror, Tree& tree) {
  // What to read from git: files whose digest is not remembered yet, and
  // every symlink (its content is its target).
  std::vector<std::string> unknown;
  std::set<std::string> symlink_oids;
  std::function<void(Tree::Dir&)> collect = [&](Tree::Dir& d) {
    for (auto& [name, f] : d.files) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!blob_digests_.count(f.oid)) unknown.push_back(f.oid);
    }
    for (auto& [name, oid] : d.symlinks) {
      symlink_oids.insert(oid);
      unknown.push_back(oid);
    }
    for (auto& [name, sub] : d.dirs) collect(sub);
  };
  collect(tree.root);
  std::sort(unknown.begin(), unknown.end());
  unknown.erase(std::unique(unknown.begin(), unknown.end()), unknown.end());
  Status s = CatFileBatch(mirror, unknown, [&](const std::string& oid, const std::string& content) {
    if (symlink_oids.count(oid)) tree.symlink_targets[oid] = content;  // a file may share the blob
    std::lock_guard<std::mutex> lock(mu_);
    blob_digests_[oid] = DigestOf(content);
    return Ok();
  });
  if (!s) return s;
  std::function<void(Tree::Dir&)> fill = [&](Tree::Dir& d) {
    for (auto& [name, f] : d.files) {
      std::lock_guard<std::mutex> lock(mu_);
      f.digest = blob_digests_[f.oid];
      tree.oid_of[f.digest.hash()] = f.oid;
    }
    for (auto& [name, sub] : d.dirs) fill(sub);
  };
  fill(tree.root);
  return Ok();
}

Result<rex::Digest> EngineClient::BuildDirectories(Tree& tree) {
  std::function<rex::Digest(const Tree::Dir&)> build = [&](const Tree::Dir& d) {
    rex::Directory msg;
    for (const auto& [name, f] : d.files) {
      auto* n = msg.add_files();
      n->set_name(name);
      *n->mutable_digest() = f.digest;
      n->set_is_executable(f.executable);
    }
    for (const auto& [name, sub] : d.dirs) {
      auto* n = msg.add_directories();
      n->set_name(name);
      *n->mutable_digest() = build(sub);
    }
    for (const auto& [name, oid] : d.symlinks) {
      auto* n = msg.add_symlinks();
      n->set_name(name);
      n->set_target(tree.symlink_targets[oid]);
    }
    std::string bytes = msg.SerializeAsString();
    rex::Digest digest = DigestOf(bytes);
    tree.directories[digest.hash()] = {digest, std::move(bytes)};
    return digest;
  };
  return build(tree.root);
}

Status EngineClient::UploadMissing(const std::string& mirror, Tree& tree) {
  std::vector<rex::Digest> all;
  std::set<std::string> seen;
  for (const auto& [hash, d] : tree.directories) all.push_back(d.first);
  std::function<void(const Tree::Dir&)> files = [&](const Tree::Dir& d) {
    for (const auto& [n, f] : d.files)
      if (!IsEmptyBlob(f.digest) && seen.insert(f.digest.hash()).second) all.push_back(f.digest);
    for (const auto& [n, sub] : d.dirs) files(sub);
  };
  files(tree.root);
  std::vector<rex::Digest> missing;
  for (std::size_t at = 0; at < all.size(); at += kFindChunk) {
    rex::FindMissingBlobsRequest req;
    req.set_instance_name(o_.instance);
    for (std::size_t i = at; i < std::min(all.size(), at + kFindChunk); ++i) *req.add_blob_digests() = all[i];
    rex::FindMissingBlobsResponse resp;
    auto ctx = Context();
    grpc::Status st = cas_->FindMissingBlobs(ctx.get(), req, &resp);
    if (!st.ok()) return Transient(Describe("FindMissingBlobs", st));
    for (const auto& d : resp.missing_blob_digests()) missing.push_back(d);
  }
  std::vector<std::pair<rex::Digest, std::string>> upload;
  std::vector<std::string> oids;
  for (const auto& d : missing) {
    if (auto it = tree.directories.find(d.hash()); it != tree.directories.end()) upload.push_back(it->second);
    else if (auto o = tree.oid_of.find(d.hash()); o != tree.oid_of.end()) oids.push_back(o->second);
  }
  if (Status s = UploadBytes(upload); !s) return s;
  upload.clear();
  std::int64_t pending = 0;
  Status s = CatFileBatch(mirror, oids, [&](const std::string&, const std::string& content) -> Status {
    pending += static_cast<std::int64_t>(content.size());
    upload.emplace_back(DigestOf(content), content);
    if (pending < kBatchBytes) return Ok();
    pending = 0;
    Status up = UploadBytes(upload);
    upload.clear();
    return up;
  });
  if (!s) return s;
  return UploadBytes(upload);
}

Status EngineClient::UploadBytes(const std::vector<std::pair<rex::Digest, std::string>>& blobs) {
  rex::BatchUpdateBlobsRequest batch;
  batch.set_instance_name(o_.instance);
  std::int64_t in_batch = 0;
  auto flush = [&]() -> Status {
    if (batch.requests_size() == 0) return Ok();
    rex::BatchUpdateBlobsResponse resp;
    auto ctx = Context();
    grpc::Status st = cas_->BatchUpdateBlobs(ctx.get(), batch, &resp);
    if (!st.ok()) return Transient(Describe("BatchUpdateBlobs", st));
    for (const auto& r : resp.responses())
      if (r.status().code() != 0) return Transient("BatchUpdateBlobs: " + r.status().message());
    batch.clear_requests();
    in_batch = 0;
    return Ok();
  };
  for (const auto& [digest, bytes] : blobs) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.uploaded_blobs;
      stats_.uploaded_bytes += bytes.size();
    }
    if (digest.size_bytes() > kStreamAbove) {
      if (Status s = WriteStream(digest, bytes); !s) return s;
      continue;
    }
    if (in_batch + digest.size_bytes() > kBatchBytes)
      if (Status s = flush(); !s) return s;
    auto* r = batch.add_requests();
    *r->mutable_digest() = digest;
    r->set_data(bytes);
    in_batch += digest.size_bytes();
  }
  return flush();
}

Status EngineClient::WriteStream(const rex::Digest& d, const std::string& bytes) {
  static std::atomic<std::uint64_t> counter{0};
  auto ctx = Context();
  google::bytestream::WriteResponse resp;
  auto writer = bytestream_->Write(ctx.get(), &resp);
  const std::string name = (o_.instance.empty() ? "" : o_.instance + "/") + "uploads/mergeyard-" +
                           std::to_string(getpid()) + "-" + std::to_string(counter++) + "/blobs/" + DigestString(d);
  const std::size_t chunk = 1 << 20;
  for (std::size_t at = 0; at < bytes.size() || at == 0; at += chunk) {
    google::bytestream::WriteRequest req;
    if (at == 0) req.set_resource_name(name);
    req.set_write_offset(static_cast<std::int64_t>(at));
    req.set_data(bytes.substr(at, chunk));
    req.set_finish_write(at + chunk >= bytes.size());
    if (!writer->Write(req)) break;  // the server may end early: it has the blob
    if (at + chunk >= bytes.size()) break;
  }
  writer->WritesDone();
  grpc::Status st = writer->Finish();
  if (!st.ok()) return Transient(Describe("ByteStream.Write", st));
  return Ok();
}

Result<std::string> EngineClient::ReadBlob(const rex::Digest& d) {
  if (IsEmptyBlob(d) || d.hash().empty()) return std::string();
  google::bytestream::ReadRequest req;
  req.set_resource_name((o_.instance.empty() ? "" : o_.instance + "/") + "blobs/" + DigestString(d));
  auto ctx = Context();
  auto reader = bytestream_->Read(ctx.get(), req);
  google::bytestream::ReadResponse resp;
  std::string out;
  while (reader->Read(&resp)) out += resp.data();
  grpc::Status st = reader->Finish();
  if (!st.ok()) return Transient(Describe("ByteStream.Read", st));
  return out;
}

Result<rex::Digest> EngineClient::UploadTree(const std::string& repo, const std::string& commit) {
  auto mirror = o_.mirror_of ? o_.mirror_of(repo) : std::nullopt;
  if (!mirror) return NotFound("no mirror of " + repo + " on this server");
  auto listing = RunCapture({"git", "-C", *mirror, "ls-tree", "-r", "-z", "--full-tree", commit});
  if (!listing) return listing.error();
  Tree tree;
  std::size_t at = 0;
  while (at < listing->size()) {
    std::size_t end = listing->find('\0', at);
    if (end == std::string::npos) end = listing->size();
    std::string entry = listing->substr(at, end - at);
    at = end + 1;
    std::size_t tab = entry.find('\t');
    if (tab == std::string::npos) continue;
    std::string mode = entry.substr(0, entry.find(' '));
    std::string oid = entry.substr(entry.rfind(' ', tab) + 1, tab - entry.rfind(' ', tab) - 1);
    std::string path = entry.substr(tab + 1);
    Tree::Dir* dir = &tree.root;
    std::size_t from = 0, slash;
    while ((slash = path.find('/', from)) != std::string::npos) {
      dir = &dir->dirs[path.substr(from, slash - from)];
      from = slash + 1;
    }
    std::string name = path.substr(from);
    if (mode == "120000") dir->symlinks[name] = oid;
    else if (mode == "160000") dir->dirs[name];  // a submodule: an empty directory, as in a checkout
    else dir->files[name] = Tree::File{oid, mode == "100755", {}};
  }
  if (Status s = HashBlobs(*mirror, tree); !s) return s.error();
  auto root = BuildDirectories(tree);
  if (!root) return root.error();
  if (Status s = UploadMissing(*mirror, tree); !s) return s.error();
  return root;
}

Result<rex::ExecuteResponse> EngineClient::Execute(const rex::Digest& action, const core::Assignment& a,
                                                   const std::atomic<bool>* cancel,
                                                   const std::function<void()>& heartbeat, LogFollower& logs) {
  auto ctx = Context(a.action.group, a.action.name);
  std::atomic<bool> finished{false};
  std::thread beat([&] {
    while (!finished) {
      if (heartbeat) heartbeat();
      if (cancel && cancel->load()) ctx->TryCancel();
      for (int i = 0; i < 5 && !finished; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  rex::ExecuteRequest req;
  req.set_instance_name(o_.instance);
  *req.mutable_action_digest() = action;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.executes;
  }
  auto reader = exec_->Execute(ctx.get(), req);
  google::longrunning::Operation op;
  rex::ExecuteResponse resp;
  bool done = false;
  while (reader->Read(&op)) {
    rex::ExecuteOperationMetadata meta;
    if (op.metadata().UnpackTo(&meta)) {
      logs.Follow(meta.stdout_stream_name());
      logs.Follow(meta.stderr_stream_name());
    }
    if (!op.done()) continue;
    done = true;
    if (op.has_error()) {
      *resp.mutable_status() = op.error();
    } else if (!op.response().UnpackTo(&resp)) {
      *resp.mutable_status() = RpcStatus(grpc::StatusCode::INTERNAL, "the engine's answer is not an ExecuteResponse");
    }
  }
  grpc::Status st = reader->Finish();
  finished = true;
  beat.join();
  if (done) return resp;
  if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION) return NotFound(st.error_message());
  if (cancel && cancel->load()) return Conflict("cancelled");
  return Transient(st.ok() ? "Execute: the stream ended without a result" : Describe("Execute", st));
}

core::ActionResult EngineClient::Run(const core::Assignment& a, const std::string& log_path,
                                     const std::atomic<bool>* cancel, const std::function<void()>& heartbeat) {
  core::ActionResult result;
  result.exit_code = -1;
  result.isolation = "reapi";
  std::ofstream(log_path, std::ios::app) << "[mergeyard] " << a.action.name << " on the REAPI engine "
                                         << o_.remote << (o_.instance.empty() ? "" : " (" + o_.instance + ")")
                                         << "\n";
  auto fail = [&](const std::string& e) {
    result.error = e;
    std::ofstream(log_path, std::ios::app) << "[mergeyard] " << e << "\n";
    return result;
  };
  if (!a.action.has_input) return fail("the REAPI engine runs steps with an input tree only");
  auto start = std::chrono::steady_clock::now();
  for (int attempt = 1;; ++attempt) {
    auto root = UploadTree(a.action.input.repo, a.action.input.commit);
    if (!root) return fail("uploading the input tree: " + root.error().message);
    rex::Command cmd;
    for (const auto& arg : a.action.command) cmd.add_arguments(arg);
    for (const auto& [k, v] : a.action.env) {
      auto* e = cmd.add_environment_variables();
      e->set_name(k);
      e->set_value(v);
    }
    *cmd.mutable_platform() = PlatformOf(a.action);
    std::string cmd_bytes = cmd.SerializeAsString();
    rex::Action action;
    *action.mutable_command_digest() = DigestOf(cmd_bytes);
    *action.mutable_input_root_digest() = *root;
    action.mutable_timeout()->set_seconds(std::max<Duration>(1, a.action.timeout / 1000));
    *action.mutable_platform() = cmd.platform();
    std::string action_bytes = action.SerializeAsString();
    rex::Digest action_digest = DigestOf(action_bytes);
    if (Status s = UploadBytes({{action.command_digest(), cmd_bytes}, {action_digest, action_bytes}}); !s)
      return fail("uploading the action: " + s.error().message);
    LogFollower logs(bytestream_.get(), [this] { return Context(); }, log_path);
    auto resp = Execute(action_digest, a, cancel, heartbeat, logs);
    // The engine closes its streams when the execution ends.
    const bool streamed = logs.Finish(std::chrono::seconds(5));
    if (!resp) {
      if (resp.error().code == ErrorCode::kNotFound && attempt == 1) continue;  // inputs evicted: once more
      return fail(resp.error().message);
    }
    const auto code = static_cast<grpc::StatusCode>(resp->status().code());
    if (code == grpc::StatusCode::FAILED_PRECONDITION && attempt == 1) continue;
    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    const rex::ActionResult& r = resp->result();
    auto text = [&](const std::string& raw, bool has, const rex::Digest& d) {
      if (!raw.empty() || !has) return raw;
      auto blob = ReadBlob(d);
      return blob ? *blob : "[mergeyard] cannot read the output: " + blob.error().message + "\n";
    };
    {
      std::ofstream log(log_path, std::ios::app | std::ios::binary);
      if (!streamed && logs.followed()) log << "\n[mergeyard] the engine's log stream broke off; the whole output follows\n";
      if (!streamed)  // else the log has it already
        log << text(r.stdout_raw(), r.has_stdout_digest(), r.stdout_digest())
            << text(r.stderr_raw(), r.has_stderr_digest(), r.stderr_digest());
      if (!r.execution_metadata().worker().empty())
        log << "[mergeyard] ran on " << r.execution_metadata().worker() << (resp->cached_result() ? " (cached)" : "") << "\n";
    }
    result.executor = r.execution_metadata().worker().empty() ? "reapi" : "reapi:" + r.execution_metadata().worker();
    if (code == grpc::StatusCode::DEADLINE_EXCEEDED) {
      result.timed_out = true;
      result.exit_code = r.exit_code() ? r.exit_code() : -1;
      return result;
    }
    if (code != grpc::StatusCode::OK)
      return fail(std::string("the engine answered ") + StatusCodeName(code) + ": " + resp->status().message());
    result.exit_code = r.exit_code();
    std::ofstream(log_path, std::ios::app) << "[mergeyard] exit code " << result.exit_code << "\n";
    return result;
  }
}

}  // namespace mergeyard::exec::reapi
