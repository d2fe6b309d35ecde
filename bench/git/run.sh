#!/usr/bin/env bash
# Batch-merge benchmark: eight pull requests merged onto a synthetic
# repository (5,000 and 50,000 files; flat = one directory, deep = four levels
# of ten directories), timed four ways and checked to build the same tree:
#   mergeyard    in-process BuildBatchCommit (tree-by-tree merge)
#   CLI          `mergeyard merge-batch --json` as a process
#   merge-tree   `git merge-tree --write-tree`, one process per merge (summed)
#   libgit2      stock git_merge_commits + git_index_write_tree_to per merge
# Usage: bench/git/run.sh   (env: RUNS=5, BUILD_DIR, WORK_DIR to keep repos,
#   SIZES="5000 50000" the repositories' file counts,
#   FRESH=1: each contender merges in a fresh copy of the repository every run,
#   so it writes every merged object, as in service; by default the merged
#   trees already exist after the first run and nobody pays for writing them)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-bench-git}
RUNS=${RUNS:-5}
WORK=${WORK_DIR:-}
FRESH_ARGS=()
[ "${FRESH:-0}" = 1 ] && FRESH_ARGS=(--fresh)
if [ -z "$WORK" ]; then
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" >/dev/null
ninja -C "$BUILD" bench/git/git_merge_bench >/dev/null
MERGEYARD=()
if ninja -C "$BUILD" src/app/mergeyard >/dev/null 2>&1; then
  MERGEYARD=(--mergeyard "$BUILD/src/app/mergeyard")
else
  echo "(the mergeyard binary did not build; the CLI column is n/a)"
fi
# The same allocator settings for every contender (mergeyard sets these
# itself with mallopt): large buffers from a kept heap, not fresh mmaps.
export MALLOC_TOP_PAD_=16777216 MALLOC_TRIM_THRESHOLD_=134217728 MALLOC_MMAP_THRESHOLD_=33554432

mode="merged objects already present after the first run"
[ "${FRESH:-0}" = 1 ] && mode="fresh repository copy per run: every merged object is written"
echo "batch of 8 pull requests, median of $RUNS runs, milliseconds; git $(git --version | cut -d' ' -f3), libgit2 $(pkg-config --modversion libgit2); $mode"
echo
echo "| repository   | mergeyard | CLI (process) | 8x git merge-tree | stock libgit2 | vs merge-tree | vs libgit2 | full merges | same tree |"
echo "|--------------|----------:|--------:|-----------:|-----------:|--------:|--------:|---|---|"
for files in ${SIZES:-5000 50000}; do
  for shape in flat deep; do
    repo="$WORK/repo-$shape-$files.git"
    [ -d "$repo" ] || python3 "$ROOT/bench/git/make_repo.py" "$repo" "$files" "$shape"
    "$BUILD/bench/git/git_merge_bench" "$repo" main pr1 pr2 pr3 pr4 pr5 pr6 pr7 pr8 \
      --runs "$RUNS" --label "$shape $([ "$files" -ge 1000 ] && echo "$((files / 1000))k" || echo "$files")" "${MERGEYARD[@]}" "${FRESH_ARGS[@]}"
  done
done
