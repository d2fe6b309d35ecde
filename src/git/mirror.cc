#include "git/mirror.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "base/log.h"
#include "git/git_error.h"
#include "git/oid.h"
#include "git/stale_locks.h"

namespace mergeyard::git {

namespace {

// State shared with libgit2's callbacks during one remote operation.
struct Session {
  const RemoteSpec* spec = nullptr;
  int credential_attempts = 0;
  std::string rejected;  // "<ref>: <reason>" from the remote or our own check
  // Compare-and-swap guard for push negotiation.
  std::string cas_ref;
  git_oid cas_expected{};
  std::string cas_seen;
};

int Credentials(git_credential** out, const char* /*url*/, const char* /*user_from_url*/,
                unsigned int allowed, void* payload) {
  auto* s = static_cast<Session*>(payload);
  if (s->spec->token.empty()) return GIT_PASSTHROUGH;
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) == 0 || ++s->credential_attempts > 1) {
    git_error_set_str(GIT_ERROR_NET, "the remote refused the configured token");
    return GIT_EAUTH;
  }
  std::string user = s->spec->username;
  if (user.empty()) user = s->spec->flavour == ForgeFlavour::kGitLab ? "oauth2" : "x-access-token";
  return git_credential_userpass_plaintext_new(out, user.c_str(), s->spec->token.c_str());
}

int PushUpdate(const char* refname, const char* status, void* payload) {
  auto* s = static_cast<Session*>(payload);
  if (status != nullptr) s->rejected = std::string(refname) + ": " + status;
  return 0;
}

// Refuses the push when the remote's advertised old value of the target is
// not the expected one. The smart protocol then sends that old value, so the
// remote applies the update only if the ref still holds it.
int Negotiate(const git_push_update** updates, size_t len, void* payload) {
  auto* s = static_cast<Session*>(payload);
  if (s->cas_ref.empty()) return 0;
  for (size_t i = 0; i < len; ++i) {
    if (s->cas_ref != updates[i]->dst_refname) continue;
    if (!git_oid_equal(&updates[i]->src, &s->cas_expected)) {
      s->cas_seen = OidString(updates[i]->src);
      git_error_set_str(GIT_ERROR_REFERENCE, "the target moved");
      return GIT_EMODIFIED;
    }
  }
  return 0;
}

git_remote_callbacks Callbacks(Session* s) {
  git_remote_callbacks cb = GIT_REMOTE_CALLBACKS_INIT;
  cb.credentials = Credentials;
  cb.push_update_reference = PushUpdate;
  cb.push_negotiation = Negotiate;
  cb.payload = s;
  return cb;
}

Result<RemotePtr> Anonymous(git_repository* repo, const RemoteSpec& spec) {
  git_remote* raw = nullptr;
  if (int rc = git_remote_create_anonymous(&raw, repo, spec.url.c_str()); rc < 0) {
    return GitFailure(rc, "opening remote");
  }
  return RemotePtr(raw);
}

struct StrArray {
  std::vector<std::string> strings;
  std::vector<char*> ptrs;
  git_strarray arr{};
  explicit StrArray(std::vector<std::string> s) : strings(std::move(s)) {
    for (auto& x : strings) ptrs.push_back(x.data());
    arr.strings = ptrs.data();
    arr.count = ptrs.size();
  }
};

// The value of `ref` in the connected remote's advertisement; "" if absent.
Result<std::string> Advertised(git_remote* remote, const std::string& ref) {
  const git_remote_head** heads = nullptr;
  size_t n = 0;
  if (int rc = git_remote_ls(&heads, &n, remote); rc < 0) return GitFailure(rc, "listing remote refs");
  for (size_t i = 0; i < n; ++i) {
    if (ref == heads[i]->name) return OidString(heads[i]->oid);
  }
  return std::string();
}

}  // namespace

