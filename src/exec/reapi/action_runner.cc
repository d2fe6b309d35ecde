#include "exec/reapi/action_runner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "exec/process_runner.h"
#include "exec/reapi/execution_service.h"

namespace mergeyard::exec::reapi {
namespace fs = std::filesystem;

Result<std::string> LocalBlobAccess::LocalFile(const rex::Digest& d) {
  if (IsEmptyBlob(d)) {  // never stored: make it on demand
    auto put = cas_.Put("");
    if (!put) return put.error();
  }
  if (!cas_.Has(d)) return NotFound("blob " + DigestString(d) + " is not in the CAS");
  return cas_.store().PathOf(d.hash());
}

Result<rex::Digest> LocalBlobAccess::PutFile(const std::string& path) {
  auto hash = cas_.store().TakeFile(path);
  if (!hash) return hash.error();
  auto size = cas_.store().SizeOf(*hash);
  return MakeDigest(*hash, size.value_or(0));
}

namespace {

bool SafeName(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos;
}

// Lays out the tree under `dir`, collecting missing blobs instead of failing
// on the first; any other problem is an error.
class Materializer {
 public:
  explicit Materializer(BlobAccess& blobs) : blobs_(blobs) {}

  Status Dir(const rex::Digest& digest, const std::string& path) {
    auto dir = GetDirectory(digest);
    if (!dir) {
      if (dir.error().code == ErrorCode::kNotFound) {
        missing.push_back(digest);
        return Ok();
      }
      return dir.error();
    }
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) return Internal("cannot create " + path + ": " + ec.message());
    for (const auto& f : dir->files()) {
      if (!SafeName(f.name())) return Invalid("bad file name \"" + f.name() + "\" in the input root");
      if (Status s = File(f, path + "/" + f.name()); !s) return s;
    }
    for (const auto& l : dir->symlinks()) {
      if (!SafeName(l.name())) return Invalid("bad symlink name \"" + l.name() + "\" in the input root");
      if (symlink(l.target().c_str(), (path + "/" + l.name()).c_str()) != 0)
        return Internal("cannot make symlink " + l.name() + ": " + std::strerror(errno));
    }
    for (const auto& d : dir->directories()) {
      if (!SafeName(d.name())) return Invalid("bad directory name \"" + d.name() + "\" in the input root");
      if (Status s = Dir(d.digest(), path + "/" + d.name()); !s) return s;
    }
    return Ok();
  }

  std::vector<rex::Digest> missing;

 private:
  Result<rex::Directory> GetDirectory(const rex::Digest& d) {
    auto bytes = blobs_.Get(d);
    if (!bytes) return bytes.error();
    rex::Directory dir;
    if (!dir.ParseFromString(*bytes)) return Invalid("blob " + DigestString(d) + " is not a Directory");
    return dir;
  }

  Status File(const rex::FileNode& f, const std::string& dst) {
    auto src = blobs_.LocalFile(f.digest());
    if (!src) {
      if (src.error().code == ErrorCode::kNotFound) {
        missing.push_back(f.digest());
        return Ok();
      }
      return src.error();
    }
    if (!f.is_executable() && link(src->c_str(), dst.c_str()) == 0) return Ok();
    std::error_code ec;
    fs::copy_file(*src, dst, fs::copy_options::overwrite_existing, ec);
    if (ec) return Internal("cannot copy an input to " + dst + ": " + ec.message());
    chmod(dst.c_str(), f.is_executable() ? 0755 : 0644);
    return Ok();
  }

  BlobAccess& blobs_;
};

// Uploads what the action left at one output path.
class Collector {
 public:
  explicit Collector(BlobAccess& blobs) : blobs_(blobs) {}

  Status Output(const std::string& workdir, const std::string& rel, rex::ActionResult* r) {
    std::string full = workdir + "/" + rel;
    struct stat st;
    if (lstat(full.c_str(), &st) != 0) return Ok();  // not produced: the client decides
    if (S_ISLNK(st.st_mode)) {
      auto* l = r->add_output_symlinks();
      l->set_path(rel);
      l->set_target(fs::read_symlink(full).string());
      *(fs::is_directory(full) ? r->add_output_directory_symlinks() : r->add_output_file_symlinks()) = *l;
      return Ok();
    }
    if (S_ISREG(st.st_mode)) {
      auto d = blobs_.PutFile(full);
      if (!d) return d.error();
      auto* f = r->add_output_files();
      f->set_path(rel);
      *f->mutable_digest() = *d;
      f->set_is_executable(st.st_mode & S_IXUSR);
      return Ok();
    }
    if (S_ISDIR(st.st_mode)) {
      rex::Tree tree;
      auto root = Directory(full, &tree);
      if (!root) return root.error();
      *tree.mutable_root() = std::move(*root);
      auto d = blobs_.Put(tree.SerializeAsString());
      if (!d) return d.error();
      auto* od = r->add_output_directories();
      od->set_path(rel);
      *od->mutable_tree_digest() = *d;
      return Ok();
    }
    return Ok();
  }

