#include "git/tree_merge.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>
#include <unordered_map>

#include "git/git_error.h"
#include "git/handles.h"
#include "git/tree_store.h"

namespace mergeyard::git {

namespace {

enum class Kind { kNone, kTree, kFile, kLink, kGitlink };

using Ent = TreeEntry;

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

bool IsTree(const Ent& e) { return e.mode == GIT_FILEMODE_TREE; }

// git's tree order: bytewise, a tree's name compared as if it ended in '/'.
int GitOrder(const Ent& a, const Ent& b) {
  size_t n = std::min(a.name.size(), b.name.size());
  int c = std::memcmp(a.name.data(), b.name.data(), n);
  if (c != 0) return c;
  unsigned char ca = a.name.size() > n ? static_cast<unsigned char>(a.name[n]) : (IsTree(a) ? '/' : 0);
  unsigned char cb = b.name.size() > n ? static_cast<unsigned char>(b.name[n]) : (IsTree(b) ? '/' : 0);
  return static_cast<int>(ca) - static_cast<int>(cb);
}

// How many leading bytes of a and b (n bytes each) are equal.
size_t CommonPrefix(const char* a, const char* b, size_t n) {
  constexpr size_t kBlock = 256;
  size_t i = 0;
  while (n - i >= kBlock && std::memcmp(a + i, b + i, kBlock) == 0) i += kBlock;
  if constexpr (std::endian::native == std::endian::little) {
    while (n - i >= 8) {
      uint64_t x, y;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return i + static_cast<size_t>(std::countr_zero(x ^ y) / 8);
      i += 8;
    }
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Where base and another tree stop being byte-equal, scanning from ib in
// base and ix in the other: remembered per shift (ix - ib), so a scan that
// ran far ahead is not repeated after each change on the other side.
struct Scan {
  bool valid = false;
  ptrdiff_t shift = 0;
  size_t until = 0;  // in base

  size_t Common(std::string_view base, size_t ib, std::string_view other, size_t ix) {
    ptrdiff_t s = static_cast<ptrdiff_t>(ix) - static_cast<ptrdiff_t>(ib);
    if (valid && s == shift && ib <= until) return until - ib;
    size_t n = std::min(base.size() - ib, other.size() - ix);
    size_t l = CommonPrefix(base.data() + ib, other.data() + ix, n);
    *this = {true, s, ib + l};
    return l;
  }
};

// A name (in git order) whose entries are not the same on all three sides.
struct Change {
  Ent side[3];              // base, ours, theirs
  bool has[3] = {};
  bool tree_key = false;    // the name is ordered as a directory
  size_t ours_at = 0;       // where ours has (or would have) this entry
  size_t partner = SIZE_MAX;  // the same name ordered as the other kind
  bool has_result = false;
  Ent result;

  std::string_view name() const { return has[0] ? side[0].name : has[1] ? side[1].name : side[2].name; }
};

Error Malformed(const std::string& prefix) {
  return Internal("malformed tree object at '" + (prefix.empty() ? std::string("/") : prefix) + "'");
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
//
// A level streams over the raw bytes of the three trees at once: runs of
// entries that are byte-equal on all three sides are skipped with memcmp
// (found with base's entry offsets), and only the entries around a change
// are parsed. The merged tree is ours' bytes with the changed entries
// replaced, so a 50,000-entry directory with a few changes costs a few
// memcmp/memcpy passes, not 50,000 parsed and re-serialised entries.
class FastMerger {
 public:
  FastMerger(git_repository* repo, TreeStore* store) : repo_(repo), store_(store) {}

  bool fallback() const { return fallback_; }
  std::vector<std::string>& conflicts() { return conflicts_; }

  // Merges one level; *empty is set when the merged tree has no entries.
  Status Level(const RawTree* b, const RawTree& o, const RawTree& t, const std::string& prefix,
               git_oid* out, bool* empty) {
    std::vector<Change> changes;
    bool ours_canonical = true;
    if (auto st = Collect(b, o, t, prefix, &changes, &ours_canonical); !st) return st;
    if (auto st = DecideAll(&changes, prefix); !st || fallback_) return st;
    if (!conflicts_.empty()) return Ok();  // nothing will be written
    return Write(o, changes, ours_canonical, out, empty);
  }

 private:
  // The names whose entries differ between the three trees, in git order.
  Status Collect(const RawTree* b, const RawTree& o, const RawTree& t, const std::string& prefix,
                 std::vector<Change>* changes, bool* ours_canonical) {
    std::string_view bb = b != nullptr ? b->bytes() : std::string_view();
    std::string_view ob = o.bytes(), tb = t.bytes();
    if (b != nullptr && !b->Index()) return Malformed(prefix);
    size_t ib = 0, io = 0, it = 0;
    Scan scan_o, scan_t;
    bool skipped = false;
    while (true) {
      if (b != nullptr && ib < bb.size() && io < ob.size() && it < tb.size()) {
        size_t l = std::min(scan_o.Common(bb, ib, ob, io), scan_t.Common(bb, ib, tb, it));
        // Whole base entries in [ib, ib + l) are the same on all sides.
        const std::vector<size_t>& starts = b->starts();
        size_t to = *(std::upper_bound(starts.begin(), starts.end(), ib + l) - 1);
        if (to > ib) {
          io += to - ib;
          it += to - ib;
          ib = to;
          skipped = true;
        }
      }
      Ent e[3];
      bool at[3] = {ib < bb.size(), io < ob.size(), it < tb.size()};
      if (!at[0] && !at[1] && !at[2]) break;
      if ((at[0] && !ParseTreeEntry(bb.substr(ib), &e[0])) ||
          (at[1] && !ParseTreeEntry(ob.substr(io), &e[1])) ||
          (at[2] && !ParseTreeEntry(tb.substr(it), &e[2]))) {
        return Malformed(prefix);
      }
      int first = -1;
      for (int s = 0; s < 3; ++s) {
        if (at[s] && (first < 0 || GitOrder(e[s], e[first]) < 0)) first = s;
      }
      Change c;
      for (int s = 0; s < 3; ++s) {
        c.has[s] = at[s] && GitOrder(e[s], e[first]) == 0;
        if (c.has[s]) c.side[s] = e[s];
      }
      if (c.has[1] && !e[1].canonical) *ours_canonical = false;
      c.tree_key = IsTree(e[first]);
      c.ours_at = io;
      if (c.has[0]) ib += e[0].size;
      if (c.has[1]) io += e[1].size;
      if (c.has[2]) it += e[2].size;
      if (c.has[0] && c.has[1] && c.has[2] && Same(&c.side[0], &c.side[1]) &&
          Same(&c.side[0], &c.side[2])) {
        continue;  // the same entry, spelled differently
      }
      changes->push_back(c);
    }
    if (skipped && !b->canonical()) *ours_canonical = false;
    return Ok();
  }

  // Decides each changed name. A name that is a file on one side and a
  // directory on another comes as two changes (git orders them apart); they
  // are decided together, as one path.
  Status DecideAll(std::vector<Change>* changes, const std::string& prefix) {
    std::vector<Change>& cs = *changes;
    bool mixed = false;
    for (size_t i = 1; i < cs.size() && !mixed; ++i) mixed = cs[i].tree_key != cs[0].tree_key;
    if (mixed) {
      std::unordered_map<std::string_view, size_t> by_name;
      for (size_t i = 0; i < cs.size(); ++i) {
        auto [at, added] = by_name.emplace(cs[i].name(), i);
        if (added) continue;
        // A name twice as one kind, or thrice: not a valid tree.
        if (cs[at->second].partner != SIZE_MAX || cs[at->second].tree_key == cs[i].tree_key) {
          fallback_ = true;
          return Ok();
        }
        cs[at->second].partner = i;
        cs[i].partner = at->second;
      }
    }
    for (size_t i = 0; i < cs.size(); ++i) {
      if (cs[i].partner < i) continue;  // decided with its partner
      Change* one = &cs[i];
      Change* two = one->partner != SIZE_MAX ? &cs[one->partner] : nullptr;
      const Ent* side[3];
      for (int s = 0; s < 3; ++s) {
        const Ent* a = one->has[s] ? &one->side[s] : nullptr;
        const Ent* b = two != nullptr && two->has[s] ? &two->side[s] : nullptr;
        if (a != nullptr && b != nullptr) {  // a file and a directory of one name
          fallback_ = true;
          return Ok();
        }
        side[s] = a != nullptr ? a : b;
      }
      Ent result;
      bool has_result = false;
      if (auto st = Decide(side[0], side[1], side[2], one->name(), prefix, &result, &has_result); !st) {
        return st;
      }
      if (fallback_) return Ok();
      if (has_result) {
        Change* home = IsTree(result) == one->tree_key ? one : two;
        if (home == nullptr || IsTree(result) != home->tree_key) {
          fallback_ = true;
          return Ok();
        }
        home->result = result;
        home->has_result = true;
      }
    }
    return Ok();
  }

  Status Decide(const Ent* eb, const Ent* eo, const Ent* et, std::string_view name,
                const std::string& prefix, Ent* result, bool* has_result) {
    auto keep = [&](const Ent* e) {
      if (e != nullptr) {
        *result = *e;
        *has_result = true;
      }
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
    if (ko == Kind::kTree && kt == Kind::kTree) return Subtree(eb, eo, et, name, path, result, has_result);
    if (kb == Kind::kFile && ko == Kind::kFile && kt == Kind::kFile) {
      return File(eb, eo, et, name, path, result, has_result);
    }
    conflicts_.push_back(path);  // add/add, symlinks, submodules, file/directory
    return Ok();
  }

  Status Subtree(const Ent* eb, const Ent* eo, const Ent* et, std::string_view name,
                 const std::string& path, Ent* result, bool* has_result) {
    RawTreePtr bt;
    if (eb != nullptr) {
      auto r = store_->Read(eb->id);
      if (!r) return r.error();
      bt = std::move(*r);
    }
    auto ot = store_->Read(eo->id);
    if (!ot) return ot.error();
    auto tt = store_->Read(et->id);
    if (!tt) return tt.error();
    git_oid id{};
    bool empty = false;
    if (auto st = Level(bt.get(), **ot, **tt, path + "/", &id, &empty); !st) return st;
    if (!fallback_ && conflicts_.empty() && !empty) {
      *result = Ent{name, GIT_FILEMODE_TREE, id, 0, true};
      *has_result = true;
    }
    return Ok();
  }

  Status File(const Ent* eb, const Ent* eo, const Ent* et, std::string_view name,
              const std::string& path, Ent* result, bool* has_result) {
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
    *result = Ent{name, mode, id, 0, true};
    *has_result = true;
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
    return Check(git_odb_write(out, store_->odb(), res.result.ptr, res.result.len, GIT_OBJECT_BLOB),
                 "writing merged " + path);
  }

  // Writes ours with the changed entries replaced by the decisions: the
  // unchanged runs of ours are copied as they are (entry by entry, respelt,
  // if ours has modes git would write differently).
  Status Write(const RawTree& o, const std::vector<Change>& changes, bool ours_canonical,
               git_oid* out, bool* empty) {
    std::string_view ob = o.bytes();
    std::string buf;
    buf.reserve(ob.size() + 64 * changes.size());
    auto copy = [&](size_t from, size_t to) {
      if (ours_canonical) {
        buf.append(ob.substr(from, to - from));
        return;
      }
      Ent e;
      for (; from < to && ParseTreeEntry(ob.substr(from), &e); from += e.size) {
        AppendTreeEntry(&buf, e.name, e.mode, e.id);
      }
    };
    size_t pos = 0;
    for (const Change& c : changes) {
      copy(pos, c.ours_at);
      if (c.has_result) AppendTreeEntry(&buf, c.result.name, c.result.mode, c.result.id);
      pos = c.ours_at + (c.has[1] ? c.side[1].size : 0);
    }
    copy(pos, ob.size());
    *empty = buf.empty();
    auto id = store_->Write(std::move(buf));
    if (!id) return id.error();
    *out = *id;
    return Ok();
  }

  git_repository* repo_;
  TreeStore* store_;
  bool fallback_ = false;
  std::vector<std::string> conflicts_;
};

Result<TreeMergeResult> FastMerge(git_repository* repo, TreeStore* store, const git_oid* base,
                                  const git_oid& ours, const git_oid& theirs, bool* fallback) {
  RawTreePtr bt;
  if (base != nullptr) {
    auto r = store->Read(*base);
    if (!r) return r.error();
    bt = std::move(*r);
  }
  auto ot = store->Read(ours);
  if (!ot) return ot.error();
  auto tt = store->Read(theirs);
  if (!tt) return tt.error();
  FastMerger m(repo, store);
  TreeMergeResult r;
  bool empty = false;
  if (auto st = m.Level(bt.get(), **ot, **tt, "", &r.tree, &empty); !st) return st.error();
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
                                   const git_oid& theirs, TreeStore* store) {
  TreeMergeResult r;
  if (git_oid_equal(&ours, &theirs) || (base != nullptr && git_oid_equal(base, &theirs))) {
    r.tree = ours;
    return r;
  }
  if (base != nullptr && git_oid_equal(base, &ours)) {
    r.tree = theirs;
    return r;
  }
  std::unique_ptr<TreeStore> own;
  if (store == nullptr) {
    auto opened = TreeStore::Open(repo);
    if (!opened) return opened.error();
    own = std::move(*opened);
    store = own.get();
  }
  bool fallback = false;
  auto fast = FastMerge(repo, store, base, ours, theirs, &fallback);
  if (!fast || !fallback) return fast;
  return FullMergeTrees(repo, base, ours, theirs);
}

Result<TreeMergeResult> MergeCommits(git_repository* repo, const git_oid& ours,
                                     const git_oid& theirs, TreeStore* store) {
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
                      *git_commit_tree_id(their_commit.get()), store);
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
