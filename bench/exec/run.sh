#!/bin/sh
# Builds and runs the execution backend benchmark; prints the table.
#   bench/exec/run.sh [BUILD_DIR] [--n 200000] [--wave 64]
set -e
cd "$(dirname "$0")/../.."
build=${1:-build}
[ $# -gt 0 ] && shift
[ -d "$build" ] || meson setup "$build" >/dev/null
ninja -C "$build" bench/exec/exec_bench >/dev/null
exec "$build/bench/exec/exec_bench" "$@"
