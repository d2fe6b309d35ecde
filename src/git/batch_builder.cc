#include "git/batch_builder.h"

#include <git2/sys/commit.h>

#include <algorithm>
#include <memory>

#include "git/git_error.h"
#include "git/handles.h"
#include "git/oid.h"
#include "git/tree_merge.h"
#include "git/tree_store.h"

namespace mergeyard::git {

namespace {

std::string BatchListing(const BatchSpec& spec) {
  std::string line = "mergeyard " + (spec.batch_name.empty() ? std::string("batch") : spec.batch_name) + ":";
  for (size_t i = 0; i < spec.parts.size(); ++i) {
    line += (i == 0 ? " " : ", ") + spec.parts[i].label;
  }
  return line + "\n";
}

class Builder {
 public:
  Builder(git_repository* repo, const BatchSpec& spec) : repo_(repo), spec_(spec) {}

  Result<BatchCommit> Run() {
    auto base = ParseOid(spec_.base);
    if (!base) return base.error();
    auto base_commit = LookupCommit(repo_, *base);
    if (!base_commit) return base_commit.error();
    git_signature* sig = nullptr;
    if (int rc = git_signature_new(&sig, spec_.committer.name.c_str(),
                                   spec_.committer.email.c_str(), spec_.now / 1000, 0);
        rc < 0) {
      return GitFailure(rc, "making the committer signature");
    }
    committer_.reset(sig);
    auto store = TreeStore::Open(repo_);
    if (!store) return store.error();
    store_ = std::move(*store);
    current_ = *base;
    for (const BatchPart& part : spec_.parts) {
      auto head = ParseOid(part.head);
      if (!head) return Error{head.error().code, part.label + ": " + head.error().message};
      if (auto st = AddPart(part, *head); !st) return st.error();
    }
    auto commit = LookupCommit(repo_, current_);
    if (!commit) return commit.error();
    out_.commit = OidString(current_);
    out_.tree = OidString(*git_commit_tree_id(commit->get()));
    return std::move(out_);
  }

 private:
  Status AddPart(const BatchPart& part, const git_oid& head) {
    auto head_commit = LookupCommit(repo_, head);
    if (!head_commit) return Error{head_commit.error().code, part.label + ": " + head_commit.error().message};
    if (git_oid_equal(&head, &current_) || git_graph_descendant_of(repo_, &current_, &head) == 1) {
      out_.merged.push_back(part.label);  // already contained
      return Ok();
    }
    std::vector<std::string> conflicts;
    Status st = spec_.method == queue::MergeMethod::kRebase
                    ? Rebase(part, head, &conflicts)
                    : MergeOrSquash(part, head_commit->get(), &conflicts);
    if (!st) return st;
    if (!conflicts.empty()) {
      out_.conflicts.push_back({part.label, part.pr, std::move(conflicts)});
    } else {
      out_.merged.push_back(part.label);
    }
    return Ok();
  }

  Status MergeOrSquash(const BatchPart& part, const git_commit* head,
                       std::vector<std::string>* conflicts) {
    auto merged = MergeCommits(repo_, current_, *git_commit_id(head), store_.get());
    if (!merged) return merged.error();
    if (merged->full_merge) ++out_.full_merges;
    if (!merged->clean) {
      *conflicts = merged->conflicts;
      return Ok();
    }
    auto cur = LookupCommit(repo_, current_);
    if (!cur) return cur.error();
    const char* summary = git_commit_summary(const_cast<git_commit*>(head));
    std::string subject = summary != nullptr ? summary : "";
    if (spec_.method == queue::MergeMethod::kMerge) {
      std::string title = part.pr != 0 ? "Merge pull request #" + std::to_string(part.pr)
                                       : "Merge '" + part.label + "'";
      std::string msg = title + "\n\n" + subject + "\n\n" + BatchListing(spec_);
      const git_commit* parents[] = {cur->get(), head};
      return Commit(merged->tree, parents, 2, committer_.get(), msg);
    }
    if (git_oid_equal(&merged->tree, git_commit_tree_id(cur->get()))) return Ok();  // empty
    auto msg = SquashMessage(part, *git_commit_id(head), subject);
    if (!msg) return msg.error();
    const git_commit* parents[] = {cur->get()};
    return Commit(merged->tree, parents, 1, git_commit_author(head), *msg);
  }

  Result<std::string> SquashMessage(const BatchPart& part, const git_oid& head,
                                    const std::string& subject) {
    auto commits = OwnCommits(head);
    if (!commits) return commits.error();
    std::string msg = subject + " (" + part.label + ")\n\n";
    if (commits->size() > 1) {
      for (const git_oid& id : *commits) {
        auto c = LookupCommit(repo_, id);
        if (!c) return c.error();
        const char* s = git_commit_summary(c->get());
        msg += std::string("* ") + (s != nullptr ? s : "") + "\n";
      }
      msg += "\n";
    }
    return msg + BatchListing(spec_);
  }

