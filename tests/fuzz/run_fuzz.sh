#!/bin/sh
# Runs a libFuzzer target briefly: new inputs go to a scratch directory, the
# checked-in corpus (and any further directories) is only read.
#   run_fuzz.sh FUZZER SECONDS CORPUS_DIR [MORE_DIRS...]
set -eu
fuzzer=$1; seconds=$2; shift 2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$scratch" "$@"