Result<std::unique_ptr<Mirror>> Mirror::Open(const std::string& path) {
  EnsureLibgit2();
  git_repository* raw = nullptr;
  int rc = git_repository_open_bare(&raw, path.c_str());
  if (rc == GIT_ENOTFOUND) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Internal("creating mirror directory " + path + ": " + ec.message());
    rc = git_repository_init(&raw, path.c_str(), /*is_bare=*/1);
  }
  if (rc < 0) return GitFailure(rc, "opening mirror " + path);
  RepoPtr repo(raw);
  auto removed = RemoveStaleLockFiles(path);
  if (!removed) return removed.error();
  for (const auto& file : *removed) {
    LOG_WARN("git: removed a lock file a killed process left", {{"mirror", path}, {"file", file}});
  }
  return std::unique_ptr<Mirror>(new Mirror(std::move(repo)));
}

Status Mirror::CollectGarbage(int loose_limit) {
  const char* path = git_repository_path(repo_.get());
  std::vector<std::string> argv = {"git", "--git-dir=" + std::string(path), "-c", "gc.autoDetach=false"};
  if (loose_limit > 0) argv.insert(argv.end(), {"-c", "gc.auto=" + std::to_string(loose_limit)});
  argv.insert(argv.end(), {"gc", "--auto", "--quiet"});
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) return Internal("git gc: pipe failed");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  const int fork_errno = errno;
  if (pid == 0) {
    // gc dies with us: left running after a kill -9 it would hold locks the
    // next process removes as stale. (Its own brief children, pack-refs
    // and repack, finish on their own.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(err[1], 2);
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1);
    ::execvp("git", args.data());
    ::_exit(127);
  }
  ::close(err[1]);
  std::string output;
  char buf[1024];
  for (ssize_t n; pid > 0 && (n = ::read(err[0], buf, sizeof buf)) > 0;) output.append(buf, static_cast<size_t>(n));
  ::close(err[0]);
  if (pid < 0) return Internal(std::string("git gc: cannot fork: ") + std::strerror(fork_errno));
  int status = 0;
  ::waitpid(pid, &status, 0);
  // Objects may have moved into new packs: let libgit2 see them.
  git_odb* odb = nullptr;
  if (git_repository_odb(&odb, repo_.get()) == 0) {
    git_odb_refresh(odb);
    git_odb_free(odb);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Internal("git gc failed: " + output);
  return Ok();
}

bool Mirror::Has(const std::string& sha) const { return HasObject(repo_.get(), sha); }

Status Mirror::Fetch(const RemoteSpec& spec, const std::vector<std::string>& refspecs) {
  auto remote = Anonymous(repo_.get(), spec);
  if (!remote) return remote.error();
  Session s;
  s.spec = &spec;
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  opts.callbacks = Callbacks(&s);
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  opts.update_fetchhead = 0;
  opts.prune = GIT_FETCH_NO_PRUNE;
  StrArray specs(refspecs);
  return Check(git_remote_fetch(remote->get(), &specs.arr, &opts, "mergeyard: fetch"), "fetching");
}

Result<std::string> Mirror::RemoteRef(const RemoteSpec& spec, const std::string& ref) {
  auto remote = Anonymous(repo_.get(), spec);
  if (!remote) return remote.error();
  Session s;
  s.spec = &spec;
  git_remote_callbacks cb = Callbacks(&s);
  if (int rc = git_remote_connect(remote->get(), GIT_DIRECTION_FETCH, &cb, nullptr, nullptr); rc < 0) {
    return GitFailure(rc, "connecting to remote");
  }
  return Advertised(remote->get(), ref);
}

Status Mirror::SetLocalRef(const std::string& ref, const std::string& sha) {
  auto id = ParseOid(sha);
  if (!id) return id.error();
  git_reference* raw = nullptr;
  int rc = git_reference_create(&raw, repo_.get(), ref.c_str(), &*id, /*force=*/1, "mergeyard");
  ReferencePtr owned(raw);
  return Check(rc, "setting " + ref);
}

