#include <doctest/doctest.h>

#include <set>
#include <string>

#include "exec/file_name.h"

using mergeyard::exec::FileNameFor;

TEST_CASE("file names keep plain repository names readable and one path component") {
  CHECK(FileNameFor("widgets") == "widgets");
  CHECK(FileNameFor("acme/widgets") == "acme_2fwidgets");
  CHECK(FileNameFor("group/sub/project.js") == "group_2fsub_2fproject.js");
  for (const char* n : {"a/b", "../x", "..", ".", "", "a/../../b"}) {
    const std::string f = FileNameFor(n);
    INFO(n << " -> " << f);
    CHECK(!f.empty());
    CHECK(f.find('/') == std::string::npos);
    CHECK(f != ".");
    CHECK(f != "..");
    CHECK(f[0] != '.');
  }
}

TEST_CASE("distinct names never share a file name (a/b_c vs a_b/c)") {
  CHECK(FileNameFor("a/b_c") != FileNameFor("a_b/c"));
  std::set<std::string> seen;
  const std::string alphabet = "a_/.-";
  // Every string of length <= 4 over an alphabet rich in separators.
  std::set<std::string> names = {""};
  for (int len = 0; len < 4; ++len) {
    std::set<std::string> next;
    for (const auto& n : names) {
      for (char c : alphabet) next.insert(n + c);
    }
    names.insert(next.begin(), next.end());
  }
  for (const auto& n : names) CHECK_MESSAGE(seen.insert(FileNameFor(n)).second, "collision for " << n);
}
