#!/bin/sh
# The README's adapter examples (Real clients) compile and run: the Lua one
# in C against liblua5.4 (mempool_lua.h included before lua.h), the pmr one
# in C++17; each runs on a fresh pool, which must hold no live block after.
# usage: check_readme_clients.sh SOURCE_DIR INCLUDE_DIR LIBRARY CXX "LUA_CFLAGS" "LUA_LIBS"
set -eu
src=$1 inc=$2 lib=$3 cxx=$4 luacflags=$5 lualibs=$6
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ex="$(dirname "$0")/extract.sh"
rpath="-Wl,-rpath,$(dirname "$lib")"

"$ex" "$src/README.md" '^### Real clients' c >"$tmp/lua.snippet"
[ -s "$tmp/lua.snippet" ] || { echo "FAIL: no Lua adapter example in README.md"; exit 1; }
{
  grep '^#include' "$tmp/lua.snippet"
  echo '#include <lua.h>'; echo '#include <lauxlib.h>'; echo '#include <lualib.h>'; echo '#include <stdio.h>'
  echo 'int main(void) { mp_config c = MP_CONFIG_INIT; mp_pool *pool; mp_config_default_cpu(&c);'
  echo 'if (mp_pool_create("readme-lua", MP_MEMORY_CPU, &c, &pool) != MP_OK) return 1;'
  grep -v '^#include' "$tmp/lua.snippet"
  echo 'mp_stats s = MP_STATS_INIT; mp_pool_get_stats(pool, &s);'
  printf '%s\n' 'printf("%llu allocations, %llu live\n", (unsigned long long)s.allocation_count, (unsigned long long)s.live_allocations);'
  echo 'return s.live_allocations != 0 || s.allocation_count < 100000; }'
} >"$tmp/lua.c"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -I"$inc" $luacflags "$tmp/lua.c" "$lib" $lualibs $rpath -o "$tmp/lua"
"$tmp/lua" || { echo "FAIL: the Lua adapter example left live blocks or allocated nothing"; exit 1; }

"$ex" "$src/README.md" '^### Real clients' cpp >"$tmp/pmr.snippet"
[ -s "$tmp/pmr.snippet" ] || { echo "FAIL: no pmr example in README.md"; exit 1; }
{
  grep '^#include' "$tmp/pmr.snippet"
  echo '#include <cstdio>'
  echo 'int main() { mp_config c = MP_CONFIG_INIT; mp_pool *pool; mp_config_default_cpu(&c);'
  echo 'if (mp_pool_create("readme-pmr", MP_MEMORY_CPU, &c, &pool) != MP_OK) return 1;'
  echo '{'
  grep -v '^#include' "$tmp/pmr.snippet"
  echo 'mp_stats s = MP_STATS_INIT; mp_pool_get_stats(pool, &s); if (s.live_allocations < 2) return 1; }'
  echo 'mp_stats s = MP_STATS_INIT; mp_pool_get_stats(pool, &s);'
  printf '%s\n' 'std::printf("%llu allocations, %llu live\n", (unsigned long long)s.allocation_count, (unsigned long long)s.live_allocations);'
  echo 'return s.live_allocations != 0; }'
} >"$tmp/pmr.cpp"
"$cxx" -std=c++17 -Wall -Wextra -Werror -Wno-missing-field-initializers -I"$inc" "$tmp/pmr.cpp" "$lib" $rpath -o "$tmp/pmr"
"$tmp/pmr" || { echo "FAIL: the pmr example left live blocks or allocated nothing in the pool"; exit 1; }
echo "ok: the README's Lua adapter and pmr examples compile without warnings, run, and free every block"
