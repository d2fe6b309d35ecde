#!/usr/bin/env python3
"""Checks the module layering of DESIGN.md section 3 over src/.

usage: check_layering.py [--root DIR]     (DIR defaults to this repository)

A module may include only modules below it:
  rank 0  base
  rank 1  queue, bisect, exec/core        (queue may also include bisect)
  rank 2  engine
  rank 3  git, forge, store, exec         (adapters; exec may include exec/core)
  rank 4  webhook, api, sim               (of rank 3, webhook may include forge
                                           and store; api store, exec and forge;
                                           sim none)
  rank 5  app
The pure modules (base, queue, bisect, exec/core) include no libgit2, SQLite,
HTTP or threading headers and never read the clock; src/base/clock.cc and
src/base/log.cc may read the clock, and base/log.* and base/metrics.* may use
<mutex>. Quoted includes must be rooted at src/ (no ".."), and a module's
*_internal.h is its own.

Prints one line per violation as FILE:LINE: message and exits 1 if any.
"""

import argparse
import os
import re
import sys

RANK = {
    "base": 0,
    "queue": 1, "bisect": 1, "exec/core": 1,
    "engine": 2,
    "git": 3, "forge": 3, "store": 3, "exec": 3,
    "webhook": 4, "api": 4, "sim": 4,
    "app": 5,
}
# Same-rank includes that are allowed.
LATERAL = {("queue", "bisect")}
# The rank-3 adapters each rank-4 module may include (all lower ranks are fine).
ADAPTERS_ALLOWED = {
    "webhook": {"forge", "store"},
    "api": {"store", "exec", "forge"},
    "sim": set(),
}
PURE = {"base", "queue", "bisect", "exec/core"}
FORBIDDEN_IN_PURE = [
    (re.compile(r"^git2(\.h|/)"), "libgit2"),
    (re.compile(r"^SQLiteCpp/"), "SQLiteCpp"),
    (re.compile(r"^sqlite3\.h$"), "SQLite"),
    (re.compile(r"^httplib\.h$"), "cpp-httplib"),
    (re.compile(r"^thread$"), "threads"),
    (re.compile(r"^mutex$"), "threads"),
    (re.compile(r"^condition_variable$"), "threads"),
    (re.compile(r"^future$"), "threads"),
    (re.compile(r"^(pthread\.h|shared_mutex|stop_token|semaphore|latch|barrier)$"), "threads"),
]
CLOCK_READS = [
    re.compile(r"\bsystem_clock\b"),
    re.compile(r"\bsteady_clock\b"),
    re.compile(r"\bhigh_resolution_clock\b"),
    re.compile(r"::now\s*\("),
    re.compile(r"(?<![\w.>])time\s*\("),
    re.compile(r"\bgettimeofday\b"),
    re.compile(r"\bclock_gettime\b"),
]
CLOCK_READERS = {"src/base/clock.cc", "src/base/log.cc"}
SOURCE_EXT = (".h", ".hh", ".hpp", ".cc", ".cpp", ".cxx", ".inc")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def module_of(parts):
    """The module of a path below src/ (or of an include path), or None."""
    if not parts:
        return None
    if parts[0] == "exec" and len(parts) > 2 and parts[1] == "core":
        return "exec/core"
    return parts[0] if parts[0] in RANK else None


def strip_comments_and_strings(text):
    """Blanks comments and string/char literals, keeping line breaks."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == '"' and i > 0 and text[i - 1] == "R":
            m = re.match(r'"([^()\\ ]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == "'" and i > 0 and text[i - 1].isalnum():
            out.append(c)  # a digit separator: 1'000
            i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def may_include(mod, dep):
    if mod == dep or (mod, dep) in LATERAL:
        return True
    if RANK[dep] >= RANK[mod]:
        return False
    if RANK[mod] == 4 and RANK[dep] == 3:
        return dep in ADAPTERS_ALLOWED[mod]
    return True


def check_include(rel, mod, kind, target):
    """Problems with one #include, as messages."""
    problems = []
    if kind == '"':
        if ".." in target.split("/"):
            problems.append('include "%s" is not rooted at src/' % target)
            return problems
        dep = module_of(target.split("/"))
        if dep is None:
            return problems
        if not may_include(mod, dep):
            problems.append('%s may not include %s ("%s"): DESIGN.md section 3 layering'
                            % (mod, dep, target))
        elif dep != mod and target.endswith("_internal.h"):
            problems.append('"%s" is internal to %s' % (target, dep))
    if mod in PURE:
        for pattern, what in FORBIDDEN_IN_PURE:
            if not pattern.search(target):
                continue
            if target == "mutex" and rel.startswith(("src/base/log.", "src/base/metrics.")):
                continue  # logging and the metrics registry are thread-safe
            problems.append("%s is pure and may not include <%s> (%s)" % (mod, target, what))
    return problems


def check_file(root, rel):
    parts = rel.split("/")[1:]
    mod = module_of(parts)
    if mod is None:
        return ["%s:1: file is in no known module of DESIGN.md section 3" % rel]
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        raw = f.read()
    code = strip_comments_and_strings(raw)
    problems = []
    raw_lines = raw.split("\n")
    for lineno, line in enumerate(code.split("\n"), 1):
        original = raw_lines[lineno - 1] if lineno <= len(raw_lines) else ""
        m = INCLUDE.match(original) if line.lstrip().startswith("#") else None
        if m:
            for p in check_include(rel, mod, m.group(1), m.group(2).strip()):
                problems.append("%s:%d: %s" % (rel, lineno, p))
            continue
        if mod in PURE and rel not in CLOCK_READERS:
            for pattern in CLOCK_READS:
                hit = pattern.search(line)
                if hit:
                    problems.append("%s:%d: %s is pure and may not read the clock (%s); "
                                    "take a Time argument" % (rel, lineno, mod, hit.group(0)))
                    break
    return problems


def source_files(root):
    src = os.path.join(root, "src")
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(SOURCE_EXT):
                yield os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = parser.parse_args(argv)
    if not os.path.isdir(os.path.join(args.root, "src")):
        print("check_layering: no src/ under %s" % args.root)
        return 2
    files = list(source_files(args.root))
    problems = []
    for rel in files:
        problems.extend(check_file(args.root, rel))
    for p in problems:
        print(p)
    if problems:
        print("check_layering: %d violation(s) in %d files" % (len(problems), len(files)))
        return 1
    print("check_layering: ok, %d files" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