Status Mirror::ForcePush(const RemoteSpec& spec, const std::string& sha, const std::string& remote_ref) {
  // The local ref mirrors the remote one: refs/heads/x here is refs/heads/x there.
  if (auto st = SetLocalRef(remote_ref, sha); !st) return st;
  auto remote = Anonymous(repo_.get(), spec);
  if (!remote) return remote.error();
  Session s;
  s.spec = &spec;
  git_push_options opts = GIT_PUSH_OPTIONS_INIT;
  opts.callbacks = Callbacks(&s);
  StrArray specs({"+" + remote_ref + ":" + remote_ref});
  if (auto st = Check(git_remote_upload(remote->get(), &specs.arr, &opts), "pushing " + remote_ref); !st) {
    return st;
  }
  if (!s.rejected.empty()) return Conflict("push rejected: " + s.rejected);
  return Ok();
}

Status Mirror::DeleteRemote(const RemoteSpec& spec, const std::string& remote_ref) {
  git_reference* raw = nullptr;
  if (git_reference_lookup(&raw, repo_.get(), remote_ref.c_str()) == 0) {
    ReferencePtr ref(raw);
    git_reference_delete(ref.get());  // the local copy; the remote decides below
  }
  auto current = RemoteRef(spec, remote_ref);
  if (!current) return current.error();
  if (current->empty()) return Ok();
  auto remote = Anonymous(repo_.get(), spec);
  if (!remote) return remote.error();
  Session s;
  s.spec = &spec;
  git_push_options opts = GIT_PUSH_OPTIONS_INIT;
  opts.callbacks = Callbacks(&s);
  StrArray specs({":" + remote_ref});
  if (auto st = Check(git_remote_upload(remote->get(), &specs.arr, &opts), "deleting " + remote_ref); !st) {
    return st;
  }
  if (!s.rejected.empty()) return Conflict("delete rejected: " + s.rejected);
  return Ok();
}

Result<CasOutcome> Mirror::CompareAndSwap(const RemoteSpec& spec, const std::string& remote_ref,
                                          const std::string& expected, const std::string& commit) {
  auto expected_id = ParseOid(expected);
  if (!expected_id) return expected_id.error();
  auto remote = Anonymous(repo_.get(), spec);
  if (!remote) return remote.error();
  Session s;
  s.spec = &spec;
  s.cas_ref = remote_ref;
  s.cas_expected = *expected_id;
  git_remote_callbacks cb = Callbacks(&s);
  if (int rc = git_remote_connect(remote->get(), GIT_DIRECTION_PUSH, &cb, nullptr, nullptr); rc < 0) {
    return GitFailure(rc, "connecting to remote");
  }
  auto now = Advertised(remote->get(), remote_ref);
  if (!now) return now.error();
  if (*now == commit) return CasOutcome{true, commit};  // landed before (a redo)
  if (*now != expected) return CasOutcome{false, *now};
  const std::string local = "refs/mergeyard/land";
  if (auto st = SetLocalRef(local, commit); !st) return st.error();
  git_push_options opts = GIT_PUSH_OPTIONS_INIT;
  opts.callbacks = cb;
  StrArray specs({local + ":" + remote_ref});  // no '+': never forced
  int rc = git_remote_upload(remote->get(), &specs.arr, &opts);
  if (rc == GIT_EMODIFIED && !s.cas_seen.empty()) return CasOutcome{false, s.cas_seen};
  if (rc < 0 || !s.rejected.empty()) {
    // Lost a race (non-fast-forward, or the remote's old-value check): ask
    // where the ref is now.
    auto after = RemoteRef(spec, remote_ref);
    if (!after) return rc < 0 ? GitFailure(rc, "pushing " + remote_ref) : after.error();
    if (*after == commit) return CasOutcome{true, commit};
    // Still at `expected` but refused (the commit does not descend from it,
    // or a hook said no): not landed, and the tip is where it was.
    if (*after != expected || rc == GIT_ENONFASTFORWARD || !s.rejected.empty()) {
      return CasOutcome{false, *after};
    }
    return GitFailure(rc, "pushing " + remote_ref);
  }
  if (auto st = SetLocalRef(remote_ref, commit); !st) return st.error();
  return CasOutcome{true, commit};
}

}  // namespace mergeyard::git
