// Times one batch of pull requests merged onto a base four ways, and checks
// they all build the same tree:
//   mergeyard  BuildBatchCommit in process (the fast tree-by-tree merge)
//   cli        `mergeyard merge-batch` as a process (when --mergeyard is given)
//   merge-tree `git merge-tree --write-tree`, one process per merge
//   libgit2    stock git_merge_commits + git_index_write_tree_to per merge
// Usage: git_merge_bench REPO BASE REF... [--runs N] [--mergeyard BIN] [--label L] [--fresh]
// Prints one table row (ms, median of N runs).
//
// By default every run merges in REPO itself, so from the second run on the
// merged trees are already there and no contender pays for writing them.
// --fresh gives each contender, in each run, a copy of REPO made beforehand
// (not timed), so every merged object is new, as in service.

#include <git2.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "git/batch_builder.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double TimeMs(const std::function<void()>& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string Run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  if (status != nullptr) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!out.empty() && (out.back() == '\n')) out.pop_back();
  return out;
}

void Die(const std::string& what) {
  std::fprintf(stderr, "git_merge_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string Oid(const git_oid* id) { return git_oid_tostr_s(id); }

struct Args {
  std::string repo, base, mergeyard, label;
  std::vector<std::string> refs;
  int runs = 5;
  bool only_mergeyard = false;  // --only-mergeyard: for profiling
  bool fresh = false;
};

// The repository a contender works in: REPO, or with --fresh a new copy of it.
std::string Workspace(const Args& a) {
  if (!a.fresh) return a.repo;
  std::string copy = a.repo + ".fresh";
  int status = 0;
  // sync: the copy's writeback must not land in the next contender's time.
  Run("rm -rf '" + copy + "' && cp -a '" + a.repo + "' '" + copy + "' && sync", &status);
  if (status != 0) Die("cannot copy " + a.repo);
  return copy;
}

// Stock libgit2: whole-index merges, one per pull request, merge commits chained.
std::string StockLibgit2(git_repository* repo, const Args& a) {
  git_object* obj = nullptr;
  if (git_revparse_single(&obj, repo, (a.base + "^{commit}").c_str()) < 0) Die("bad base");
  git_commit* cur = reinterpret_cast<git_commit*>(obj);
  git_signature* sig = nullptr;
  git_signature_new(&sig, "bench", "bench@example.com", 1700000000, 0);
  std::string tree_id;
  for (const auto& ref : a.refs) {
    git_object* o = nullptr;
    if (git_revparse_single(&o, repo, (ref + "^{commit}").c_str()) < 0) Die("bad ref " + ref);
    git_commit* theirs = reinterpret_cast<git_commit*>(o);
    git_merge_options opts = GIT_MERGE_OPTIONS_INIT;
    git_index* index = nullptr;
    if (git_merge_commits(&index, repo, cur, theirs, &opts) < 0) Die("git_merge_commits failed");
    if (git_index_has_conflicts(index)) {
      git_index_free(index);
      git_commit_free(theirs);
      continue;
    }
    git_oid tid, cid;
    git_index_write_tree_to(&tid, index, repo);
    git_index_free(index);
    git_tree* tree = nullptr;
    git_tree_lookup(&tree, repo, &tid);
    const git_commit* parents[] = {cur, theirs};
    git_commit_create(&cid, repo, nullptr, sig, sig, nullptr, "merge", tree, 2, parents);
    git_tree_free(tree);
    git_commit_free(theirs);
    git_commit_free(cur);
    git_commit_lookup(&cur, repo, &cid);
    tree_id = Oid(&tid);
  }
  git_commit_free(cur);
  git_signature_free(sig);
  return tree_id;
}

// git merge-tree, one process per merge; commit-tree (untimed) chains them.
std::string MergeTreeChain(const Args& a, const std::string& repo, double* ms) {
  std::string git = "git -C '" + repo + "' ";
  std::string cur = Run(git + "rev-parse " + a.base);
  std::string tree;
  *ms = 0;
  for (const auto& ref : a.refs) {
    int status = 0;
    std::string out;
    *ms += TimeMs([&] { out = Run(git + "merge-tree --write-tree " + cur + " " + ref, &status); });
    if (status != 0) continue;
    tree = out.substr(0, out.find('\n'));
    cur = Run(git + "commit-tree " + tree + " -p " + cur + " -p " + ref + " -m merge");
  }
  return tree;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--runs" && i + 1 < argc) a.runs = std::atoi(argv[++i]);
    else if (s == "--mergeyard" && i + 1 < argc) a.mergeyard = argv[++i];
    else if (s == "--label" && i + 1 < argc) a.label = argv[++i];
    else if (s == "--only-mergeyard") a.only_mergeyard = true;
    else if (s == "--fresh") a.fresh = true;
    else pos.push_back(s);
  }
  if (pos.size() < 3) Die("usage: git_merge_bench REPO BASE REF... [--runs N] [--mergeyard BIN]");
  a.repo = pos[0];
  a.base = pos[1];
  a.refs.assign(pos.begin() + 2, pos.end());
  git_libgit2_init();
  // Fresh copies start from REPO without the results of earlier runs
  // (merge commits are unreachable: no run moves a ref).
  if (a.fresh) Run("git -C '" + a.repo + "' prune --expire=now");

  std::vector<double> fast, cli, mtree, stock;
  std::string fast_tree, cli_tree, mtree_tree, stock_tree;
  int full_merges = 0;
  for (int r = 0; r < a.runs; ++r) {
    mergeyard::git::BatchSpec spec;
    spec.base = a.base;
    for (const auto& ref : a.refs) spec.parts.push_back({ref, 0, ref});
    spec.now = (1700000000LL + r) * 1000;  // new commits each run, as in service
    std::string repo_path = Workspace(a);
    fast.push_back(TimeMs([&] {
      auto b = mergeyard::git::BuildBatchAt(repo_path, spec);
      if (!b) Die(b.error().ToString());
      fast_tree = b->tree;
      full_merges = b->full_merges;
    }));
    if (a.only_mergeyard) continue;
    if (!a.mergeyard.empty()) {
      std::string cmd = "'" + a.mergeyard + "' merge-batch --json --repo '" + Workspace(a) + "' --base " + a.base;
      for (const auto& ref : a.refs) cmd += " " + ref;
      std::string out;
      cli.push_back(TimeMs([&] { out = Run(cmd); }));
      auto at = out.find("\"tree\": \"");
      if (at != std::string::npos) cli_tree = out.substr(at + 9, 40);
    }
    double ms = 0;
    mtree_tree = MergeTreeChain(a, Workspace(a), &ms);
    mtree.push_back(ms);
    std::string stock_path = Workspace(a);
    git_repository* repo = nullptr;
    if (git_repository_open(&repo, stock_path.c_str()) < 0) Die("cannot open " + stock_path);
    stock.push_back(TimeMs([&] { stock_tree = StockLibgit2(repo, a); }));
    git_repository_free(repo);
  }
  if (a.fresh) Run("rm -rf '" + a.repo + ".fresh'");
  if (a.only_mergeyard) {
    std::printf("mergeyard: %.1f ms (median of %d)\n", Median(fast), a.runs);
    return 0;
  }
  bool same = fast_tree == mtree_tree && fast_tree == stock_tree &&
              (a.mergeyard.empty() || cli_tree == fast_tree);
  double f = Median(fast), m = Median(mtree), s = Median(stock);
  std::printf("| %-12s | %9.1f | %7s | %10.1f | %10.1f | %6.1fx | %6.1fx | %d | %s |\n",
              a.label.c_str(), f,
              cli.empty() ? "n/a" : std::to_string(static_cast<int>(Median(cli) + 0.5)).c_str(), m,
              s, m / f, s / f, full_merges, same ? "yes" : "NO");
  return same ? 0 : 2;
}
