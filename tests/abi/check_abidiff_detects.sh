#!/bin/sh
# check_abidiff.sh is not a formality: a copy of the baseline without
# mp_pool_trim (a released function removed) must fail it.
# usage: check_abidiff_detects.sh BASELINE
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/<function-decl name=.mp_pool_trim./ {skip=1} skip && /<\/function-decl>/ {skip=0; next} !skip' "$1" |
  grep -v "elf-symbol name='mp_pool_trim'" >"$tmp/broken.abixml"
if "$here/check_abidiff.sh" "$1" "$tmp/broken.abixml" >"$tmp/out"; then
  echo "FAIL: removing mp_pool_trim went unnoticed"; cat "$tmp/out"; exit 1
fi
grep -q "mp_pool_trim" "$tmp/out" || { echo "FAIL: the report does not name mp_pool_trim"; cat "$tmp/out"; exit 1; }
echo "ok: a removed function fails the ABI check"