 private:
  // The Directory message of `path`; its subdirectories go into tree->children.
  Result<rex::Directory> Directory(const std::string& path, rex::Tree* tree) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(path, ec)) names.push_back(e.path().filename().string());
    if (ec) return Internal("cannot list " + path + ": " + ec.message());
    std::sort(names.begin(), names.end());
    rex::Directory dir;
    for (const auto& n : names) {
      std::string full = path + "/" + n;
      struct stat st;
      if (lstat(full.c_str(), &st) != 0) continue;
      if (S_ISLNK(st.st_mode)) {
        auto* l = dir.add_symlinks();
        l->set_name(n);
        l->set_target(fs::read_symlink(full).string());
      } else if (S_ISREG(st.st_mode)) {
        auto d = blobs_.PutFile(full);
        if (!d) return d.error();
        auto* f = dir.add_files();
        f->set_name(n);
        *f->mutable_digest() = *d;
        f->set_is_executable(st.st_mode & S_IXUSR);
      } else if (S_ISDIR(st.st_mode)) {
        auto sub = Directory(full, tree);
        if (!sub) return sub.error();
        auto* dn = dir.add_directories();
        dn->set_name(n);
        *dn->mutable_digest() = DigestOf(sub->SerializeAsString());
        *tree->add_children() = std::move(*sub);
      }
    }
    return dir;
  }

  BlobAccess& blobs_;
};

void SetMicros(std::int64_t us, google::protobuf::Timestamp* t) {
  t->set_seconds(us / 1000000);
  t->set_nanos(static_cast<int>(us % 1000000) * 1000);
}

core::ActionResult Fail(std::string error) {
  core::ActionResult r;
  r.exit_code = -1;
  r.error = std::move(error);
  return r;
}

// Copies what the action writes to stdout and stderr into the step's log as
// it appears (on each heartbeat and at the end), so the log link and the
// log stream (ExecuteOperationMetadata.stdout_stream_name) follow the run
// as a terminal would. Up to kMax bytes of each; the rest is in the CAS.
class OutputTail {
 public:
  OutputTail(std::string log_path, std::vector<std::string> files) : log_path_(std::move(log_path)) {
    for (auto& f : files) files_.push_back({std::move(f), 0});
  }

  void Pump() {
    std::string fresh;
    for (auto& f : files_) {
      std::error_code ec;
      const auto size = static_cast<std::int64_t>(std::filesystem::file_size(f.path, ec));
      if (ec || f.offset >= std::min(size, kMax)) continue;
      std::ifstream in(f.path, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(f.offset));
      std::string chunk(static_cast<std::size_t>(std::min(size, kMax) - f.offset), '\0');
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      chunk.resize(static_cast<std::size_t>(in.gcount()));
      f.offset += static_cast<std::int64_t>(chunk.size());
      fresh += chunk;
    }
    if (!fresh.empty()) std::ofstream(log_path_, std::ios::app | std::ios::binary) << fresh;
  }

  // The last Pump; notes what was left out, and ends the output's last line.
  void Finish() {
    Pump();
    std::ofstream log(log_path_, std::ios::app | std::ios::binary);
    bool any = false;
    for (const auto& f : files_) {
      std::error_code ec;
      const auto size = static_cast<std::int64_t>(std::filesystem::file_size(f.path, ec));
      if (!ec && size > f.offset)
        log << "\n[mergeyard] ... " << size - f.offset << " more bytes of " << fs::path(f.path).filename().string()
            << " in the CAS";
      any = any || f.offset > 0;
    }
    if (any && !EndsWithNewline()) log << "\n";
  }

 private:
  static constexpr std::int64_t kMax = 1 << 20;
  bool EndsWithNewline() const {
    std::ifstream in(log_path_, std::ios::binary | std::ios::ate);
    if (in.tellg() <= 0) return true;
    in.seekg(-1, std::ios::end);
    return in.get() == '\n';
  }
  struct Tailed {
    std::string path;
    std::int64_t offset;
  };
  std::string log_path_;
  std::vector<Tailed> files_;
};

}  // namespace

core::ActionResult ActionRunner::Run(const core::Assignment& a, const std::string& log_path,
                                     const std::atomic<bool>* cancel, const std::function<void()>& heartbeat) {
  auto scratch = scratch_.Acquire();
  if (!scratch) return Fail(scratch.error().message);
  core::ActionResult r = RunIn(a, *scratch, log_path, cancel, heartbeat);
  scratch_.Release(*scratch);
  return r;
}

