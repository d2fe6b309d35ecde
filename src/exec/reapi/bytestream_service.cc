#include "exec/reapi/bytestream_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "exec/reapi/grpc_status.h"
#include "exec/sha256_stream.h"

namespace mergeyard::exec::reapi {
namespace {

using google::bytestream::QueryWriteStatusRequest;
using google::bytestream::QueryWriteStatusResponse;
using google::bytestream::ReadRequest;
using google::bytestream::ReadResponse;
using google::bytestream::WriteRequest;
using google::bytestream::WriteResponse;
using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;

constexpr std::int64_t kChunk = 1 << 20;
constexpr std::size_t kMaxPartialUploads = 256;

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

std::string Join(const std::vector<std::string>& parts, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

// Finds "blobs/<hash>/<size>" at or after `from`; the index of "blobs".
std::optional<std::size_t> FindBlobs(const std::vector<std::string>& p, std::size_t from, rex::Digest* d) {
  for (std::size_t i = from; i + 2 < p.size(); ++i) {
    if (p[i] != "blobs" || !IsSha256Hex(p[i + 1])) continue;
    const std::string& size = p[i + 2];
    if (size.empty() || size.size() > 18 || size.find_first_not_of("0123456789") != std::string::npos) continue;
    *d = MakeDigest(p[i + 1], std::stoll(size));
    return i;
  }
  return std::nullopt;
}

}  // namespace

Result<ResourceName> ParseReadResource(const std::string& name) {
  auto p = Split(name);
  ResourceName r;
  auto at = FindBlobs(p, 0, &r.digest);
  if (!at) {
    for (const auto& s : p)
      if (s == "compressed-blobs") return Invalid("compressed blobs are not supported: " + name);
    return Invalid("not a blob resource name (\"[instance/]blobs/<hash>/<size>\"): " + name);
  }
  r.instance = Join(p, *at);
  return r;
}

std::string LogStreamName(const std::string& instance, const std::string& execution) {
  return (instance.empty() ? "" : instance + "/") + "logs/" + execution;
}

std::optional<std::string> LogStreamExecution(const std::string& name) {
  auto p = Split(name);
  if (p.size() < 2 || p[p.size() - 2] != "logs" || p.back().empty()) return std::nullopt;
  for (const auto& s : p)
    if (s == "blobs" || s == "uploads") return std::nullopt;
  return p.back();
}

Result<ResourceName> ParseWriteResource(const std::string& name) {
  auto p = Split(name);
  for (std::size_t i = 0; i + 1 < p.size(); ++i) {
    if (p[i] != "uploads") continue;
    if (i + 2 < p.size() && p[i + 2] == "compressed-blobs")
      return Invalid("compressed blobs are not supported: " + name);
    ResourceName r;
    auto at = FindBlobs(p, i + 2, &r.digest);
    if (!at || *at != i + 2) break;
    r.instance = Join(p, i);
    r.upload = p[i + 1];
    return r;
  }
  return Invalid("not an upload resource name (\"[instance/]uploads/<uuid>/blobs/<hash>/<size>\"): " + name);
}

namespace {

class ByteStreamService final : public google::bytestream::ByteStream::Service {
 public:
  explicit ByteStreamService(ServiceContext c) : c_(c) {}
  ~ByteStreamService() override {
    for (auto& [name, u] : partial_) unlink(u.path.c_str());
  }

  Status Read(ServerContext* ctx, const ReadRequest* req, grpc::ServerWriter<ReadResponse>* writer) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    if (auto execution = LogStreamExecution(req->resource_name())) return FollowLog(ctx, *execution, *req, writer);
    auto r = ParseReadResource(req->resource_name());
    if (!r) return ToGrpc(r.error());
    if (req->read_offset() < 0 || req->read_limit() < 0)
      return Status(StatusCode::OUT_OF_RANGE, "read_offset and read_limit must not be negative");
    if (!c_.cas->Has(r->digest)) return Status(StatusCode::NOT_FOUND, "blob " + DigestString(r->digest) + " is not in the CAS");
    const std::int64_t size = r->digest.size_bytes();
    if (req->read_offset() > size)
      return Status(StatusCode::OUT_OF_RANGE, "read_offset " + std::to_string(req->read_offset()) +
                                                  " is past the blob's " + std::to_string(size) + " bytes");
    std::int64_t end = size;
    if (req->read_limit() > 0) end = std::min(size, req->read_offset() + req->read_limit());
    if (IsEmptyBlob(r->digest)) {
      writer->Write(ReadResponse());
      return Status::OK;
    }
    int fd = open(c_.cas->store().PathOf(r->digest.hash()).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status(StatusCode::NOT_FOUND, "blob " + DigestString(r->digest) + " was evicted");
    ReadResponse resp;
    std::int64_t at = req->read_offset();
    bool first = true;
    while (at < end || first) {
      first = false;
      std::int64_t n = std::min(kChunk, end - at);
      std::string* data = resp.mutable_data();
      data->resize(static_cast<std::size_t>(n));
      ssize_t got = n ? pread(fd, data->data(), static_cast<std::size_t>(n), at) : 0;
      if (got != n) {
        close(fd);
        return Status(StatusCode::INTERNAL, "short read of blob " + DigestString(r->digest));
      }
      if (ctx->IsCancelled() || !writer->Write(resp)) break;
      at += n;
    }
    close(fd);
    c_.cas->store().NoteRead(end - req->read_offset());
    return Status::OK;
  }

