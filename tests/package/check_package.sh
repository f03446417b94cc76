#!/bin/sh
# Installs the build into a temporary prefix and builds a consumer against
# it twice: with find_package(mempool CONFIG) and with pkg-config.
# usage: check_package.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
lib=$(ls -d "$tmp"/prefix/lib*/ | head -n 1)
test -e "$lib/libmempool.so.1" || { echo "FAIL: libmempool.so.1 not installed"; exit 1; }
test -e "$lib/libmempool.a" || { echo "FAIL: libmempool.a not installed"; exit 1; }
for h in mempool.h mempool_tcache.h mempool.hpp mempool_errors.hpp mempool_lua.h mempool_pmr.hpp mempool_cuda.hpp; do
  test -e "$tmp/prefix/include/mempool/$h" || { echo "FAIL: include/mempool/$h not installed"; exit 1; }
done
for d in LICENSE README.md CHANGELOG.md API.md; do
  test -s "$tmp/prefix/share/doc/mempool/$d" || { echo "FAIL: share/doc/mempool/$d not installed"; exit 1; }
done
grep -q "MIT License" "$tmp/prefix/share/doc/mempool/LICENSE" || { echo "FAIL: the installed LICENSE is not the licence"; exit 1; }
# The real-client adapters, consumed from the installed tree: std::pmr
# (C++17) and the Lua allocator (with Lua's headers where they are).
if command -v g++ >/dev/null 2>&1; then
  printf '%s\n' '#include <mempool/mempool_pmr.hpp>' '#include <vector>' \
    'int main() { mempool::CPUMemoryPool p("pmr", mempool::PoolConfig::DefaultCPU());' \
    '  mempool::PoolMemoryResource r(p); std::pmr::vector<int> v(&r); v.assign(1000, 7);' \
    '  return v[999] == 7 ? 0 : 1; }' > "$tmp/pmr.cpp"
  g++ -std=c++17 -Wall -Wextra -Werror -I"$tmp/prefix/include" -o "$tmp/pmr" "$tmp/pmr.cpp" -L"$lib" -lmempool
  LD_LIBRARY_PATH="$lib" "$tmp/pmr"
  echo "ok: a std::pmr::vector runs on the installed mempool_pmr.hpp"
fi
if pkg-config --exists lua5.4 2>/dev/null; then
  printf '%s\n' '#include <lauxlib.h>' '#include <lualib.h>' '#include <mempool/mempool_lua.h>' \
    'int main(void) { mp_pool *p = NULL; mp_config c = MP_CONFIG_INIT; mp_config_default_cpu(&c);' \
    '  if (mp_pool_create("lua", MP_MEMORY_CPU, &c, &p) != MP_OK) return 1;' \
    '  lua_State *L = lua_newstate(mp_lua_alloc, p); luaL_openlibs(L);' \
    '  int bad = luaL_dostring(L, "local t = {} for i = 1, 1000 do t[i] = tostring(i) end");' \
    '  lua_close(L); mp_pool_destroy(p); return bad; }' > "$tmp/lua.c"
  cc -std=c11 -Wall -Wextra -Werror -I"$tmp/prefix/include" $(pkg-config --cflags lua5.4) -o "$tmp/lua" "$tmp/lua.c" \
     -L"$lib" -lmempool $(pkg-config --libs lua5.4)
  LD_LIBRARY_PATH="$lib" "$tmp/lua"
  echo "ok: a Lua state runs on the installed mempool_lua.h"
fi
# The CUDA C++ resource, where the toolkit's compiler is: compiled against
# the installed header (a device is needed to run it: tests/gpu/test_cccl.cu).
nvcc=$(command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; } || true)
if [ -n "$nvcc" ]; then
  printf '%s\n' '#include <mempool/mempool_cuda.hpp>' '#include <thrust/device_vector.h>' \
    'int main() { mempool::GPUMemoryPool p("cccl", mempool::PoolConfig::DefaultGPU());' \
    '  mempool::GPUAllocator<int> a{mempool::GPUMemoryResource(p)};' \
    '  thrust::device_vector<int, mempool::GPUAllocator<int>> v(16, 1, a); return v.size() == 16 ? 0 : 1; }' \
    > "$tmp/cccl.cu"
  "$nvcc" -std=c++17 -I"$tmp/prefix/include" -c "$tmp/cccl.cu" -o "$tmp/cccl.o"
  echo "ok: a thrust::device_vector on the installed mempool_cuda.hpp compiles"
fi
# The PyTorch plug-in where it was built: the package and its library side by side.
if [ -e "$build/plugins/torch/libmempool_torch.so" ]; then
  py="$lib/mempool/python"
  test -f "$py/mempool_torch/__init__.py" && test -f "$py/mempool_torch/libmempool_torch.so" ||
    { echo "FAIL: the PyTorch plug-in is not installed under $py/mempool_torch"; exit 1; }
  found=$(cd "$tmp" && PYTHONPATH="$py" python3 -c 'import mempool_torch; print(mempool_torch.find_library())')
  [ "$found" = "$(realpath "$py/mempool_torch/libmempool_torch.so")" ] ||
    { echo "FAIL: the installed mempool_torch finds $found"; exit 1; }
  echo "ok: the installed mempool_torch package finds its plug-in beside it"
fi
soname=$(objdump -p "$lib/libmempool.so.1" | awk '/SONAME/ {print $2}')
[ "$soname" = "libmempool.so.1" ] || { echo "FAIL: SONAME is $soname"; exit 1; }

cmake -S "$src/tests/package" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm" >/dev/null
LD_LIBRARY_PATH="$lib" "$tmp/cm/consumer"
"$tmp/cm/consumer_static" # nothing to find at run time

export PKG_CONFIG_PATH="$lib/pkgconfig"
cc -o "$tmp/pc-consumer" "$src/tests/package/consumer.c" $(pkg-config --cflags --libs mempool)
LD_LIBRARY_PATH="$lib" "$tmp/pc-consumer"
# Static, through Libs.private: the archive and what it needs (cudart_static
# from the pc file's cudalibdir where mempool was built with CUDA).
cc -o "$tmp/pc-static" "$src/tests/package/consumer.c" $(pkg-config --cflags mempool) "$lib/libmempool.a" \
   $(pkg-config --static --libs mempool | sed 's/-lmempool\b//')
"$tmp/pc-static"
if command -v g++ >/dev/null 2>&1; then
  g++ -std=c++17 -Wall -Wextra -Werror -o "$tmp/seed" "$src/tests/cpp/seed_program.cpp" $(pkg-config --cflags --libs mempool)
  LD_LIBRARY_PATH="$lib" "$tmp/seed"
  echo "ok: a program written from the seed's reference builds with g++ -std=c++17 against the installed headers"
fi
if [ -e "$lib/lua/5.4/mempool.so" ] && command -v lua5.4 >/dev/null 2>&1; then
  v=$(LUA_CPATH="$lib/lua/5.4/?.so" LD_LIBRARY_PATH="$lib" lua5.4 -e 'print((require "mempool").version())')
  echo "ok: require \"mempool\" loads the installed Lua module ($v)"
fi
echo "ok: find_package(mempool CONFIG COMPONENTS shared static) and pkg-config (--static too) build working consumers (SONAME $soname)"
