/* A test helper module for the Lua suite, playing a host program: C code on
 * another thread that allocates from a pool given by its handle
 * (pool:handle()), as a host sharing a Lua-policied pool with its worker
 * threads would, and a second Lua state in the same process. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
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

/* helper.in_other_state(code) -> what the chunk returned (a string), or nil,
 * message: runs code in a new Lua state of this process, with the caller's
 * package.cpath, then closes that state. */
static int in_other_state(lua_State *L)
{
    const char *code = luaL_checkstring(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "cpath");
    const char *cpath = lua_tostring(L, -1);
    lua_State *O = luaL_newstate();
    if (!O)
        return luaL_error(L, "no memory for a Lua state");
    luaL_openlibs(O);
    lua_getglobal(O, "package");
    lua_pushstring(O, cpath ? cpath : "");
    lua_setfield(O, -2, "cpath");
    lua_pop(O, 1);
    int ok = luaL_dostring(O, code) == LUA_OK;
    if (ok)
        lua_pushstring(L, lua_tostring(O, -1) ? lua_tostring(O, -1) : "");
    else {
        lua_pushnil(L);
        lua_pushstring(L, lua_tostring(O, -1));
    }
    lua_close(O);
    return ok ? 1 : 2;
}

LUAMOD_API __attribute__((visibility("default"))) int luaopen_mempool_thread_helper(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, allocate_on_thread);
    lua_setfield(L, -2, "allocate_on_thread");
    lua_pushcfunction(L, in_other_state);
    lua_setfield(L, -2, "in_other_state");
    return 1;
}
