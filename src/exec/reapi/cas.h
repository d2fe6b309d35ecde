#pragma once
// The REAPI view of the content store: digests (hash and size), messages
// stored as blobs, and completeness checks of trees and action results.
// Every blob is the one ContentStore (exec/content_store.h) under data_dir,
// shared with step logs; instance names do not partition it (the content
// names itself). The empty blob is always present.
// Thread-safe (ContentStore is).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "build/bazel/remote/execution/v2/remote_execution.pb.h"
#include "exec/content_store.h"

namespace mergeyard::exec::reapi {

namespace rex = build::bazel::remote::execution::v2;

// "hash/size", as in resource names and PreconditionFailure subjects.
std::string DigestString(const rex::Digest& d);
rex::Digest MakeDigest(std::string hash, std::int64_t size);
// The SHA-256 digest of `bytes`.
rex::Digest DigestOf(std::string_view bytes);
// 64 lowercase hex digits and a size >= 0.
bool ValidDigest(const rex::Digest& d);
bool IsEmptyBlob(const rex::Digest& d);

class Cas {
 public:
  explicit Cas(ContentStore& store) : store_(store) {}

  // kNotFound when absent, kInvalid for a malformed digest.
  Result<std::string> Get(const rex::Digest& d);
  Result<rex::Digest> Put(std::string_view bytes);
  bool Has(const rex::Digest& d);
  // The digests of `ds` not stored (the others count as used for eviction).
  std::vector<rex::Digest> Missing(const std::vector<rex::Digest>& ds);

  // A stored message; kInvalid when the blob does not parse as M.
  template <class M>
  Result<M> GetMessage(const rex::Digest& d) {
    auto bytes = Get(d);
    if (!bytes) return bytes.error();
    M m;
    if (!m.ParseFromString(*bytes)) return Invalid("blob " + DigestString(d) + " is not a " + m.GetTypeName());
    return m;
  }
  Result<rex::Digest> PutMessage(const google::protobuf::MessageLite& m);

  // Every blob under the tree rooted at `root` that is not stored: missing
  // directories (whose contents cannot be known) and missing files. Empty
  // when the whole tree is present. kInvalid for a malformed Directory.
  Result<std::vector<rex::Digest>> MissingInTree(const rex::Digest& root);
  // Every Directory of the tree, root first (breadth-first, each once).
  // kNotFound names the first missing directory.
  Result<std::vector<rex::Directory>> Tree(const rex::Digest& root);
  // The blobs an ActionResult refers to that are not stored (output files,
  // output directory trees and their files, stdout, stderr).
  std::vector<rex::Digest> MissingOutputs(const rex::ActionResult& r);

  ContentStore& store() { return store_; }

 private:
  // Visits the tree's directories breadth-first, each once; `visit` may end
  // the walk with an error. A directory that is not stored goes to
  // `missing` when it is given, else ends the walk (kNotFound).
  Status Walk(const rex::Digest& root, std::vector<rex::Digest>* missing,
              const std::function<Status(const rex::Directory&)>& visit);

  ContentStore& store_;
};

}  // namespace mergeyard::exec::reapi
