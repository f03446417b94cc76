#!/bin/sh
# The README's Lua example runs with the built module.
# usage: check_readme_lua.sh SOURCE_DIR LUA MODULE_DIR
set -eu
src=$1 lua=$2 dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$(dirname "$0")/extract.sh" "$src/README.md" '^### Lua 5[.]4' lua >"$tmp/example.lua"
[ -s "$tmp/example.lua" ] || { echo "FAIL: no Lua example found in README.md"; exit 1; }
out=$(LUA_CPATH="$dir/?.so" "$lua" "$tmp/example.lua")
echo "$out"
echo "$out" | grep -q "^48	nil	pool 'lua': 65 bytes.*	MP_ERR_INVALID_ARGUMENT$" || { echo "FAIL: unexpected output"; exit 1; }
echo "ok: the README's Lua example runs"
