/* A test helper module for the Lua suite: C code on another thread that
 * allocates from a pool given by its handle (pool:handle()), as a host
 * program sharing a Lua-policied pool with its worker threads would. */
#include <lauxlib.h>
#include <lua.h>
#include <mempool/mempool.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

typedef struct job {
    mp_pool *pool;
    size_t size;
    mp_status status;
    char detail[512];
} job;

static void *allocate_there(void *arg)
{
    job *j = arg;
    void *p = NULL;
    j->status = mp_pool_allocate(j->pool, j->size, &p);
    snprintf(j->detail, sizeof j->detail, "%s", mp_last_error_message());
    if (j->status == MP_OK)
        mp_pool_deallocate(j->pool, p);
    return NULL;
}

/* helper.allocate_on_thread(handle, size) -> status name, detail */
static int allocate_on_thread(lua_State *L)
{
    job j = {(mp_pool *)(uintptr_t)luaL_checkinteger(L, 1), (size_t)luaL_checkinteger(L, 2), MP_OK, ""};
    pthread_t t;
    if (pthread_create(&t, NULL, allocate_there, &j) != 0)
        return luaL_error(L, "pthread_create failed");
    pthread_join(t, NULL);
    lua_pushstring(L, mp_status_name(j.status));
    lua_pushstring(L, j.detail);
    return 2;
}

LUAMOD_API __attribute__((visibility("default"))) int luaopen_mempool_thread_helper(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, allocate_on_thread);
    lua_setfield(L, -2, "allocate_on_thread");
    return 1;
}
