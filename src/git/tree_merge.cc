#include "git/tree_merge.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>

#include "git/git_error.h"
#include "git/handles.h"

namespace mergeyard::git {

namespace {

enum class Kind { kNone, kTree, kFile, kLink, kGitlink };

// One tree entry. `name` is NUL-terminated (it points into a libgit2 tree or
// a raw tree object, both of which end names with '\0').
struct Ent {
  std::string_view name;
  git_filemode_t mode;
  git_oid id;
};

Kind KindOf(const Ent* e) {
  if (e == nullptr) return Kind::kNone;
  switch (e->mode) {
    case GIT_FILEMODE_TREE: return Kind::kTree;
    case GIT_FILEMODE_LINK: return Kind::kLink;
    case GIT_FILEMODE_COMMIT: return Kind::kGitlink;
    default: return Kind::kFile;
  }
}

bool Same(const Ent* a, const Ent* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return a->mode == b->mode && git_oid_equal(&a->id, &b->id);
}

// git's tree order: bytewise, a tree's name compared as if it ended in '/'.
int GitOrder(std::string_view a, bool a_tree, std::string_view b, bool b_tree) {
  size_t n = std::min(a.size(), b.size());
  int c = std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c;
  unsigned char ca = a.size() > n ? static_cast<unsigned char>(a[n]) : (a_tree ? '/' : 0);
  unsigned char cb = b.size() > n ? static_cast<unsigned char>(b[n]) : (b_tree ? '/' : 0);
  return static_cast<int>(ca) - static_cast<int>(cb);
}

bool IsTreeMode(git_filemode_t m) { return m == GIT_FILEMODE_TREE; }

bool EntLess(const Ent& a, const Ent& b) {
  return GitOrder(a.name, IsTreeMode(a.mode), b.name, IsTreeMode(b.mode)) < 0;
}

// The mode as git writes it in a tree ("100644 ", "40000 "...).
std::string_view ModeText(git_filemode_t m) {
  switch (m) {
    case GIT_FILEMODE_TREE: return "40000 ";
    case GIT_FILEMODE_BLOB: return "100644 ";
    case GIT_FILEMODE_BLOB_EXECUTABLE: return "100755 ";
    case GIT_FILEMODE_LINK: return "120000 ";
    case GIT_FILEMODE_COMMIT: return "160000 ";
    default: return "100644 ";
  }
}

// Raw tree objects this thread wrote lately, by id. A batch merges into the
// tree it just wrote, so the next merge reads it from here instead of
// inflating and parsing it again (what dominates on large directories).
class RecentTrees {
 public:
  static constexpr size_t kMinSize = 16 << 10;  // small trees are cheap to re-read
  static constexpr size_t kKeep = 8;
  void Put(const git_oid& id, const std::string& raw) {
    if (raw.size() < kMinSize || Get(id) != nullptr) return;
    if (items_.size() == kKeep) items_.erase(items_.begin());
    items_.emplace_back(id, std::make_shared<const std::string>(raw));
  }
  std::shared_ptr<const std::string> Get(const git_oid& id) const {
    for (const auto& [k, v] : items_) {
      if (git_oid_equal(&k, &id)) return v;
    }
    return nullptr;
  }

 private:
  std::vector<std::pair<git_oid, std::shared_ptr<const std::string>>> items_;
};

thread_local RecentTrees recent_trees;

// A tree's entries in git order, from libgit2 or from a raw tree object.
class TreeView {
 public:
  TreeView() = default;
  const std::vector<Ent>& entries() const { return entries_; }

  const Ent* Find(std::string_view name) const {
    for (bool as_tree : {false, true}) {
      Ent key{name, as_tree ? GIT_FILEMODE_TREE : GIT_FILEMODE_BLOB, {}};
      auto it = std::lower_bound(entries_.begin(), entries_.end(), key, EntLess);
      if (it != entries_.end() && it->name == name) return &*it;
    }
    return nullptr;
  }

