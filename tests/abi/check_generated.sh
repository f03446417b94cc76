#!/bin/sh
# Regenerates the ABI files into a temporary folder and fails if any differs
# from the committed one (a hand edit, or a description edit without abigen).
# usage: check_generated.sh LUA SOURCE_DIR
set -u
lua=$1 src=$2
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT
"$lua" "$src/tools/abigen.lua" --root "$src" --out "$out" || exit 1
status=0
for f in $("$lua" "$src/tools/abigen.lua" --root "$src" --list); do
  if ! diff -u "$src/$f" "$out/$f" >"$out/diff" 2>&1; then
    echo "FAIL: $f differs from what capi/mempool.abi.lua generates (run: cmake --build build --target abigen)"
    head -n 20 "$out/diff"
    status=1
  else
    echo "ok: $f"
  fi
done
exit $status
