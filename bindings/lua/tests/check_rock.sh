#!/bin/sh
# The Lua module as a user installs it, from outside the build tree:
# 1. cmake --install into a temporary prefix, then move that prefix: the
#    installed lib/lua/5.4/mempool.so finds libmempool.so.1 through its
#    RUNPATH $ORIGIN/../.., with no LD_LIBRARY_PATH;
# 2. luarocks make (Debian's luarocks, offline: no rocks server, nothing
#    fetched) builds the rockspec against that prefix into a local tree, and
#    the rock's module allocates and frees through a pool, again without
#    LD_LIBRARY_PATH. Exits 77 (skipped) when luarocks is not installed.
# usage: check_rock.sh SOURCE_DIR BUILD_DIR LUA VERSION
set -eu
src=$1 build=$2 lua=$3 version=$4
unset LD_LIBRARY_PATH LUA_CPATH LUA_CPATH_5_4 LUA_PATH LUA_PATH_5_4 LUA_INIT LUA_INIT_5_4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rockspec=mempool-$version-1.rockspec
test -f "$src/bindings/lua/$rockspec" || {
  echo "FAIL: bindings/lua/$rockspec missing: the rockspec's version must follow mempool.h ($version)"; exit 1; }
grep -q "^version = \"$version-1\"" "$src/bindings/lua/$rockspec" || {
  echo "FAIL: $rockspec does not say version = \"$version-1\""; exit 1; }

# A pool, a block written and read back, freed, and the pool's counters.
probe='local m = require "mempool"
local pool <close> = assert(m.cpu_pool { name = "rock", allocator = "fixed", block_size = 64 })
local b = assert(pool:allocate(48))
b:write(0, "hello")
assert(b:read(0, 5) == "hello")
assert(pool:stats().current_used == 48)
assert(pool:deallocate(b))
assert(pool:stats().current_used == 0)
print("ok: " .. package.searchpath("mempool", package.cpath) .. " (mempool " .. m.version() .. ")")'

# 1. cmake --install, under a prefix that then moves.
cmake --install "$build" --prefix "$tmp/first" >/dev/null
mv "$tmp/first" "$tmp/prefix"
prefix=$tmp/prefix
so=$(ls "$prefix"/lib*/lua/5.4/mempool.so 2>/dev/null | head -n 1)
test -n "$so" || { echo "FAIL: cmake --install put no lib*/lua/5.4/mempool.so"; exit 1; }
runpath=$(readelf -d "$so" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
[ "$runpath" = '$ORIGIN/../..' ] || { echo "FAIL: the installed module's RUNPATH is '$runpath', not \$ORIGIN/../.."; exit 1; }
LUA_CPATH="$(dirname "$so")/?.so" "$lua" -e "$probe"
echo "ok: the cmake-installed module loads from a moved prefix without LD_LIBRARY_PATH (RUNPATH $runpath)"

# 2. README.md's "### Lua" install commands, as written there, run from a
#    copy of the tree (luarocks make writes its objects beside the sources,
#    and these must not land in the source tree): cmake --install, then
#    luarocks make offline against that prefix into a local tree.
if ! command -v luarocks >/dev/null 2>&1; then
  echo "SKIP: luarocks not installed (Debian: apt-get install luarocks; scripts/deps.sh installs it)"
  exit 77
fi
"$src/tests/readme/extract.sh" "$src/README.md" '^### Lua$' sh >"$tmp/install.sh"
grep -q "luarocks .*make .*$rockspec" "$tmp/install.sh" || {
  echo "FAIL: README.md's ### Lua install block does not run luarocks make $rockspec"; exit 1; }
mkdir -p "$tmp/src/bindings/lua"
cp "$src/bindings/lua/$rockspec" "$src"/bindings/lua/*.c "$src"/bindings/lua/*.h "$tmp/src/bindings/lua"
ln -s "$(cd "$build" && pwd)" "$tmp/src/build"
# No rocks server, no user configuration or cache: nothing can be fetched.
printf 'rocks_servers = {}\n' >"$tmp/config.lua"
mkdir "$tmp/home"
out=$(cd "$tmp/src" && LUAROCKS_CONFIG="$tmp/config.lua" HOME="$tmp/home" PREFIX="$tmp/readme-prefix" \
      ROCKS="$tmp/rocks" sh -eu "$tmp/install.sh" 2>&1) || { echo "$out"; echo "FAIL: README's Lua install commands"; exit 1; }
echo "$out"
[ "$(echo "$out" | grep -c "^$version[^0-9.]")" = 2 ] || {
  echo "FAIL: both modules (installed and rock) should print version $version"; exit 1; }
rso=$tmp/rocks/lib/lua/5.4/mempool.so
test -f "$rso" || { echo "FAIL: luarocks make put no $rso"; exit 1; }
rlibdir=$tmp/readme-prefix/lib
rrunpath=$(readelf -d "$rso" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')
case ":$rrunpath:" in *":$rlibdir:"*) ;; *)
  echo "FAIL: the rock's module has rpath '$rrunpath', not $rlibdir"; exit 1;;
esac
LUA_CPATH="$tmp/rocks/lib/lua/5.4/?.so" "$lua" -e "$probe"
LUAROCKS_CONFIG="$tmp/config.lua" HOME="$tmp/home" luarocks --lua-version 5.4 list --tree "$tmp/rocks" --porcelain |
  grep -q "^mempool	$version-1	installed" || { echo "FAIL: luarocks list does not show mempool $version-1 in the tree"; exit 1; }
echo "ok: luarocks make built mempool $version-1 offline against the installed prefix; it loads without LD_LIBRARY_PATH (rpath $rrunpath)"