  // Sends the live log from read_offset as it grows; the execution's end
  // (or read_limit) ends the stream.
  Status FollowLog(ServerContext* ctx, const std::string& execution, const ReadRequest& req,
                   grpc::ServerWriter<ReadResponse>* writer) {
    if (req.read_offset() < 0 || req.read_limit() < 0)
      return Status(StatusCode::OUT_OF_RANGE, "read_offset and read_limit must not be negative");
    if (!c_.exec->View(execution)) return Status(StatusCode::NOT_FOUND, "no execution " + execution);
    const std::string path = c_.exec->LiveLogPath(execution);
    std::int64_t at = req.read_offset();
    const std::int64_t end = req.read_limit() > 0 ? at + req.read_limit() : INT64_MAX;
    for (;;) {
      // Whether it was over before this read: then what is read is all there is.
      auto v = c_.exec->View(execution);
      const bool over = !v || v->state == core::ExecState::kCompleted || v->state == core::ExecState::kCancelled;
      ReadResponse resp;
      if (int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        struct stat st;
        const std::int64_t fresh = fstat(fd, &st) == 0 ? std::min<std::int64_t>(st.st_size, end) - at : 0;
        if (fresh > 0) {
          std::string* data = resp.mutable_data();
          data->resize(static_cast<std::size_t>(std::min(kChunk, fresh)));
          ssize_t got = pread(fd, data->data(), data->size(), at);
          data->resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        }
        close(fd);
      }
      if (!resp.data().empty()) {
        if (!writer->Write(resp)) return Status::OK;
        at += static_cast<std::int64_t>(resp.data().size());
        if (at >= end) return Status::OK;
        continue;
      }
      if (over) {
        if (at == req.read_offset() && access(path.c_str(), F_OK) != 0) return SendStoredLog(execution, req, writer);
        return Status::OK;
      }
      if (ctx->IsCancelled()) return Status(StatusCode::CANCELLED, "the reader went away");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // The log of an execution whose live file is gone: its stored copy.
  Status SendStoredLog(const std::string& execution, const ReadRequest& req, grpc::ServerWriter<ReadResponse>* writer) {
    auto log = c_.exec->ReadLog(execution);
    if (!log) return ToGrpc(log.error());
    const auto from = static_cast<std::size_t>(std::min<std::int64_t>(req.read_offset(), log->size()));
    ReadResponse resp;
    *resp.mutable_data() = log->substr(from, req.read_limit() > 0 ? static_cast<std::size_t>(req.read_limit()) : std::string::npos);
    writer->Write(resp);
    return Status::OK;
  }

  Status Write(ServerContext* ctx, grpc::ServerReader<WriteRequest>* reader, WriteResponse* resp) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    WriteRequest req;
    if (!reader->Read(&req)) return Status(StatusCode::INVALID_ARGUMENT, "an empty write");
    const std::string name = req.resource_name();
    auto r = ParseWriteResource(name);
    if (!r) return ToGrpc(r.error());
    const std::int64_t size = r->digest.size_bytes();
    if (c_.cas->Has(r->digest)) {  // already stored: the client may stop sending
      Drop(name);
      resp->set_committed_size(size);
      return Status::OK;
    }
    Upload u = Take(name);
    int fd = open(u.path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status(StatusCode::INTERNAL, "cannot open an upload file");
    for (;;) {
      if (!req.resource_name().empty() && req.resource_name() != name) {
        close(fd);
        Keep(name, u);
        return Status(StatusCode::INVALID_ARGUMENT, "resource_name changed within one write");
      }
      if (req.write_offset() != u.committed) {
        close(fd);
        Keep(name, u);
        return Status(StatusCode::INVALID_ARGUMENT, "write_offset " + std::to_string(req.write_offset()) +
                                                        " but " + std::to_string(u.committed) + " bytes are committed");
      }
      const std::string& data = req.data();
      if (u.committed + static_cast<std::int64_t>(data.size()) > size) {
        close(fd);
        unlink(u.path.c_str());
        return Status(StatusCode::INVALID_ARGUMENT, "more data than the digest's " + std::to_string(size) + " bytes");
      }
      if (!data.empty() &&
          pwrite(fd, data.data(), data.size(), u.committed) != static_cast<ssize_t>(data.size())) {
        close(fd);
        unlink(u.path.c_str());
        return Status(StatusCode::INTERNAL, "cannot write the upload");
      }
      u.sha.Update(data);
      u.committed += static_cast<std::int64_t>(data.size());
      if (req.finish_write()) break;
      if (!reader->Read(&req)) {  // broke off: keep it for QueryWriteStatus and a resumed Write
        close(fd);
        Keep(name, u);
        return Status(StatusCode::CANCELLED, "the write ended before finish_write");
      }
    }
    close(fd);
    if (u.committed != size) {
      unlink(u.path.c_str());
      return Status(StatusCode::INVALID_ARGUMENT, "finish_write after " + std::to_string(u.committed) +
                                                      " of the digest's " + std::to_string(size) + " bytes");
    }
    const std::string actual = u.sha.Finish();
    if (actual != r->digest.hash()) {
      unlink(u.path.c_str());
      return Status(StatusCode::INVALID_ARGUMENT, "the data's SHA-256 is " + actual + ", not " + r->digest.hash());
    }
    if (Status s = ToStatus(c_.cas->store().AdoptHashed(u.path, r->digest.hash(), size)); !s.ok()) return s;
    resp->set_committed_size(size);
    return Status::OK;
  }

  Status QueryWriteStatus(ServerContext* ctx, const QueryWriteStatusRequest* req,
                          QueryWriteStatusResponse* resp) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    auto r = ParseWriteResource(req->resource_name());
    if (!r) return ToGrpc(r.error());
    if (c_.cas->Has(r->digest)) {
      resp->set_committed_size(r->digest.size_bytes());
      resp->set_complete(true);
      return Status::OK;
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partial_.find(req->resource_name());
    if (it == partial_.end()) return Status(StatusCode::NOT_FOUND, "no write to " + req->resource_name());
    resp->set_committed_size(it->second.committed);
    resp->set_complete(false);
    return Status::OK;
  }

 private:
  struct Upload {
    std::string path;
    std::int64_t committed = 0;
    std::uint64_t seq = 0;
    // SHA-256 of the committed bytes, computed as they arrive (no read-back).
    Sha256Stream sha;
  };
  static Status ToStatus(const mergeyard::Status& s) { return s ? Status::OK : ToGrpc(s.error()); }

  // The partial upload of `name`, or a fresh one. The caller owns it until Keep.
  Upload Take(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partial_.find(name);
    if (it != partial_.end()) {
      Upload u = it->second;
      partial_.erase(it);
      return u;
    }
    Upload u;
    u.path = c_.cas->store().NewTempPath();
    return u;
  }
  void Keep(const std::string& name, Upload u) {
    std::lock_guard<std::mutex> lock(mu_);
    u.seq = ++seq_;
    if (auto old = partial_.find(name); old != partial_.end()) unlink(old->second.path.c_str());
    partial_[name] = u;
    while (partial_.size() > kMaxPartialUploads) {  // the oldest goes
      auto oldest = partial_.begin();
      for (auto i = partial_.begin(); i != partial_.end(); ++i)
        if (i->second.seq < oldest->second.seq) oldest = i;
      unlink(oldest->second.path.c_str());
      partial_.erase(oldest);
    }
  }
  void Drop(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partial_.find(name);
    if (it == partial_.end()) return;
    unlink(it->second.path.c_str());
    partial_.erase(it);
  }

  ServiceContext c_;
  std::mutex mu_;
  std::map<std::string, Upload> partial_;
  std::uint64_t seq_ = 0;
};

}  // namespace

std::unique_ptr<google::bytestream::ByteStream::Service> NewByteStreamService(ServiceContext ctx) {
  return std::make_unique<ByteStreamService>(ctx);
}

}  // namespace mergeyard::exec::reapi
