#!/bin/sh
# A parent project adds mempool's source tree with add_subdirectory (what
# FetchContent does): configures, builds and runs its consumer, and fails if
# the parent got anything of ours but the library (tests/package/subdir).
# usage: check_subdir.sh SOURCE_DIR
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake -S "$src/tests/package/subdir" -B "$tmp" -DMEMPOOL_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=Release >"$tmp.log" 2>&1 ||
  { cat "$tmp.log"; rm -f "$tmp.log"; exit 1; }
rm -f "$tmp.log"
cmake --build "$tmp" -j 2 >/dev/null
(cd "$tmp" && ctest --output-on-failure | tail -n 3)
n=$(cd "$tmp" && ctest -N | awk '/Total Tests:/ {print $3}')
[ "$n" = 1 ] || { echo "FAIL: the parent's ctest lists $n tests, not its own one"; exit 1; }
echo "ok: add_subdirectory(mempool) gives the parent the library alone, and its consumer runs"
