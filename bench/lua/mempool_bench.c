/* The C side of the Lua benchmark: the same allocate+free loop in C, on a
 * pool given by its handle (pool:handle()), inside the same Lua process. */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <mempool/mempool.h>

#include <stdint.h>
#include <time.h>

static int c_pairs(lua_State *L)
{
    mp_pool *pool = (mp_pool *)(uintptr_t)luaL_checkinteger(L, 1);
    size_t size = (size_t)luaL_checkinteger(L, 2);
    lua_Integer n = luaL_checkinteger(L, 3);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (lua_Integer i = 0; i < n; i++) {
        void *p;
        if (mp_pool_allocate(pool, size, &p) != MP_OK || mp_pool_deallocate(pool, p) != MP_OK)
            return luaL_error(L, "the C loop failed: %s", mp_last_error_message());
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    lua_pushnumber(L, ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n);
    return 1;
}

LUAMOD_API __attribute__((visibility("default"))) int luaopen_mempool_bench(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, c_pairs);
    lua_setfield(L, -2, "c_pairs");
    return 1;
}
