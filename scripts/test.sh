#!/usr/bin/env bash
# THE test command. From a fresh clone (after `sudo scripts/install-deps.sh`):
#   scripts/test.sh                  configure build/ if needed, build all, run every test
#   scripts/test.sh --suite store    extra arguments go to `meson test`
# Ends with exactly "N passed, M failed" (", K skipped" when K > 0), counting
# each doctest case (tools/test_summary.py); exits non-zero if anything failed.
# MERGEYARD_BUILD_DIR picks another build directory (default build).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${MERGEYARD_BUILD_DIR:-build}

if [[ ! -f $build/build.ninja ]]; then
  if ! meson setup "$build"; then
    echo "scripts/test.sh: meson setup $build failed"
    echo "0 passed, 1 failed"
    exit 1
  fi
fi
# Build all that builds (-k 0), so one broken target does not hide the other
# tests; a failed build still counts as one failure.
build_flag=()
if ! ninja -C "$build" -k 0; then
  echo "scripts/test.sh: the build failed (see above); running the tests that built"
  build_flag=(--build-failed)
fi

# After a failed build, meson refuses to run anything while a test program is
# missing: name the tests whose programs exist.
only=()
if ((${#build_flag[@]})); then
  mapfile -t only < <(meson introspect "$build" --tests | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if os.path.exists(t["cmd"][0]):
        print(t["name"])
    else:
        print("scripts/test.sh: not built, not run: " + t["name"], file=sys.stderr)
')
  ((${#only[@]})) || { echo "0 passed, 1 failed"; exit 1; }
fi

log=$build/meson-logs/testlog.json
rm -f "$log"
meson test -C "$build" --no-rebuild --print-errorlogs "$@" "${only[@]}"
meson_rc=$?
python3 tools/test_summary.py "${build_flag[@]}" "$log"
summary_rc=$?
if ((summary_rc == 0 && meson_rc != 0)); then
  # meson failed without a failing test (bad arguments, no such suite).
  echo "scripts/test.sh: meson test exited $meson_rc"
  echo "0 passed, 1 failed"
  exit 1
fi
exit "$summary_rc"
