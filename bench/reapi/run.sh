#!/bin/sh
# Builds and runs the REAPI server benchmark; prints the table (about 1 minute).
#   bench/reapi/run.sh [BUILD_DIR] [--rounds 3] [--clients 8] [--seconds 2]
#       [--misses 60] [--chunk-kib 1024] [--only hit|miss|cas|cas-1k|cas-1m|cas-64m]
#       [--server-wrap "perf record -g -o /tmp/reapi.perf --"]
set -e
cd "$(dirname "$0")/../.."
build=${1:-build}
[ $# -gt 0 ] && shift
[ -d "$build" ] || meson setup "$build" --buildtype=release >/dev/null
ninja -C "$build" bench/reapi/reapi_bench >/dev/null
exec "$build/bench/reapi/reapi_bench" "$@"
