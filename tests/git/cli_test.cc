// `mergeyard merge-batch`, run as a process (MERGEYARD_BINARY).

#include <doctest/doctest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "test_repo.h"

namespace mergeyard::git {
namespace {

using testing::Lines;
using testing::Quote;
using testing::Repo;

std::string Binary() {
  const char* b = std::getenv("MERGEYARD_BINARY");
  REQUIRE_MESSAGE(b != nullptr, "MERGEYARD_BINARY is not set (run through meson test)");
  return b;
}

TEST_SUITE("git") {

TEST_CASE("merge-batch --json prints the batch commit, merged refs and conflicts, and moves no ref") {
  Repo repo;
  repo.Write("a.txt", Lines(10));
  repo.Commit("base");
  for (auto [name, line] : std::vector<std::pair<std::string, int>>{{"one", 2}, {"two", 2}, {"three", 9}}) {
    repo.Checkout(name, "main");
    repo.Write("a.txt", Lines(10, {{line, name}}));
    repo.Commit(name);
    repo.Checkout("main");
  }
  std::string refs_before = repo.Git("for-each-ref");
  auto r = testing::ShAny(Quote(Binary()) + " merge-batch --json --repo " + Quote(repo.path()) +
                          " --base main one two three");
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  std::set<std::string> keys;
  for (auto& [k, v] : j.items()) keys.insert(k);
  CHECK(keys == std::set<std::string>{"commit", "tree", "merged", "conflicts", "elapsed_ms"});
  CHECK(j["merged"] == nlohmann::json::array({"one", "three"}));
  REQUIRE(j["conflicts"].size() == 1);
  CHECK(j["conflicts"][0]["ref"] == "two");
  CHECK(j["conflicts"][0]["paths"] == nlohmann::json::array({"a.txt"}));
  CHECK(j["elapsed_ms"].is_number_integer());
  std::string commit = j["commit"];
  CHECK(repo.Git("rev-parse " + commit + "^{tree}") == j["tree"].get<std::string>());
  CHECK(repo.Git("for-each-ref") == refs_before);
  auto text = testing::ShAny(Quote(Binary()) + " merge-batch --repo " + Quote(repo.path()) +
                             " --base main --method squash one three");
  CHECK(text.status == 0);
  CHECK(text.out.find("merged (2): one three") != std::string::npos);
}

TEST_CASE("merge-batch refuses bad arguments and unknown refs with a message") {
  Repo repo;
  repo.Write("a.txt", "a\n");
  repo.Commit("base");
  std::string bin = Quote(Binary());
  CHECK(testing::ShAny(bin + " merge-batch --repo " + Quote(repo.path()) + " --base main nope 2>/dev/null").status != 0);
  CHECK(testing::ShAny(bin + " merge-batch --repo " + Quote(repo.path()) + " --base main --method octopus main 2>/dev/null").status != 0);
  CHECK(testing::ShAny(bin + " merge-batch --repo /nonexistent --base main main 2>/dev/null").status != 0);
  CHECK(testing::ShAny(bin + " merge-batch --base main main 2>/dev/null").status != 0);
}

}  // TEST_SUITE

}  // namespace
}  // namespace mergeyard::git
