#!/bin/sh
# The README's standalone MemoryStats example in Lua ("### In Lua") runs and
# prints what its comments say.
# usage: check_readme_lua_seed.sh SOURCE_DIR LUA MODULE_DIR
set -eu
src=$1 lua=$2 dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{ echo 'local mempool = require "mempool"'; "$(dirname "$0")/extract.sh" "$src/README.md" '^### In Lua' lua; } >"$tmp/example.lua"
[ "$(wc -l <"$tmp/example.lua")" -gt 1 ] || { echo "FAIL: no Lua example under '### In Lua' in README.md"; exit 1; }
out=$(LUA_CPATH="$dir/?.so" "$lua" "$tmp/example.lua")
echo "$out"
want=$(printf '132\t2\t1\ntrue\t132\t16')
[ "$out" = "$want" ] || { echo "FAIL: unexpected output"; exit 1; }
echo "ok: the README's Lua MemoryStats example runs"
