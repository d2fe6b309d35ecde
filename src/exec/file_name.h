#pragma once
// Names that become one path component (worktree, mirror and log directories).

#include <string>
#include <string_view>

namespace mergeyard::exec {

// A single, non-empty path component for `name`, distinct for distinct names:
// letters, digits, '-' and '.' stay (except a leading '.'); every other byte,
// '_' included, becomes "_xx" (hex). So "a/b_c" and "a_b/c" never share a
// directory, and nothing can be "..".
std::string FileNameFor(std::string_view name);

}  // namespace mergeyard::exec
