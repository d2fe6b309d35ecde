#!/usr/bin/env bash
# Configures build/ if needed and builds everything (the binary is
# build/src/app/mergeyard). Extra arguments go to ninja.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MERGEYARD_BUILD_DIR:-build}
[[ -f $build/build.ninja ]] || meson setup "$build"
ninja -C "$build" "$@"