  // The part's non-merge commits not yet in the batch, oldest first.
  Result<std::vector<git_oid>> OwnCommits(const git_oid& head) {
    git_revwalk* raw = nullptr;
    if (int rc = git_revwalk_new(&raw, repo_); rc < 0) return GitFailure(rc, "walking history");
    RevwalkPtr walk(raw);
    git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
    if (auto st = Check(git_revwalk_push(walk.get(), &head), "walking history"); !st) return st.error();
    if (auto st = Check(git_revwalk_hide(walk.get(), &current_), "walking history"); !st) return st.error();
    std::vector<git_oid> ids;
    git_oid id;
    int rc = 0;
    while ((rc = git_revwalk_next(&id, walk.get())) == 0) {
      auto c = LookupCommit(repo_, id);
      if (!c) return c.error();
      if (git_commit_parentcount(c->get()) <= 1) ids.push_back(id);
    }
    if (rc != GIT_ITEROVER) return GitFailure(rc, "walking history");
    return ids;
  }

  Status Rebase(const BatchPart& part, const git_oid& head, std::vector<std::string>* conflicts) {
    (void)part;
    auto commits = OwnCommits(head);
    if (!commits) return commits.error();
    git_oid start = current_;
    for (const git_oid& id : *commits) {
      auto c = LookupCommit(repo_, id);
      if (!c) return c.error();
      auto cur = LookupCommit(repo_, current_);
      if (!cur) return cur.error();
      const git_oid* parent_tree = nullptr;
      CommitPtr parent;
      if (git_commit_parentcount(c->get()) == 1) {
        git_commit* p = nullptr;
        if (int rc = git_commit_parent(&p, c->get(), 0); rc < 0) return GitFailure(rc, "reading parent");
        parent.reset(p);
        parent_tree = git_commit_tree_id(p);
      }
      auto merged = MergeTrees(repo_, parent_tree, *git_commit_tree_id(cur->get()),
                               *git_commit_tree_id(c->get()), store_.get());
      if (!merged) return merged.error();
      if (merged->full_merge) ++out_.full_merges;
      if (!merged->clean) {
        *conflicts = merged->conflicts;
        current_ = start;  // leave the whole part out
        return Ok();
      }
      if (git_oid_equal(&merged->tree, git_commit_tree_id(cur->get()))) continue;  // now empty
      const git_commit* parents[] = {cur->get()};
      if (auto st = Commit(merged->tree, parents, 1, git_commit_author(c->get()),
                           git_commit_message(c->get()));
          !st) {
        return st;
      }
    }
    return Ok();
  }

  Status Commit(const git_oid& tree_id, const git_commit** parents, size_t n,
                const git_signature* author, const std::string& message) {
    // By ids: the (possibly large) tree is not loaded again.
    const git_oid* parent_ids[2] = {};
    for (size_t i = 0; i < n && i < 2; ++i) parent_ids[i] = git_commit_id(parents[i]);
    git_oid id;
    if (int rc = git_commit_create_from_ids(&id, repo_, nullptr, author, committer_.get(), nullptr,
                                            message.c_str(), &tree_id, n, parent_ids);
        rc < 0) {
      return GitFailure(rc, "writing commit");
    }
    current_ = id;
    return Ok();
  }

  git_repository* repo_;
  const BatchSpec& spec_;
  SignaturePtr committer_;
  std::unique_ptr<TreeStore> store_;  // the trees of this batch, read once
  git_oid current_{};
  BatchCommit out_;
};

Result<std::string> ResolveRevision(git_repository* repo, const std::string& rev) {
  git_object* raw = nullptr;
  if (int rc = git_revparse_single(&raw, repo, rev.c_str()); rc < 0) {
    return Error{ErrorCode::kInvalid, "unknown revision '" + rev + "'"};
  }
  ObjectPtr obj(raw);
  git_object* peeled = nullptr;
  if (int rc = git_object_peel(&peeled, obj.get(), GIT_OBJECT_COMMIT); rc < 0) {
    return Error{ErrorCode::kInvalid, "'" + rev + "' is not a commit"};
  }
  ObjectPtr commit(peeled);
  return OidString(*git_object_id(commit.get()));
}

}  // namespace

Result<BatchCommit> BuildBatchCommit(git_repository* repo, const BatchSpec& spec) {
  EnsureLibgit2();
  return Builder(repo, spec).Run();
}

Result<BatchCommit> BuildBatchAt(const std::string& repo_path, BatchSpec spec) {
  EnsureLibgit2();
  git_repository* raw = nullptr;
  if (int rc = git_repository_open_ext(&raw, repo_path.c_str(), 0, nullptr); rc < 0) {
    return Error{ErrorCode::kInvalid, "not a git repository: " + repo_path};
  }
  RepoPtr repo(raw);
  auto base = ResolveRevision(repo.get(), spec.base);
  if (!base) return base.error();
  spec.base = *base;
  for (BatchPart& part : spec.parts) {
    auto head = ResolveRevision(repo.get(), part.head);
    if (!head) return head.error();
    part.head = *head;
  }
  return BuildBatchCommit(repo.get(), spec);
}

}  // namespace mergeyard::git
