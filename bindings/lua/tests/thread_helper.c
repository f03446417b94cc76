/* A test helper module for the Lua suite, playing a host program: C code on
 * another thread that allocates from a pool given by its handle
 * (pool:handle()), as a host sharing a Lua-policied pool with its worker
 * threads would, C threads recording into a tracker (stats:handle()), and a
 * second Lua state in the same process. */
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

typedef struct recorder {
    mp_tracker *tracker;
    int index, count, ok;
} recorder;

static void *record_there(void *arg)
{
    recorder *r = arg;
    for (int i = 0; i < r->count; i++) {
        /* an address of this thread's own, never dereferenced */
        const void *p = (const void *)(((uintptr_t)(r->index + 1) << 32) + (uintptr_t)(i + 1) * 16);
        if (mp_tracker_record_allocation(r->tracker, 8) == MP_OK && mp_tracker_track_allocation(r->tracker, p, 16) == MP_OK
            && mp_tracker_track_deallocation(r->tracker, p) == MP_OK)
            r->ok++;
    }
    return NULL;
}

/* helper.record_on_threads(tracker_handle, threads, count) -> the rounds that
 * succeeded: each thread, count times, records 8 bytes and tracks and
 * untracks 16 bytes at an address of its own, all threads at once. */
static int record_on_threads(lua_State *L)
{
    mp_tracker *t = (mp_tracker *)(uintptr_t)luaL_checkinteger(L, 1);
    int n = (int)luaL_checkinteger(L, 2), count = (int)luaL_checkinteger(L, 3);
    luaL_argcheck(L, n > 0 && n <= 16, 2, "1 to 16 threads");
    recorder r[16];
    pthread_t th[16];
    int started = 0, ok = 0;
    for (int i = 0; i < n; i++) {
        r[i] = (recorder){t, i, count, 0};
        if (pthread_create(&th[i], NULL, record_there, &r[i]) == 0)
            started++;
        else
            break;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        ok += r[i].ok;
    }
    if (started < n)
        return luaL_error(L, "pthread_create failed");
    lua_pushinteger(L, ok);
    return 1;
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
    lua_pushcfunction(L, record_on_threads);
    lua_setfield(L, -2, "record_on_threads");
    return 1;
}
