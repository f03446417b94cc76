/* Routers: mempool.router{ name = ..., { max = 64, pool = p }, ..., { pool = rest } }
 * over mp_router. A router holds its pools: their objects (uservalue, to
 * return them) and their records (counted, to know whether each pool still
 * lives), so a closed pool is refused, never touched. */
#include "lmempool.h"

#include <stdint.h>
#include <stdio.h>

typedef struct lrouter {
    mp_router *h;
    int n;
    char name[MP_NAME_MAX + 1];
    lhandle *recs[];      /* the pool of each range, counted */
} lrouter;

#define MAX_RANGES 4096

static void router_release(lua_State *L, lrouter *r)
{
    if (r->h)
        mp_router_destroy(r->h);
    r->h = NULL;
    while (r->n > 0) {
        lhandle *rec = r->recs[--r->n];
        r->recs[r->n] = NULL;
        mpl_rec_release(L, rec);
    }
}

/* mempool.router{ ... } -> router | nil, message, status */
int mpl_router(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "name");
    const char *name = luaL_optstring(L, -1, "lua-router");
    lua_Integer n = luaL_len(L, 1);
    luaL_argcheck(L, n >= 0 && n <= MAX_RANGES, 1, "too many ranges");
    lrouter *r = lua_newuserdatauv(L, sizeof *r + (size_t)n * sizeof r->recs[0], 1);
    r->h = NULL;
    r->n = 0;
    snprintf(r->name, sizeof r->name, "%s", name);
    luaL_setmetatable(L, ROUTER);
    int ri = lua_gettop(L);
    lua_createtable(L, (int)n, 0);
    lua_setiuservalue(L, ri, 1);
    mp_status s = mp_router_create(name, &r->h);
    if (s != MP_OK)
        return mpl_fail(L, s);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_geti(L, 1, i) != LUA_TTABLE)
            return luaL_argerror(L, 1, lua_pushfstring(L, "range %I is not a table", i));
        int range = lua_gettop(L);
        lua_getfield(L, range, "pool");
        lpool *p = luaL_testudata(L, -1, POOL);
        if (!p)
            return luaL_argerror(L, 1, lua_pushfstring(L, "range %I: field 'pool' must be a mempool.pool", i));
        lua_getiuservalue(L, ri, 1);
        lua_pushvalue(L, -2);
        lua_rawseti(L, -2, i);
        size_t max = mpl_opt_size(L, range, "max", SIZE_MAX);
        lua_settop(L, ri);
        if ((s = mp_router_add(r->h, max, mpl_handle(p))) != MP_OK)
            return mpl_fail(L, s);
        r->recs[r->n++] = p->rec;
        p->rec->refs++;
    }
    return 1;
}

static lrouter *check_router(lua_State *L) { return luaL_checkudata(L, 1, ROUTER); }

/* Pushes the open pool object that serves size; else pushes a failure and
 * returns its count. Reads only the router's own memory and records. */
static int route(lua_State *L, lrouter *r, size_t size)
{
    mp_pool *h = NULL;
    mp_status s = mp_router_pool_for(r->h, size, &h);
    if (s != MP_OK)
        return mpl_fail(L, s);
    for (int i = 0; i < r->n; i++) {
        if (r->recs[i]->h != h)
            continue;
        lpool *p = NULL;
        if (lua_getiuservalue(L, 1, 1) == LUA_TTABLE) {
            lua_rawgeti(L, -1, i + 1);
            lua_remove(L, -2);
            p = luaL_testudata(L, -1, POOL);
        }
        if (p && p->rec == r->recs[i] && mpl_handle(p))
            return 0;
        lua_pop(L, 1);
        return mpl_fail_msg(L, MP_ERR_INVALID_ARGUMENT, "router '%s': pool '%s', which serves %I bytes, is closed",
                            r->name, r->recs[i]->name, (lua_Integer)size);
    }
    return mpl_fail_msg(L, MP_ERR_INVALID_ARGUMENT, "router '%s': the pool that served %I bytes was closed", r->name,
                        (lua_Integer)size);
}

static int router_pool_for(lua_State *L)
{
    lrouter *r = check_router(L);
    lua_Integer size = luaL_checkinteger(L, 2);
    luaL_argcheck(L, size >= 0, 2, "size must not be negative");
    int failed = route(L, r, (size_t)size);
    return failed ? failed : 1;
}

/* router:allocate(size) -> block of the pool serving size, allocated as
 * pool:allocate does: a hook that closes the router meanwhile is harmless. */
static int router_allocate(lua_State *L)
{
    lrouter *r = check_router(L);
    lua_Integer size = luaL_checkinteger(L, 2);
    luaL_argcheck(L, size >= 0, 2, "size must not be negative");
    int failed = route(L, r, (size_t)size);
    return failed ? failed : mpl_allocate_through(L, mpl_S(L), -1, (size_t)size, MP_ALLOC_NONE, NULL);
}

/* router:deallocate(block): the C router looks into every pool it has, so
 * it is asked only while all of them live. */
static int router_deallocate(lua_State *L)
{
    lrouter *r = check_router(L);
    if (mpl_nil_free(L, 2))
        return 1;
    lblock *b = mpl_check_block(L, 2);
    int done = mpl_settled(L, b);
    if (done)
        return done;
    for (int i = 0; i < r->n; i++)
        if (!r->recs[i]->h)
            return mpl_fail_msg(L, MP_ERR_INVALID_ARGUMENT,
                                "router '%s': its pool '%s' is closed; free the block with block:free()", r->name,
                                r->recs[i]->name);
    mp_status s = mp_router_deallocate(r->h, b->p);
    if (s == MP_OK)
        b->live = false;
    return mpl_ok_or_fail(L, s);
}

static int router_close(lua_State *L)
{
    router_release(L, check_router(L));
    lua_pushboolean(L, 1);
    return 1;
}

const luaL_Reg mpl_router_methods[] = {
    {"allocate", router_allocate}, {"deallocate", router_deallocate}, {"pool_for", router_pool_for},
    {"close", router_close}, {NULL, NULL}};
const luaL_Reg mpl_router_meta[] = {{"__gc", router_close}, {"__close", router_close}, {NULL, NULL}};
