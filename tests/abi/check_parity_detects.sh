#!/bin/sh
# The parity check is not a formality: a fake binding that lacks one function
# fails it, naming the function; with the function added it passes.
# usage: check_parity_detects.sh LUA SOURCE_DIR
set -u
lua=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/bindings/lua"
cp "$src/docs/abi-manifest.tsv" "$tmp/docs/"
awk -F'\t' '$1 == "function" && $2 != "mp_pool_trim" && $7 !~ /lua=/ {print "/* calls " $2 "() */"}' \
  "$src/docs/abi-manifest.tsv" >"$tmp/bindings/lua/fake.c"
if "$lua" "$here/check_parity.lua" "$tmp" lua >"$tmp/out"; then
  echo "FAIL: a binding without mp_pool_trim passed"; cat "$tmp/out"; exit 1
fi
grep -q "mp_pool_trim" "$tmp/out" || { echo "FAIL: the report does not name mp_pool_trim"; cat "$tmp/out"; exit 1; }
echo "/* calls mp_pool_trim() */" >>"$tmp/bindings/lua/fake.c"
"$lua" "$here/check_parity.lua" "$tmp" lua || { echo "FAIL: a complete binding did not pass"; exit 1; }
echo "ok: a missing function is named, a complete binding passes"
