#include "exec/reapi/cas.h"

#include "exec/sha256_stream.h"

#include <deque>
#include <set>

namespace mergeyard::exec::reapi {
namespace {
constexpr char kEmptyHash[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
}

std::string DigestString(const rex::Digest& d) { return d.hash() + "/" + std::to_string(d.size_bytes()); }

rex::Digest MakeDigest(std::string hash, std::int64_t size) {
  rex::Digest d;
  d.set_hash(std::move(hash));
  d.set_size_bytes(size);
  return d;
}

rex::Digest DigestOf(std::string_view bytes) {
  return MakeDigest(Sha256Of(bytes), static_cast<std::int64_t>(bytes.size()));
}

bool ValidDigest(const rex::Digest& d) { return d.size_bytes() >= 0 && IsSha256Hex(d.hash()); }

bool IsEmptyBlob(const rex::Digest& d) { return d.size_bytes() == 0 && d.hash() == kEmptyHash; }

Result<std::string> Cas::Get(const rex::Digest& d) {
  if (!ValidDigest(d)) return Invalid("malformed digest " + DigestString(d));
  if (IsEmptyBlob(d)) return std::string();
  auto size = store_.SizeOf(d.hash());
  if (!size || *size != d.size_bytes()) return NotFound("blob " + DigestString(d) + " is not in the CAS");
  return store_.Get(d.hash());
}

Result<rex::Digest> Cas::Put(std::string_view bytes) {
  auto hash = store_.Put(bytes);
  if (!hash) return hash.error();
  return MakeDigest(*hash, static_cast<std::int64_t>(bytes.size()));
}

bool Cas::Has(const rex::Digest& d) {
  if (!ValidDigest(d)) return false;
  if (IsEmptyBlob(d)) return true;
  auto size = store_.SizeOf(d.hash());
  return size && *size == d.size_bytes();
}

std::vector<rex::Digest> Cas::Missing(const std::vector<rex::Digest>& ds) {
  std::vector<std::string> hashes;
  hashes.reserve(ds.size());
  for (const auto& d : ds) hashes.push_back(d.hash());
  std::vector<std::optional<std::int64_t>> sizes = store_.SizesOf(hashes);
  std::vector<rex::Digest> out;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    if (IsEmptyBlob(ds[i])) continue;
    if (!sizes[i] || *sizes[i] != ds[i].size_bytes()) out.push_back(ds[i]);
  }
  return out;
}

Result<rex::Digest> Cas::PutMessage(const google::protobuf::MessageLite& m) {
  std::string bytes;
  if (!m.SerializeToString(&bytes)) return Internal("cannot serialise " + m.GetTypeName());
  return Put(bytes);
}

Status Cas::Walk(const rex::Digest& root, std::vector<rex::Digest>* missing,
                 const std::function<Status(const rex::Directory&)>& visit) {
  std::deque<rex::Digest> todo{root};
  std::set<std::string> seen;
  while (!todo.empty()) {
    rex::Digest d = todo.front();
    todo.pop_front();
    if (!seen.insert(d.hash()).second) continue;
    auto dir = GetMessage<rex::Directory>(d);
    if (!dir) {
      if (missing == nullptr || dir.error().code != ErrorCode::kNotFound) return dir.error();
      missing->push_back(d);
      continue;
    }
    if (Status s = visit(*dir); !s) return s;
    for (const auto& sub : dir->directories()) todo.push_back(sub.digest());
  }
  return Ok();
}

Result<std::vector<rex::Digest>> Cas::MissingInTree(const rex::Digest& root) {
  std::vector<rex::Digest> missing, files;
  Status walked = Walk(root, &missing, [&](const rex::Directory& dir) -> Status {
    for (const auto& f : dir.files()) {
      if (!ValidDigest(f.digest())) return Invalid("file " + f.name() + " has a malformed digest");
      files.push_back(f.digest());
    }
    for (const auto& sub : dir.directories())
      if (!ValidDigest(sub.digest())) return Invalid("directory " + sub.name() + " has a malformed digest");
    return Ok();
  });
  if (!walked) return walked.error();
  for (auto& d : Missing(files)) missing.push_back(std::move(d));
  return missing;
}

Result<std::vector<rex::Directory>> Cas::Tree(const rex::Digest& root) {
  std::vector<rex::Directory> out;
  Status walked = Walk(root, nullptr, [&](const rex::Directory& dir) {
    out.push_back(dir);
    return Ok();
  });
  if (!walked) return walked.error();
  return out;
}

std::vector<rex::Digest> Cas::MissingOutputs(const rex::ActionResult& r) {
  std::vector<rex::Digest> want;
  for (const auto& f : r.output_files()) want.push_back(f.digest());
  if (r.has_stdout_digest()) want.push_back(r.stdout_digest());
  if (r.has_stderr_digest()) want.push_back(r.stderr_digest());
  std::vector<rex::Digest> missing;
  for (const auto& od : r.output_directories()) {
    auto tree = GetMessage<rex::Tree>(od.tree_digest());
    if (!tree) {
      missing.push_back(od.tree_digest());
      continue;
    }
    auto add = [&](const rex::Directory& dir) {
      for (const auto& f : dir.files()) want.push_back(f.digest());
    };
    add(tree->root());
    for (const auto& c : tree->children()) add(c);
  }
  for (auto& d : Missing(want)) missing.push_back(std::move(d));
  return missing;
}

}  // namespace mergeyard::exec::reapi