  static Result<TreeView> Load(git_repository* repo, const git_oid& id) {
    TreeView v;
    if (auto raw = recent_trees.Get(id)) {
      v.raw_ = std::move(raw);
      if (v.ParseRaw()) return v;
      v = TreeView();
    }
    git_tree* t = nullptr;
    if (int rc = git_tree_lookup(&t, repo, &id); rc < 0) {
      return GitFailure(rc, std::string("reading tree ") + git_oid_tostr_s(&id));
    }
    v.tree_.reset(t);
    size_t n = git_tree_entrycount(t);
    v.entries_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(t, i);
      v.entries_.push_back({git_tree_entry_name(e), git_tree_entry_filemode(e), *git_tree_entry_id(e)});
    }
    return v;
  }

 private:
  // "<octal mode> <name>\0<20-byte id>"...; false when malformed.
  bool ParseRaw() {
    const char* p = raw_->data();
    const char* end = p + raw_->size();
    while (p < end) {
      unsigned mode = 0;
      while (p < end && *p >= '0' && *p <= '7') mode = mode * 8 + static_cast<unsigned>(*p++ - '0');
      if (p == end || *p++ != ' ') return false;
      const char* name = p;
      while (p < end && *p != '\0') ++p;
      if (end - p < 1 + GIT_OID_RAWSZ) return false;
      Ent e{std::string_view(name, static_cast<size_t>(p - name)), static_cast<git_filemode_t>(mode), {}};
      std::memcpy(e.id.id, p + 1, GIT_OID_RAWSZ);
      entries_.push_back(e);
      p += 1 + GIT_OID_RAWSZ;
    }
    return true;
  }

  TreePtr tree_;
  std::shared_ptr<const std::string> raw_;
  std::vector<Ent> entries_;
};

// Names of entries that differ between a and b (either may be null).
void CollectChanges(const TreeView* a, const TreeView* b, std::vector<std::string_view>* out) {
  static const std::vector<Ent> kNone;
  const std::vector<Ent>& ea = a != nullptr ? a->entries() : kNone;
  const std::vector<Ent>& eb = b != nullptr ? b->entries() : kNone;
  size_t i = 0, j = 0;
  while (i < ea.size() || j < eb.size()) {
    int c = i == ea.size() ? 1 : j == eb.size() ? -1
          : GitOrder(ea[i].name, IsTreeMode(ea[i].mode), eb[j].name, IsTreeMode(eb[j].mode));
    if (c < 0) {
      out->push_back(ea[i++].name);
    } else if (c > 0) {
      out->push_back(eb[j++].name);
    } else {
      if (!Same(&ea[i], &eb[j])) out->push_back(ea[i].name);
      ++i;
      ++j;
    }
  }
}

Result<std::vector<std::string>> ConflictPaths(git_index* index) {
  std::set<std::string> paths;
  git_index_conflict_iterator* raw = nullptr;
  if (auto st = Check(git_index_conflict_iterator_new(&raw, index), "listing conflicts"); !st) {
    return st.error();
  }
  ConflictIterPtr it(raw);
  const git_index_entry *anc = nullptr, *ours = nullptr, *theirs = nullptr;
  int rc = 0;
  while ((rc = git_index_conflict_next(&anc, &ours, &theirs, it.get())) == 0) {
    // The path as it stands on our side is what a person sees; fall back to
    // theirs, then the ancestor (rename/delete shapes).
    const git_index_entry* named = ours != nullptr ? ours : theirs != nullptr ? theirs : anc;
    if (named != nullptr) paths.insert(named->path);
  }
  if (rc != GIT_ITEROVER) return GitFailure(rc, "listing conflicts");
  return std::vector<std::string>(paths.begin(), paths.end());
}

Result<TreeMergeResult> FromIndex(git_repository* repo, git_index* index) {
  TreeMergeResult r;
  r.full_merge = true;
  if (git_index_has_conflicts(index)) {
    auto paths = ConflictPaths(index);
    if (!paths) return paths.error();
    r.clean = false;
    r.conflicts = std::move(*paths);
    return r;
  }
  if (auto st = Check(git_index_write_tree_to(&r.tree, index, repo), "writing merged tree"); !st) {
    return st.error();
  }
  return r;
}

Result<TreePtr> LookupTree(git_repository* repo, const git_oid& id) {
  git_tree* raw = nullptr;
  if (int rc = git_tree_lookup(&raw, repo, &id); rc < 0) {
    return GitFailure(rc, std::string("reading tree ") + git_oid_tostr_s(&id));
  }
  return TreePtr(raw);
}

// The level-by-level merge. Conflicts accumulate in conflicts_; a shape that
// may hide a rename sets fallback_ and stops the walk.
class FastMerger {
 public:
  FastMerger(git_repository* repo, git_odb* odb) : repo_(repo), odb_(odb) {}

