#!/usr/bin/env python3
"""Writes a synthetic bare repository with git fast-import.

make_repo.py PATH FILES SHAPE   (SHAPE: flat = every file in one directory,
deep = four levels of ten directories)

main = base + one commit touching three files; pr1..pr8 branch from base and
each edits two files of its own, adds one, and shares one file with its
neighbour (edited at the other end, so the batch content-merges it).
"""
import os
import random
import subprocess
import sys


def path_of(i, shape, files):
    if shape == "flat":
        return "f%06d.txt" % i
    per_leaf = max(1, files // 10000)
    leaf = i // per_leaf
    return "d%d/d%d/d%d/d%d/f%06d.txt" % (leaf // 1000 % 10, leaf // 100 % 10, leaf // 10 % 10,
                                          leaf % 10, i)


def content(i, edits=()):
    lines = ["line %d of file %d" % (j, i) for j in range(20)]
    for at, text in edits:
        lines[at] = text
    return ("\n".join(lines) + "\n").encode()


# Growing the heap in big steps: on some virtual machines each brk() costs
# a lot, and fast-import makes tens of thousands of them.
FAST_MALLOC = dict(os.environ, MALLOC_TOP_PAD_="268435456", MALLOC_TRIM_THRESHOLD_="1073741824")


class Stream:
    """A git fast-import stream with marks."""

    def __init__(self):
        self.out = []
        self.mark = 0

    def blob(self, data):
        self.mark += 1
        self.out.append(b"blob\nmark :%d\ndata %d\n" % (self.mark, len(data)) + data + b"\n")
        return self.mark

    def commit(self, ref, msg, changes, parent):
        marks = [(p, self.blob(d)) for p, d in changes]
        self.mark += 1
        head = b"commit %s\nmark :%d\n" % (ref.encode(), self.mark)
        head += b"author Bench <bench@example.com> 1700000000 +0000\n"
        head += b"committer Bench <bench@example.com> 1700000000 +0000\n"
        head += b"data %d\n%s\n" % (len(msg), msg.encode())
        if parent:
            head += b"from %s\n" % parent.encode()
        self.out.append(head + b"".join(b"M 100644 :%d %s\n" % (m, p.encode()) for p, m in marks) + b"\n")
        return ":%d" % self.mark

    def run(self, path, marks_file=None):
        cmd = ["git", "-C", path, "fast-import", "--quiet"]
        if marks_file:
            cmd.append("--export-marks=" + marks_file)
        subprocess.run(cmd, input=b"".join(self.out), check=True, env=FAST_MALLOC)


def git(path, *args, stdin=None):
    env = dict(FAST_MALLOC, GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com",
               GIT_AUTHOR_DATE="1700000000 +0000", GIT_COMMITTER_DATE="1700000000 +0000")
    return subprocess.run(["git", "-C", path] + list(args), input=stdin, check=True, env=env,
                          stdout=subprocess.PIPE).stdout.decode().strip()


def make_base(path, files, shape):
    """The base commit's id. fast-import searches a directory linearly per
    entry, so a flat tree of many files is written with mktree instead."""
    base_files = [(path_of(i, shape, files), content(i)) for i in range(files)]
    s = Stream()
    if shape != "flat":
        s.commit("refs/heads/main", "base", base_files, None)
        s.run(path)
        return git(path, "rev-parse", "main")
    marks = [(p, s.blob(d)) for p, d in base_files]
    marks_file = os.path.join(path, "bench-marks")
    s.run(path, marks_file)
    sha = dict(line.split() for line in open(marks_file).read().splitlines())
    listing = "".join("100644 blob %s\t%s\n" % (sha[":%d" % m], p) for p, m in marks)
    tree = git(path, "mktree", stdin=listing.encode())
    base = git(path, "commit-tree", tree, "-m", "base")
    git(path, "update-ref", "refs/heads/main", base)
    return base


def main():
    path, files, shape = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", path], check=True)
    base = make_base(path, files, shape)
    s = Stream()
    rnd = random.Random(7)
    picks = rnd.sample(range(files), 40)
    s.commit("refs/heads/main", "main moves",
             [(path_of(i, shape, files), content(i, [(10, "main")])) for i in picks[:3]], base)
    for k in range(8):
        own = picks[3 + 4 * k: 5 + 4 * k]
        shared = picks[36 + k // 2]
        changes = [(path_of(i, shape, files), content(i, [(5, "pr%d" % k)])) for i in own]
        changes.append((path_of(shared, shape, files),
                        content(shared, [(1 if k % 2 == 0 else 18, "pr%d" % k)])))
        changes.append(("new/pr%d.txt" % k, b"new file of pr %d\n" % k))
        s.commit("refs/heads/pr%d" % (k + 1), "pr %d" % (k + 1), changes, base)
    s.run(path)
    git(path, "gc", "-q")


if __name__ == "__main__":
    main()
