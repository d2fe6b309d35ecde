#!/bin/sh
# Builds mergeyard and the forge budget benchmark, runs it, prints the table.
#   bench/forge/run.sh [BUILD_DIR] [--scale 240] [--seed 1] [--prs 400] [--mode both|webhooks|polling] [--verbose]
set -e
cd "$(dirname "$0")/../.."
build=build
case "${1:-}" in ''|-*) ;; *) build=$1; shift ;; esac
[ -d "$build" ] || meson setup "$build" >/dev/null
ninja -C "$build" src/app/mergeyard bench/forge/budget_bench >/dev/null
exec "$build/bench/forge/budget_bench" --binary "$build/src/app/mergeyard" "$@"