  bool fallback() const { return fallback_; }
  std::vector<std::string>& conflicts() { return conflicts_; }

  // Merges one level; *empty is set when the merged tree has no entries.
  Status Level(const TreeView* b, const TreeView* o, const TreeView* t, const std::string& prefix,
               git_oid* out, bool* empty) {
    std::vector<std::string_view> changed;
    CollectChanges(b, o, &changed);
    CollectChanges(b, t, &changed);
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    std::vector<Ent> results;
    for (std::string_view name : changed) {
      if (auto st = Decide(b, o, t, name, prefix, &results); !st) return st;
      if (fallback_) return Ok();
    }
    if (!conflicts_.empty()) return Ok();  // nothing will be written
    return Write(o, changed, std::move(results), out, empty);
  }

 private:
  static const Ent* Find(const TreeView* tree, std::string_view name) {
    return tree != nullptr ? tree->Find(name) : nullptr;
  }

  Status Decide(const TreeView* b, const TreeView* o, const TreeView* t, std::string_view name,
                const std::string& prefix, std::vector<Ent>* results) {
    const Ent* eb = Find(b, name);
    const Ent* eo = Find(o, name);
    const Ent* et = Find(t, name);
    auto keep = [&](const Ent* e) {
      if (e != nullptr) results->push_back({name, e->mode, e->id});
    };
    std::string path = prefix + std::string(name);
    if (Same(eo, et)) {
      if (eb != nullptr && eo == nullptr) fallback_ = true;  // both deleted: rename/rename?
      keep(eo);
      return Ok();
    }
    if (Same(eb, eo)) return keep(et), Ok();
    if (Same(eb, et)) return keep(eo), Ok();
    Kind kb = KindOf(eb), ko = KindOf(eo), kt = KindOf(et);
    if (eb != nullptr) {
      bool b_tree = kb == Kind::kTree;
      // A deletion or a change of kind against a change: maybe a rename.
      if (eo == nullptr || et == nullptr || (ko == Kind::kTree) != b_tree ||
          (kt == Kind::kTree) != b_tree) {
        fallback_ = true;
        return Ok();
      }
    }
    if (ko == Kind::kTree && kt == Kind::kTree) return Subtree(eb, eo, et, name, path, results);
    if (kb == Kind::kFile && ko == Kind::kFile && kt == Kind::kFile) {
      return File(eb, eo, et, name, path, results);
    }
    conflicts_.push_back(path);  // add/add, symlinks, submodules, file/directory
    return Ok();
  }

  Status Subtree(const Ent* eb, const Ent* eo, const Ent* et, std::string_view name,
                 const std::string& path, std::vector<Ent>* results) {
    TreeView bt;
    if (eb != nullptr) {
      auto r = TreeView::Load(repo_, eb->id);
      if (!r) return r.error();
      bt = std::move(*r);
    }
    auto ot = TreeView::Load(repo_, eo->id);
    if (!ot) return ot.error();
    auto tt = TreeView::Load(repo_, et->id);
    if (!tt) return tt.error();
    git_oid id{};
    bool empty = false;
    if (auto st = Level(eb != nullptr ? &bt : nullptr, &*ot, &*tt, path + "/", &id, &empty); !st) {
      return st;
    }
    if (!fallback_ && conflicts_.empty() && !empty) {
      results->push_back({name, GIT_FILEMODE_TREE, id});
    }
    return Ok();
  }