core::ActionResult ActionRunner::RunIn(const core::Assignment& a, const std::string& scratch,
                                       const std::string& log_path, const std::atomic<bool>* cancel,
                                       const std::function<void()>& heartbeat) {
  rex::ExecutedActionMetadata meta;
  meta.set_worker(worker_);
  SetMicros(clock_.NowMicros(), meta.mutable_worker_start_timestamp());
  *meta.mutable_input_fetch_start_timestamp() = meta.worker_start_timestamp();
  const auto& ref = a.action.remote;
  const rex::Digest action_digest = MakeDigest(ref.action_hash, ref.action_size);
  auto action_bytes = blobs_.Get(action_digest);
  if (!action_bytes) {
    if (action_bytes.error().code == ErrorCode::kNotFound)
      return Fail(kMissingInputs + DigestString(action_digest));
    return Fail("cannot read the Action: " + action_bytes.error().message);
  }
  rex::Action action;
  if (!action.ParseFromString(*action_bytes)) return Fail("the Action does not parse");
  auto command_bytes = blobs_.Get(action.command_digest());
  if (!command_bytes) {
    if (command_bytes.error().code == ErrorCode::kNotFound)
      return Fail(kMissingInputs + DigestString(action.command_digest()));
    return Fail("cannot read the Command: " + command_bytes.error().message);
  }
  rex::Command command;
  if (!command.ParseFromString(*command_bytes)) return Fail("the Command does not parse");

  const std::string root = scratch + "/root";
  Materializer m(blobs_);
  if (Status s = m.Dir(action.input_root_digest(), root); !s) return Fail("input root: " + s.error().message);
  if (!m.missing.empty()) {
    std::string e = kMissingInputs;
    for (std::size_t i = 0; i < m.missing.size(); ++i) e += (i ? " " : "") + DigestString(m.missing[i]);
    return Fail(e);
  }
  SetMicros(clock_.NowMicros(), meta.mutable_input_fetch_completed_timestamp());
  const std::string workdir = command.working_directory().empty() ? root : root + "/" + command.working_directory();
  std::vector<std::string> outputs;
  if (command.output_paths_size() > 0) {
    outputs.assign(command.output_paths().begin(), command.output_paths().end());
  } else {
    outputs.assign(command.output_files().begin(), command.output_files().end());
    outputs.insert(outputs.end(), command.output_directories().begin(), command.output_directories().end());
  }
  std::error_code ec;
  fs::create_directories(workdir, ec);
  for (const auto& o : outputs) fs::create_directories(fs::path(workdir + "/" + o).parent_path(), ec);

  RunSpec spec;
  spec.argv = a.action.command;
  spec.env = a.action.env;
  spec.workdir = workdir;
  spec.writable_root = root;
  spec.timeout = a.action.timeout;
  spec.sandbox = sandbox_;
  spec.network = false;
  spec.log_path = log_path;
  spec.stdout_path = scratch + "/stdout";
  spec.stderr_path = scratch + "/stderr";
  spec.cancel = cancel;
  OutputTail tail(log_path, {spec.stdout_path, spec.stderr_path});
  spec.heartbeat = [&] {
    tail.Pump();
    if (heartbeat) heartbeat();
  };
  spec.heartbeat_every = 250;
  spec.on_exit = [&] { tail.Finish(); };
  SetMicros(clock_.NowMicros(), meta.mutable_execution_start_timestamp());
  RunOutcome out = RunProcess(spec, clock_);
  SetMicros(clock_.NowMicros(), meta.mutable_execution_completed_timestamp());

  core::ActionResult result;
  Record(out, &result);
  if (!out.error.empty() || out.cancelled) return result;

  rex::ActionResult r;
  r.set_exit_code(out.exit_code);
  *meta.mutable_output_upload_start_timestamp() = meta.execution_completed_timestamp();
  Collector c(blobs_);
  for (const auto& o : outputs) {
    if (Status s = c.Output(workdir, o, &r); !s) return Fail("cannot upload output " + o + ": " + s.error().message);
  }
  auto out_d = blobs_.PutFile(spec.stdout_path);
  auto err_d = blobs_.PutFile(spec.stderr_path);
  if (!out_d || !err_d) return Fail("cannot upload stdout or stderr");
  *r.mutable_stdout_digest() = *out_d;
  *r.mutable_stderr_digest() = *err_d;
  SetMicros(clock_.NowMicros(), meta.mutable_output_upload_completed_timestamp());
  *meta.mutable_worker_completed_timestamp() = meta.output_upload_completed_timestamp();
  *r.mutable_execution_metadata() = std::move(meta);
  auto stored = blobs_.Put(r.SerializeAsString());
  if (!stored) return Fail("cannot store the ActionResult: " + stored.error().message);
  result.outputs_digest = stored->hash();
  return result;
}

}  // namespace mergeyard::exec::reapi
