#include "exec/reapi/remote_blob_access.h"

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

namespace mergeyard::exec::reapi {
namespace {

httplib::Client Connect(const std::string& server, const std::string& token) {
  httplib::Client c(server);
  c.set_bearer_token_auth(token.c_str());
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(300, 0);
  c.set_write_timeout(300, 0);
  return c;
}

}  // namespace

Status RemoteBlobAccess::Fetch(const rex::Digest& d) {
  if (!ValidDigest(d)) return Invalid("malformed digest " + DigestString(d));
  std::string tmp = cache_.NewTempPath();
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot create " + tmp);
  bool write_failed = false;
  auto client = Connect(server_, token_);
  auto res = client.Get(("/api/v1/blobs/" + d.hash()).c_str(), [&](const char* data, std::size_t n) {
    if (write(fd, data, n) != static_cast<ssize_t>(n)) write_failed = true;
    return !write_failed;
  });
  close(fd);
  if (!res || write_failed) {
    unlink(tmp.c_str());
    return Transient("cannot fetch blob " + DigestString(d) + " from " + server_);
  }
  if (res->status == 404) {
    unlink(tmp.c_str());
    return NotFound("blob " + DigestString(d) + " is not in the CAS");
  }
  if (res->status != 200) {
    unlink(tmp.c_str());
    return Transient("fetching blob " + DigestString(d) + ": HTTP " + std::to_string(res->status));
  }
  return cache_.Adopt(tmp, d.hash(), d.size_bytes());
}

Status RemoteBlobAccess::Send(const rex::Digest& d) {
  auto client = Connect(server_, token_);
  const std::string path = "/api/v1/blobs/" + d.hash();
  if (auto head = client.Head(path.c_str()); head && head->status == 200) return Ok();
  auto bytes = cache_.Get(d.hash());
  if (!bytes) return bytes.error();
  auto res = client.Put(path.c_str(), *bytes, "application/octet-stream");
  if (!res) return Transient("cannot send blob " + DigestString(d) + " to " + server_);
  if (res->status != 200) return Internal("the server refused blob " + DigestString(d) + ": HTTP " + std::to_string(res->status));
  return Ok();
}

Result<std::string> RemoteBlobAccess::LocalFile(const rex::Digest& d) {
  if (!IsEmptyBlob(d) && !Cas(cache_).Has(d)) {
    if (Status s = Fetch(d); !s) return s.error();
  }
  return local_.LocalFile(d);
}

Result<std::string> RemoteBlobAccess::Get(const rex::Digest& d) {
  if (!IsEmptyBlob(d) && !Cas(cache_).Has(d)) {
    if (Status s = Fetch(d); !s) return s.error();
  }
  return local_.Get(d);
}

Result<rex::Digest> RemoteBlobAccess::Put(std::string_view bytes) {
  auto d = local_.Put(bytes);
  if (!d) return d;
  if (Status s = Send(*d); !s) return s.error();
  return d;
}

Result<rex::Digest> RemoteBlobAccess::PutFile(const std::string& path) {
  auto d = local_.PutFile(path);
  if (!d) return d;
  if (IsEmptyBlob(*d)) return d;
  if (Status s = Send(*d); !s) return s.error();
  return d;
}

}  // namespace mergeyard::exec::reapi
