#!/bin/sh
# Fuzzes for a bounded time from the seed corpus, keeping new inputs in a
# temporary folder (the repository's corpus stays as committed), and prints
# libFuzzer's final statistics. A crash leaves its input in the build folder.
# usage: run_fuzzer.sh FUZZ_BINARY CORPUS SECONDS
set -eu
fuzzer=$1 corpus=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 -timeout=20 \
  -artifact_prefix=./fuzz-crash- "$work" "$corpus"
