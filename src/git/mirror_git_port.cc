#include "git/mirror_git_port.h"

#include <cctype>
#include <string_view>

#include "base/log.h"
#include "git/mirror.h"

namespace mergeyard::git {

struct MirrorGitPort::RepoMirror {
  std::mutex mu;
  std::unique_ptr<Mirror> mirror;
  RemoteSpec remote;
  int drops_since_gc = 0;
};

std::string BatchRef(queue::BatchId batch) {
  return "refs/heads/mergeyard/batch/" + std::to_string(batch);
}

MirrorGitPort::MirrorGitPort(std::string data_dir, const RemoteResolver& resolver,
                             const Clock& clock, Identity committer, int gc_every)
    : gc_every_(gc_every), data_dir_(std::move(data_dir)), resolver_(resolver), clock_(clock),
      committer_(std::move(committer)) {}

MirrorGitPort::~MirrorGitPort() = default;

namespace {

bool SafePathChar(char c) {
  return isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// A repository path as the forges spell it: "owner/name" (GitHub, Gitea) or
// "group/subgroup/.../project" (GitLab). Every segment is non-empty, made of
// letters, digits, '-', '_' and '.', and does not start with '.'; ".." appears
// nowhere. A segment before the last may not end in ".git" (GitLab refuses
// such paths too): its directory would sit inside the mirror of the shorter
// path ("a/b" -> a/b.git, "a/b.git/c" -> a/b.git/c.git).
bool ValidRepoPath(const std::string& repo) {
  if (repo.empty() || repo.find("..") != std::string::npos) return false;
  size_t segments = 0;
  size_t start = 0;
  while (true) {
    size_t end = repo.find('/', start);
    const bool last = end == std::string::npos;
    if (last) end = repo.size();
    const std::string_view seg(repo.data() + start, end - start);
    if (seg.empty() || seg.front() == '.') return false;
    for (char c : seg) {
      if (!SafePathChar(c)) return false;
    }
    if (!last && seg.size() >= 4 && seg.substr(seg.size() - 4) == ".git") return false;
    ++segments;
    if (last) break;
    start = end + 1;
  }
  return segments >= 2;
}

}  // namespace

Result<std::string> MirrorGitPort::MirrorPath(const std::string& repo) const {
  if (!ValidRepoPath(repo)) return Invalid("not a repository name: '" + repo + "'");
  return data_dir_ + "/mirrors/" + repo + ".git";
}

struct MirrorGitPort::Locked {
  std::unique_lock<std::mutex> lock;
  RepoMirror* m = nullptr;
};

Result<MirrorGitPort::Locked> MirrorGitPort::Acquire(const std::string& repo) {
  auto path = MirrorPath(repo);
  if (!path) return path.error();
  RepoMirror* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = mirrors_[repo];
    if (!slot) slot = std::make_unique<RepoMirror>();
    m = slot.get();
  }
  Locked locked{std::unique_lock<std::mutex>(m->mu), m};
  auto spec = resolver_.Resolve(repo);  // asked every time: tokens rotate
  if (!spec) return spec.error();
  m->remote = *spec;
  if (!m->mirror) {
    auto opened = Mirror::Open(*path);
    if (!opened) return opened.error();
    m->mirror = std::move(*opened);
  }
  return locked;
}

Status MirrorGitPort::EnsureObjects(RepoMirror& m, const engine::QueueKey& key,
                                    const std::vector<std::string>& shas,
                                    const std::vector<queue::EntryRef>& entries) {
  std::vector<std::string> refspecs;
  bool missing_base = false;
  for (const auto& sha : shas) missing_base |= !sha.empty() && !m.mirror->Has(sha);
  for (const auto& e : entries) {
    if (m.mirror->Has(e.head_sha)) continue;
    std::string ref = PullHeadRef(m.remote.flavour, e.pr);
    refspecs.push_back("+" + ref + ":" + ref);
  }
  if (refspecs.empty() && !missing_base) return Ok();  // nothing changed that we need
  refspecs.push_back("+refs/heads/" + key.branch + ":refs/heads/" + key.branch);
  // A speculative base is a batch commit, pushed under mergeyard/batch/.
  if (missing_base) refspecs.push_back("+refs/heads/mergeyard/batch/*:refs/heads/mergeyard/batch/*");
  LOG_INFO("git: fetching", {{"repo", key.repo}, {"refs", std::to_string(refspecs.size())}});
  if (auto st = m.mirror->Fetch(m.remote, refspecs); !st) return st;
  for (const auto& sha : shas) {
    if (!sha.empty() && !m.mirror->Has(sha)) return NotFound("commit " + sha + " is not on the remote");
  }
  for (const auto& e : entries) {
    if (!m.mirror->Has(e.head_sha)) {
      return NotFound("head " + e.head_sha + " of #" + std::to_string(e.pr) + " is not on the remote");
    }
  }
  return Ok();
}

namespace {

// Whether the conflicting part also conflicts merged alone onto `tip`.
Result<bool> ConflictsAlone(git_repository* m, const BatchSpec& spec,
                            const PartConflict& c, const std::string& tip) {
  BatchSpec alone = spec;
  alone.base = tip;
  alone.parts.clear();
  for (const auto& p : spec.parts) {
    if (p.label == c.label) alone.parts.push_back(p);
  }
  auto single = BuildBatchCommit(m, alone);
  if (!single) return single.error();
  return !single->conflicts.empty();
}

}  // namespace

Result<queue::BatchBuilt> MirrorGitPort::BuildLocked(RepoMirror& m, const engine::QueueKey& key,
                                                     const queue::BuildBatch& build) {
  if (auto st = EnsureObjects(m, key, {build.base_sha, build.tip}, build.entries); !st) {
    return st.error();
  }
  BatchSpec spec;
  spec.base = build.base_sha;
  spec.method = build.method;
  spec.committer = committer_;
  spec.now = clock_.Now();
  spec.batch_name = "batch " + std::to_string(build.batch);
  for (const auto& e : build.entries) spec.parts.push_back({"#" + std::to_string(e.pr), e.pr, e.head_sha});
  auto built = BuildBatchCommit(m.mirror->repo(), spec);
  if (!built) return built.error();
  queue::BatchBuilt out;
  out.batch = build.batch;
  for (size_t i = 0; i < built->conflicts.size(); ++i) {
    const PartConflict& c = built->conflicts[i];
    queue::MergeConflict mc{c.pr, c.paths, false};
    if (!build.tip.empty()) {
      auto alone = ConflictsAlone(m.mirror->repo(), spec, c, build.tip);
      if (!alone) return alone.error();
      mc.with_tip = *alone;
    }
    out.conflicts.push_back(std::move(mc));
  }
  if (built->merged.empty()) return out;  // every entry conflicted
  if (push_wanted_ && !push_wanted_(key, built->tree)) {
    // Kept under the same ref locally: reachable (no gc takes it) until dropped.
    if (auto st = m.mirror->SetLocalRef(BatchRef(build.batch), built->commit); !st) return st.error();
    LOG_INFO("git: batch not pushed: nothing on the forge needs it",
             {{"repo", key.repo}, {"batch", std::to_string(build.batch)}, {"commit", built->commit}});
  } else if (auto st = m.mirror->ForcePush(m.remote, built->commit, BatchRef(build.batch)); !st) {
    return st.error();
  }
  out.commit = built->commit;
  return out;
}

void MirrorGitPort::Build(const engine::QueueKey& key, const queue::BuildBatch& build,
                          engine::EventSink& sink) {
  Result<queue::BatchBuilt> built = Internal("not built");
  {
    auto locked = Acquire(key.repo);
    built = locked ? BuildLocked(*locked->m, key, build) : Result<queue::BatchBuilt>(locked.error());
  }
  if (!built) {
    LOG_WARN("git: build failed", {{"repo", key.repo}, {"batch", std::to_string(build.batch)},
                                   {"error", built.error().ToString()}});
    sink.Post(key, queue::BuildFailed{build.batch, built.error().ToString()});
    return;
  }
  LOG_INFO("git: batch built", {{"repo", key.repo}, {"batch", std::to_string(build.batch)},
                                {"commit", built->commit},
                                {"conflicts", std::to_string(built->conflicts.size())}});
  sink.Post(key, std::move(*built));
}

void MirrorGitPort::Land(const engine::QueueKey& key, const queue::Land& land,
                         engine::EventSink& sink) {
  queue::LandResult result{land.batch, false, ""};
  {
    auto locked = Acquire(key.repo);
    auto cas = locked ? locked->m->mirror->CompareAndSwap(locked->m->remote, "refs/heads/" + key.branch,
                                                          land.expected_tip, land.commit)
                      : Result<CasOutcome>(locked.error());
    if (cas) {
      result.landed = cas->landed;
      result.tip = cas->tip;
    } else {
      // Unknown outcome (remote unreachable): not landed, tip unknown; the
      // queue rebuilds, and a later TargetMoved tells the truth.
      LOG_WARN("git: land failed", {{"repo", key.repo}, {"batch", std::to_string(land.batch)},
                                    {"error", cas.error().ToString()}});
    }
  }
  LOG_INFO("git: land", {{"repo", key.repo}, {"batch", std::to_string(land.batch)},
                         {"landed", result.landed ? "yes" : "no"}, {"tip", result.tip}});
  sink.Post(key, result);
}

void MirrorGitPort::Drop(const engine::QueueKey& key, const queue::BatchDone& done) {
  auto locked = Acquire(key.repo);
  Status st = locked ? locked->m->mirror->DeleteRemote(locked->m->remote, BatchRef(done.batch.id))
                     : Status(locked.error());
  if (!st) {
    LOG_WARN("git: dropping batch ref failed", {{"repo", key.repo},
                                                {"batch", std::to_string(done.batch.id)},
                                                {"error", st.error().ToString()}});
  }
  if (locked && gc_every_ > 0 && ++locked->m->drops_since_gc >= gc_every_) {
    locked->m->drops_since_gc = 0;
    if (Status gc = locked->m->mirror->CollectGarbage(); !gc) {
      LOG_WARN("git: packing the mirror failed", {{"repo", key.repo}, {"error", gc.error().ToString()}});
    }
  }
}

Result<std::string> MirrorGitPort::RemoteTip(const engine::QueueKey& key) {
  auto locked = Acquire(key.repo);
  if (!locked) return locked.error();
  return locked->m->mirror->RemoteRef(locked->m->remote, "refs/heads/" + key.branch);
}

Result<Mergeability> MirrorGitPort::CheckMergeable(const engine::QueueKey& key, queue::PrNumber pr,
                                                   const std::string& target_tip,
                                                   const std::string& pr_head,
                                                   queue::MergeMethod method) {
  auto locked = Acquire(key.repo);
  if (!locked) return locked.error();
  RepoMirror& m = *locked->m;
  if (auto st = EnsureObjects(m, key, {target_tip}, {{pr, pr_head}}); !st) return st.error();
  BatchSpec spec;
  spec.base = target_tip;
  spec.method = method;
  spec.committer = committer_;
  spec.now = clock_.Now();
  spec.parts = {{"#" + std::to_string(pr), pr, pr_head}};
  auto built = BuildBatchCommit(m.mirror->repo(), spec);
  if (!built) return built.error();
  Mergeability out;
  if (!built->conflicts.empty()) {
    out.clean = false;
    out.paths = built->conflicts[0].paths;
  }
  return out;
}

}  // namespace mergeyard::git
