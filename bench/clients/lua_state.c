/* A real client: a Lua 5.4 state whose every allocation goes to one
 * allocator (lua_newstate's lua_Alloc), running an allocation-heavy script
 * (tables, strings, closures, a growing and shrinking working set). Prints
 * the wall time and the process's peak RSS.
 *
 *   cc -O2 -Iinclude bench/clients/lua_state.c -Lbuild -lmempool \
 *      $(pkg-config --cflags --libs lua5.4) -o /tmp/lua_state
 *   /tmp/lua_state glibc|default|fast [rounds]
 *
 * glibc: realloc/free; default: mp_config_default_cpu without a lock (one
 * thread); fast: mp_config_high_performance_cpu (lock-free, thread caches),
 * both through the exported mp_pool_allocate / mp_pool_deallocate. A
 * realloc is allocate, copy, free: the lua_Alloc contract gives the old
 * size. Same script, same result for every allocator (checked). */
#include <mempool/mempool.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void *glibc_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static void *pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    mp_pool *pool = ud;
    if (nsize == 0) {
        if (ptr)
            mp_pool_deallocate(pool, ptr);
        return NULL;
    }
    void *n;
    if (mp_pool_allocate(pool, nsize, &n) != MP_OK)
        return NULL;
    if (ptr) {
        memcpy(n, ptr, osize < nsize ? osize : nsize);
        mp_pool_deallocate(pool, ptr);
    }
    return n;
}

static const char *script =
    "local rounds = ...\n"
    "local sum = 0\n"
    "for r = 1, rounds do\n"
    "  local t = {}\n"
    "  for i = 1, 200000 do\n"
    "    t[i] = { i, tostring(i), x = i * 2, f = function() return i end }\n"
    "    if i % 4 == 0 then t[i - 2] = nil end\n"
    "  end\n"
    "  local parts = {}\n"
    "  for i = 1, 50000 do parts[#parts + 1] = string.rep('x', i % 64) .. i end\n"
    "  local s = table.concat(parts, ',')\n"
    "  sum = sum + #s + #t\n"
    "  for k, v in pairs(t) do if v then sum = sum + v.x + v.f() end end\n"
    "  t, parts, s = nil, nil, nil\n"
    "  collectgarbage()\n"
    "end\n"
    "return sum\n";

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "glibc";
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    mp_pool *pool = NULL;
    lua_Alloc fn = glibc_alloc;
    if (strcmp(mode, "glibc") != 0) {
        mp_config c = MP_CONFIG_INIT;
        if (strcmp(mode, "fast") == 0)
            mp_config_high_performance_cpu(&c);
        else {
            mp_config_default_cpu(&c);
            c.thread_safe = false;
        }
        if (mp_pool_create("lua", MP_MEMORY_CPU, &c, &pool) != MP_OK) {
            fprintf(stderr, "mp_pool_create: %s\n", mp_last_error_message());
            return 1;
        }
        fn = pool_alloc;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lua_State *L = lua_newstate(fn, pool);
    luaL_openlibs(L);
    if (luaL_loadstring(L, script) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_pushinteger(L, rounds);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    long long sum = (long long)lua_tointeger(L, -1);
    lua_close(L);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%s %.3f s %.1f MiB sum %lld\n", mode, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
           ru.ru_maxrss / 1024.0, sum);
    if (pool)
        mp_pool_destroy(pool);
    return 0;
}
