#pragma once
// Helpers for git tests: temp directories and real repositories made with
// the git CLI (the reference implementation; used in tests only).

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace mergeyard::git::testing {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mergeyard-git-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

struct ShResult {
  int status = 0;
  std::string out;
};

// Runs `cmd` with sh, capturing stdout (stderr goes to the test's stderr).
inline ShResult ShAny(const std::string& cmd) {
  ShResult r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Runs `cmd`, requires exit 0, returns stdout without the trailing newline.
inline std::string Sh(const std::string& cmd) {
  ShResult r = ShAny(cmd);
  INFO("command: " << cmd);
  REQUIRE(r.status == 0);
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Fixed identities and no user configuration, so runs are reproducible.
inline void IsolateGitEnvironment() {
  static bool done = false;
  if (done) return;
  done = true;
  setenv("GIT_AUTHOR_NAME", "Alice Author", 1);
  setenv("GIT_AUTHOR_EMAIL", "alice@example.com", 1);
  setenv("GIT_COMMITTER_NAME", "Carol Committer", 1);
  setenv("GIT_COMMITTER_EMAIL", "carol@example.com", 1);
  setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
  setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
  // Fewer brk() calls in the many short git processes (costly on some VMs).
  setenv("MALLOC_TOP_PAD_", "16777216", 0);
}

// A non-bare repository in a temp dir, driven by the git CLI.
class Repo {
 public:
  Repo() {
    IsolateGitEnvironment();
    Git("init -q -b main");
  }
  const std::string& path() const { return dir_.path(); }
  std::string Git(const std::string& args) const { return Sh("git -C " + Quote(path()) + " " + args); }
  ShResult GitAny(const std::string& args) const {
    return ShAny("git -C " + Quote(path()) + " " + args);
  }
  void Write(const std::string& rel, const std::string& content) const {
    std::filesystem::path p = std::filesystem::path(path()) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }
  // Stages everything and commits; returns the new commit id.
  std::string Commit(const std::string& message) const {
    Git("add -A");
    Git("commit -q --allow-empty -m " + Quote(message));
    return Git("rev-parse HEAD");
  }
  // Creates (or moves) `branch` to a new commit on `from` with these files
  // written and removed, in one git process (fast-import) and without
  // touching the work tree. Returns the commit id.
  std::string BranchCommit(const std::string& branch, const std::string& from,
                           const std::vector<std::pair<std::string, std::string>>& writes,
                           const std::vector<std::string>& removes = {},
                           const std::string& message = "change") const {
    std::string stream = "commit refs/heads/" + branch + "\nmark :1\n";
    stream += "committer Carol Committer <carol@example.com> 1700000000 +0000\n";
    stream += "data " + std::to_string(message.size()) + "\n" + message + "\n";
    stream += "from " + from + "^0\n";
    for (const auto& p : removes) stream += "D " + p + "\n";
    for (const auto& [p, c] : writes) {
      stream += "M 100644 inline " + p + "\ndata " + std::to_string(c.size()) + "\n" + c + "\n";
    }
    stream += "\n";
    std::string file = path() + "/.git/mergeyard-test-stream";
    std::string marks = path() + "/.git/mergeyard-test-marks";
    std::ofstream(file, std::ios::binary) << stream;
    Git("fast-import --quiet --force --export-marks=" + Quote(marks) + " < " + Quote(file));
    std::ifstream in(marks);
    std::string mark, sha;
    in >> mark >> sha;
    REQUIRE(sha.size() == 40);
    return sha;
  }
  void Checkout(const std::string& branch, const std::string& from = "") const {
    Git("checkout -q " + (from.empty() ? branch : "-b " + branch + " " + from));
  }

 private:
  TempDir dir_;
};

// "line 1\n" ... "line n\n", with some lines replaced.
inline std::string Lines(int n, const std::vector<std::pair<int, std::string>>& changes = {}) {
  std::string s;
  for (int i = 1; i <= n; ++i) {
    std::string line = "line " + std::to_string(i);
    for (const auto& [at, text] : changes) {
      if (at == i) line = text;
    }
    s += line + "\n";
  }
  return s;
}

// What git itself builds for base + each ref merged in order with
// `git merge-tree --write-tree` (merge commits made with commit-tree).
struct GitReference {
  std::string tree;
  std::vector<std::string> merged;
  std::vector<std::pair<std::string, std::set<std::string>>> conflicts;
};

inline GitReference ReferenceMerge(const Repo& repo, const std::string& base,
                                   const std::vector<std::string>& refs) {
  GitReference ref;
  std::string cur = repo.Git("rev-parse " + base);
  for (const std::string& r : refs) {
    ShResult m = repo.GitAny("merge-tree --write-tree --name-only " + cur + " " + r);
    REQUIRE((m.status == 0 || m.status == 1));
    std::istringstream lines(m.out);
    std::string tree, line;
    std::getline(lines, tree);
    if (m.status == 0) {
      cur = repo.Git("commit-tree " + tree + " -p " + cur + " -p " + r + " -m merge");
      ref.merged.push_back(r);
      continue;
    }
    std::set<std::string> paths;
    while (std::getline(lines, line) && !line.empty()) paths.insert(line);
    ref.conflicts.emplace_back(r, paths);
  }
  ref.tree = repo.Git("rev-parse " + cur + "^{tree}");
  return ref;
}

}  // namespace mergeyard::git::testing