  Status File(const Ent* eb, const Ent* eo, const Ent* et, std::string_view name,
              const std::string& path, std::vector<Ent>* results) {
    git_filemode_t mb = eb->mode, mo = eo->mode, mt = et->mode;
    git_filemode_t mode = mo == mt ? mo : mb == mo ? mt : mb == mt ? mo : GIT_FILEMODE_UNREADABLE;
    if (mode == GIT_FILEMODE_UNREADABLE) {
      conflicts_.push_back(path);  // both changed the mode, differently
      return Ok();
    }
    const git_oid *ib = &eb->id, *io = &eo->id, *it = &et->id;
    git_oid id{};
    if (git_oid_equal(io, it) || git_oid_equal(ib, it)) {
      id = *io;
    } else if (git_oid_equal(ib, io)) {
      id = *it;
    } else {
      bool clean = false;
      if (auto st = ContentMerge(*ib, *io, *it, path, mode, &clean, &id); !st) return st;
      if (!clean) {
        conflicts_.push_back(path);
        return Ok();
      }
    }
    results->push_back({name, mode, id});
    return Ok();
  }

  Status ContentMerge(const git_oid& b, const git_oid& o, const git_oid& t, const std::string& path,
                      git_filemode_t mode, bool* clean, git_oid* out) {
    BlobPtr blobs[3];
    const git_oid* ids[3] = {&b, &o, &t};
    git_merge_file_input in[3];
    for (int i = 0; i < 3; ++i) {
      git_blob* raw = nullptr;
      if (int rc = git_blob_lookup(&raw, repo_, ids[i]); rc < 0) {
        return GitFailure(rc, "reading blob of " + path);
      }
      blobs[i].reset(raw);
      git_merge_file_input_init(&in[i], GIT_MERGE_FILE_INPUT_VERSION);
      in[i].ptr = static_cast<const char*>(git_blob_rawcontent(raw));
      in[i].size = static_cast<size_t>(git_blob_rawsize(raw));
      in[i].path = path.c_str();
      in[i].mode = mode;
    }
    MergeFileResultGuard res;
    git_merge_file_options opts = GIT_MERGE_FILE_OPTIONS_INIT;
    if (int rc = git_merge_file(&res.result, &in[0], &in[1], &in[2], &opts); rc < 0) {
      return GitFailure(rc, "merging " + path);
    }
    *clean = res.result.automergeable != 0;
    if (!*clean) return Ok();
    return Check(git_odb_write(out, odb_, res.result.ptr, res.result.len, GIT_OBJECT_BLOB),
                 "writing merged " + path);
  }

  // Writes ours with the changed names replaced by `results`, streaming the
  // two sorted sequences straight into the object's bytes.
  Status Write(const TreeView* o, const std::vector<std::string_view>& changed,
               std::vector<Ent> results, git_oid* out, bool* empty) {
    std::sort(results.begin(), results.end(), EntLess);
    thread_local std::string buf;  // reused: large trees are written often
    buf.clear();
    auto append = [](const Ent& e) {
      buf.append(ModeText(e.mode));
      buf.append(e.name.data(), e.name.size());
      buf.push_back('\0');
      buf.append(reinterpret_cast<const char*>(e.id.id), GIT_OID_RAWSZ);
    };
    size_t next = 0;  // into results
    size_t count = 0;
    if (o != nullptr) {
      for (const Ent& e : o->entries()) {
        while (next < results.size() && EntLess(results[next], e)) {
          append(results[next++]);
          ++count;
        }
        if (std::binary_search(changed.begin(), changed.end(), e.name)) continue;
        append(e);
        ++count;
      }
    }
    for (; next < results.size(); ++next, ++count) append(results[next]);
    *empty = count == 0;
    if (auto st = Check(git_odb_write(out, odb_, buf.data(), buf.size(), GIT_OBJECT_TREE),
                        "writing merged tree");
        !st) {
      return st;
    }
    recent_trees.Put(*out, buf);
    return Ok();
  }

  git_repository* repo_;
  git_odb* odb_;
  bool fallback_ = false;
  std::vector<std::string> conflicts_;
};

Result<TreeMergeResult> FastMerge(git_repository* repo, const git_oid* base, const git_oid& ours,
                                  const git_oid& theirs, bool* fallback) {
  git_odb* odb_raw = nullptr;
  if (int rc = git_repository_odb(&odb_raw, repo); rc < 0) {
    return GitFailure(rc, "opening object database");
  }
  OdbPtr odb(odb_raw);
  TreeView bt;
  if (base != nullptr) {
    auto r = TreeView::Load(repo, *base);
    if (!r) return r.error();
    bt = std::move(*r);
  }
  auto ot = TreeView::Load(repo, ours);
  if (!ot) return ot.error();
  auto tt = TreeView::Load(repo, theirs);
  if (!tt) return tt.error();
  FastMerger m(repo, odb.get());
  TreeMergeResult r;
  bool empty = false;
  if (auto st = m.Level(base != nullptr ? &bt : nullptr, &*ot, &*tt, "", &r.tree, &empty); !st) {
    return st.error();
  }
  *fallback = m.fallback();
  if (!m.conflicts().empty()) {
    r.clean = false;
    r.conflicts = std::move(m.conflicts());
    std::sort(r.conflicts.begin(), r.conflicts.end());
  }
  return r;
}

}  // namespace

