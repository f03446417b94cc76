#!/bin/sh
# The Lua suites and examples under AddressSanitizer + UndefinedBehaviorSanitizer.
# libmempool (MEMPOOL_SANITIZE=address) and mempool.so are built with gcc in a
# scratch directory, then run by
#   - the system lua5.4 with libasan and libubsan preloaded (the default):
#     checks the module's and the library's reads and writes; or
#   - an interpreter built with -fsanitize=address from Lua's sources, which
#     checks Lua's own too (a hook on a freed lua_State shows only there):
#       LUA=/path/lua LUA_INCLUDE=/path/lua-src [LUA_CFLAGS='-DLUA_USER_H="ltests.h"']
#     (LUA_CFLAGS: what the interpreter was built with that changes lua.h,
#     e.g. ltests.h for the HARDMEMTESTS/HARDSTACKTESTS builds).
# Children of the suites run with the same interpreter and environment.
# usage: bindings/lua/tests/asan.sh [scratch-dir]   (default /tmp/mempool-lua-asan)
set -eu
src=$(cd "$(dirname "$0")/../../.." && pwd)
dir=${1:-/tmp/mempool-lua-asan}
cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DMEMPOOL_SANITIZE=address \
  -DMEMPOOL_CUDA=OFF -DMEMPOOL_BINDINGS=OFF -DMEMPOOL_BUILD_TESTS=OFF -DMEMPOOL_BUILD_BENCH=OFF \
  -DMEMPOOL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$dir" -j2 --target mempool >/dev/null
mkdir -p "$dir/lua"
# shellcheck disable=SC2086 # LUA_CFLAGS is a list of flags
gcc -std=gnu11 -O1 -g -shared -fPIC -fsanitize=address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer -fvisibility=hidden -Wall -Wextra ${LUA_CFLAGS:-} \
  -I"${LUA_INCLUDE:-/usr/include/lua5.4}" -I"$src/include" \
  "$src"/bindings/lua/l*.c \
  -L"$dir" -lmempool -Wl,-rpath,"$dir" -o "$dir/lua/mempool.so"
# shellcheck disable=SC2086
gcc -std=gnu11 -O1 -g -shared -fPIC -fsanitize=address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer -fvisibility=hidden -Wall -Wextra ${LUA_CFLAGS:-} \
  -I"${LUA_INCLUDE:-/usr/include/lua5.4}" -I"$src/include" \
  "$src"/bindings/lua/tests/thread_helper.c -pthread \
  -L"$dir" -lmempool -Wl,-rpath,"$dir" -o "$dir/lua/mempool_thread_helper.so"

export LUA_CPATH="$dir/lua/?.so" LUA_PATH="$src/bindings/lua/?.lua"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Preloaded, the module and the library stay mapped when lua_close unloads
# the module, so LeakSanitizer still sees the registry's static pointers.
# The sanitizer runtimes come first (an ASan-built interpreter needs that too).
keep="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so):$dir/libmempool.so.1:$dir/lua/mempool.so"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$src"/bindings/lua/tests/test_*.lua "$src"/bindings/lua/examples/*.lua; do
  echo "== $t"
  if ! LD_PRELOAD="$keep" "${LUA:-lua5.4}" "$t" >"$out" 2>&1; then
    cat "$out"
    echo "FAIL: $t"
    exit 1
  fi
  grep -v '^PASS' "$out" || true
done
echo "ok: the Lua suites and examples ran under ASan+UBSan"
