#pragma once
// Helpers for the exec integration tests: temp directories, a git repository
// with a bare mirror, waiting with a deadline.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

namespace mergeyard::exec::testing {

struct TempDir {
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mergeyard-exec-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

inline int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

inline std::string ReadFile(const std::string& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string ShOut(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  pclose(f);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A work repository with two commits (the second touches only docs/) and a
// bare mirror of it. commit1/commit2 are their ids.
struct GitFixture {
  explicit GitFixture(const std::string& root) {
    work = root + "/work";
    mirror = root + "/mirror.git";
    std::string g = "git -C " + work + " -c user.name=t -c user.email=t@e ";
    Sh("git init -q -b main " + work);
    Sh("mkdir -p " + work + "/src " + work + "/docs");
    Sh("echo hello > " + work + "/src/file.txt && echo v1 > " + work + "/docs/readme");
    Sh(g + "add -A && " + g + "commit -q -m one");
    commit1 = ShOut(g + "rev-parse HEAD");
    Sh("echo v2 > " + work + "/docs/readme");
    Sh(g + "commit -q -am two");
    commit2 = ShOut(g + "rev-parse HEAD");
    Sh("git clone -q --bare " + work + " " + mirror);
  }
  std::string work, mirror, commit1, commit2;
};

inline bool WaitFor(const std::function<bool()>& pred, int timeout_ms = 10000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace mergeyard::exec::testing