Result<TreeMergeResult> FullMergeTrees(git_repository* repo, const git_oid* base,
                                       const git_oid& ours, const git_oid& theirs) {
  TreePtr bt;
  if (base != nullptr) {
    auto r = LookupTree(repo, *base);
    if (!r) return r.error();
    bt = std::move(*r);
  }
  auto ot = LookupTree(repo, ours);
  if (!ot) return ot.error();
  auto tt = LookupTree(repo, theirs);
  if (!tt) return tt.error();
  git_merge_options opts = GIT_MERGE_OPTIONS_INIT;
  git_index* raw = nullptr;
  if (int rc = git_merge_trees(&raw, repo, bt.get(), ot->get(), tt->get(), &opts); rc < 0) {
    return GitFailure(rc, "merging trees");
  }
  IndexPtr index(raw);
  return FromIndex(repo, index.get());
}

Result<TreeMergeResult> MergeTrees(git_repository* repo, const git_oid* base, const git_oid& ours,
                                   const git_oid& theirs) {
  TreeMergeResult r;
  if (git_oid_equal(&ours, &theirs) || (base != nullptr && git_oid_equal(base, &theirs))) {
    r.tree = ours;
    return r;
  }
  if (base != nullptr && git_oid_equal(base, &ours)) {
    r.tree = theirs;
    return r;
  }
  bool fallback = false;
  auto fast = FastMerge(repo, base, ours, theirs, &fallback);
  if (!fast || !fallback) return fast;
  return FullMergeTrees(repo, base, ours, theirs);
}

Result<TreeMergeResult> MergeCommits(git_repository* repo, const git_oid& ours,
                                     const git_oid& theirs) {
  git_commit *oc = nullptr, *tc = nullptr;
  if (int rc = git_commit_lookup(&oc, repo, &ours); rc < 0) {
    return GitFailure(rc, std::string("reading commit ") + git_oid_tostr_s(&ours));
  }
  CommitPtr our_commit(oc);
  if (int rc = git_commit_lookup(&tc, repo, &theirs); rc < 0) {
    return GitFailure(rc, std::string("reading commit ") + git_oid_tostr_s(&theirs));
  }
  CommitPtr their_commit(tc);
  OidArrayGuard bases;
  int rc = git_merge_bases(&bases.arr, repo, &ours, &theirs);
  if (rc < 0 && rc != GIT_ENOTFOUND) return GitFailure(rc, "finding the merge base");
  if (rc == GIT_ENOTFOUND || bases.arr.count == 1) {
    git_oid base_tree{};
    const git_oid* base_ptr = nullptr;
    if (rc != GIT_ENOTFOUND) {
      git_commit* bc = nullptr;
      if (int brc = git_commit_lookup(&bc, repo, &bases.arr.ids[0]); brc < 0) {
        return GitFailure(brc, "reading the merge base");
      }
      CommitPtr base_commit(bc);
      base_tree = *git_commit_tree_id(base_commit.get());
      base_ptr = &base_tree;
    }
    return MergeTrees(repo, base_ptr, *git_commit_tree_id(our_commit.get()),
                      *git_commit_tree_id(their_commit.get()));
  }
  // Criss-cross: libgit2's recursive merge builds the virtual base.
  git_merge_options opts = GIT_MERGE_OPTIONS_INIT;
  git_index* raw = nullptr;
  if (int mrc = git_merge_commits(&raw, repo, our_commit.get(), their_commit.get(), &opts);
      mrc < 0) {
    return GitFailure(mrc, "merging commits");
  }
  IndexPtr index(raw);
  return FromIndex(repo, index.get());
}

}  // namespace mergeyard::git
