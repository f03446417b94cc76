/* Lua policies: a pool's grow, on_oom and trim hooks as Lua functions.
 *
 * The C pool calls a hook on its slow path, with its lock released. The
 * hook's user pointer is the pool's record (lhandle), on which the C pool
 * holds a count until mp_policy.release. The Lua object whose set_policy
 * installed the hooks is found again through a weak table, so an object that
 * was collected (even one a program stripped of its finalizer) is never
 * called into: without it, the hook behaves as if there were no policy.
 *
 * A hook runs in a fresh coroutine, resumed from the thread of the module
 * call that reached it (from the main thread when C code outside the module
 * reached it), and inside a pcall there. The coroutine lives for the whole
 * call; Lua counts its C-stack depth with the caller's, so hooks nested
 * through many pools end in a "C stack overflow" error, not a crash; and its
 * pcall closes the hook's to-be-closed variables however the hook ends.
 *
 * Invariants: no Lua error leaves a hook (everything that may raise runs
 * under lua_pcall); a hook never runs Lua for a pool one of whose hooks runs
 * already in this state (r->busy): such a nested slow path sees no policy,
 * so grow is offered exactly what is needed, on_oom declines and trim keeps
 * everything. */
#include "lmempool.h"

#include <stdio.h>
#include <string.h>

enum { HOOK_GROW, HOOK_OOM, HOOK_TRIM, HOOKS };
static const char *const hook_names[HOOKS] = {"grow", "on_oom", "trim"};

/* One hook call: what the C pool passed in, and what the Lua function gave back. */
typedef struct hookcall {
    int kind;
    lhandle *rec;
    mp_pool *pool;
    lua_Integer a, b;     /* grow: need; on_oom: size; trim: reserved, in_use */
    bool failed;          /* the message is in detail */
    bool ran;             /* the Lua function returned */
    bool isint, truthy;   /* its first result */
    lua_Integer value;
    char *detail;         /* the C pool's buffer for a failure's message */
    size_t cap;
} hookcall;

/* ---- running a hook ---------------------------------------------------------------------------- */

/* The message of the error object at the top of T, without running any of its metamethods. */
static void copy_error(lua_State *T, char *detail, size_t cap)
{
    if (lua_type(T, -1) == LUA_TSTRING)
        snprintf(detail, cap, "%s", lua_tostring(T, -1));
    else if (lua_isinteger(T, -1))
        snprintf(detail, cap, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(T, -1));
    else if (lua_type(T, -1) == LUA_TNUMBER)
        snprintf(detail, cap, "%.14g", (double)lua_tonumber(T, -1));
    else
        snprintf(detail, cap, "(error object is a %s value)", luaL_typename(T, -1));
}

/* The body of the hook's coroutine: calls the hook (its function, pool
 * object and arguments are on the stack, below them the hookcall) under a
 * pcall, which closes the hook's to-be-closed variables with hooks on,
 * however it ends. Not yieldable: a hook that yields fails. */
static int hook_main(lua_State *T)
{
    hookcall *c = lua_touserdata(T, 1);
    int st = lua_pcall(T, lua_gettop(T) - 2, 1, 0);
    if (st != LUA_OK) {
        copy_error(T, c->detail, c->cap);
        c->failed = true;
        return 0;
    }
    int isint = 0;
    c->ran = true;
    c->truthy = lua_toboolean(T, -1);
    c->value = lua_type(T, -1) == LUA_TNUMBER ? lua_tointegerx(T, -1, &isint) : 0;
    c->isint = isint;
    return 0;
}

/* Runs under lua_pcall on the calling thread, with the hookcall, the pool
 * object and the hook function as arguments: makes the hook's coroutine
 * and resumes it. */
static int hook_body(lua_State *L)
{
    hookcall *c = lua_touserdata(L, 1);
    lua_State *T = lua_newthread(L);
    lua_pushcfunction(L, hook_main);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 2);
    lua_pushinteger(L, c->a);
    int n = 4; /* hookcall, function, pool, first argument */
    if (c->kind == HOOK_GROW) {
        mp_stats st = MP_STATS_INIT;
        mp_pool_get_stats(c->pool, &st);
        mpl_push_stats(L, &st);
        n++;
    } else if (c->kind == HOOK_TRIM) {
        lua_pushinteger(L, c->b);
        n++;
    }
    if (!lua_checkstack(T, n + 1))
        return luaL_error(L, "no stack left for a Lua hook");
    lua_xmove(L, T, n + 1);
    int nres = 0;
    if (lua_resume(T, L, n, &nres) != LUA_OK) { /* the resume itself failed, as a C stack overflow does */
        copy_error(T, c->detail, c->cap);
        c->failed = true;
    }
    return 0;
}

/* Pushes the pool's Lua object that holds the policy and, above it, its
 * hook of kind; pushes nothing and returns false if there is none. Raises
 * nothing. */
static bool push_hook(lua_State *L, lhandle *r, int kind)
{
    int top = lua_gettop(L);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_policies) == LUA_TTABLE) {
        lua_rawgetp(L, top + 1, r);
        lpool *p = luaL_testudata(L, top + 2, POOL);
        if (p && p->rec == r && !p->closed && lua_getiuservalue(L, top + 2, 1) == LUA_TTABLE &&
            lua_rawgeti(L, top + 3, kind + 1) == LUA_TFUNCTION) {
            lua_remove(L, top + 3);
            lua_remove(L, top + 1);
            return true;
        }
    }
    lua_settop(L, top);
    return false;
}

/* Runs the Lua hook of c. Returns 1 if it returned (its results in c), 0
 * if no Lua ran (no policy object, or a hook of the pool runs already, or
 * the Lua state is closing), -1 if it failed (its message in c->detail). */
static int run(hookcall *c)
{
    lhandle *r = c->rec;
    lstate *S = r->S;
    if (!S || !S->open || r->busy)
        return 0;
    lua_State *L = S->caller ? S->caller : S->main;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 8)) {
        snprintf(c->detail, c->cap, "no Lua stack left for the hook");
        return -1;
    }
    lua_pushcfunction(L, hook_body);
    lua_pushlightuserdata(L, c);
    if (!push_hook(L, r, c->kind)) {
        lua_settop(L, top);
        return 0;
    }
    r->refs++; /* the record outlives the call whatever the hook closes */
    r->busy++;
    int st = lua_pcall(L, 3, 0, 0);
    r->busy--;
    if (st != LUA_OK) {
        copy_error(L, c->detail, c->cap);
        c->failed = true;
    }
    lua_settop(L, top);
    mpl_rec_release(L, r);
    return c->failed ? -1 : 1;
}

static mp_status hook_grow(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    hookcall c = {.kind = HOOK_GROW, .rec = user, .pool = pool, .a = (lua_Integer)need, .detail = detail, .cap = cap};
    detail[0] = 0;
    switch (run(&c)) {
    case 0: *out = need; return MP_OK;
    case -1: return MP_ERR_INVALID_OPERATION;
    }
    if (!c.isint) {
        snprintf(detail, cap, "%s", c.truthy ? "grow must return a byte count" : "the Lua policy refused");
        return MP_ERR_OUT_OF_MEMORY;
    }
    *out = c.value > 0 ? (size_t)c.value : 0;
    return MP_OK;
}

static mp_status hook_oom(void *user, mp_pool *pool, size_t size, char *detail, size_t cap)
{
    hookcall c = {.kind = HOOK_OOM, .rec = user, .pool = pool, .a = (lua_Integer)size, .detail = detail, .cap = cap};
    detail[0] = 0;
    switch (run(&c)) {
    case 0: snprintf(detail, cap, "no Lua policy ran"); return MP_ERR_OUT_OF_MEMORY;
    case -1: return MP_ERR_INVALID_OPERATION;
    }
    if (!c.truthy)
        snprintf(detail, cap, "the Lua policy did not ask for a retry");
    return c.truthy ? MP_OK : MP_ERR_OUT_OF_MEMORY;
}

static mp_status hook_trim(void *user, mp_pool *pool, size_t reserved, size_t in_use, size_t *keep, char *detail,
                           size_t cap)
{
    hookcall c = {.kind = HOOK_TRIM, .rec = user, .pool = pool, .a = (lua_Integer)reserved,
                  .b = (lua_Integer)in_use, .detail = detail, .cap = cap};
    detail[0] = 0;
    switch (run(&c)) {
    case 0: *keep = reserved; return MP_OK;
    case -1: return MP_ERR_INVALID_OPERATION;
    }
    *keep = c.value > 0 ? (size_t)c.value : 0;
    return MP_OK;
}

/* The C pool dropped the policy (replaced, cleared or destroyed with the pool). */
static void policy_release(void *user)
{
    lhandle *r = user;
    r->policy = false;
    mpl_rec_release_c(r);
}

/* ---- set_policy --------------------------------------------------------------------------------- */

/* By identity, not through the weak table: Lua clears an object's weak
 * entries before its finalizer runs. */
static bool holds_policy(const lpool *p) { return p->rec && p->rec->policy && p->rec->holder == p; }

void mpl_forget_policy(lua_State *L, lhandle *r)
{
    r->holder = NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_policies);
    lua_pushnil(L); /* removes a key or does nothing: no allocation */
    lua_rawsetp(L, -2, r);
    lua_pop(L, 1);
}

void mpl_drop_policy(lua_State *L, lpool *p)
{
    if (!holds_policy(p))
        return;
    if (p->rec->h)
        mp_pool_set_policy(p->rec->h, NULL);
    mpl_forget_policy(L, p->rec);
}

/* pool:set_policy{ grow = f, on_oom = f, trim = f } or pool:set_policy(nil) */
int mpl_pool_set_policy(lua_State *L)
{
    lpool *p = luaL_checkudata(L, 1, POOL);
    if (lua_isnoneornil(L, 2)) {
        mp_status s = mp_pool_set_policy(mpl_handle(p), NULL);
        if (s != MP_OK)
            return mpl_fail_msg(L, s, "%s", mp_last_error_message());
        mpl_forget_policy(L, p->rec);
        lua_pushnil(L);
        lua_setiuservalue(L, 1, 1);
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_createtable(L, HOOKS, 0); /* 3: the hooks */
    mp_policy pol = {sizeof pol, NULL, NULL, NULL, NULL, policy_release};
    for (int i = 0; i < HOOKS; i++) {
        int t = lua_getfield(L, 2, hook_names[i]);
        if (t != LUA_TNIL && t != LUA_TFUNCTION)
            return luaL_argerror(L, 2, lua_pushfstring(L, "field '%s' must be a function", hook_names[i]));
        lua_rawseti(L, 3, i + 1);
    }
    pol.grow = lua_rawgeti(L, 3, HOOK_GROW + 1) == LUA_TFUNCTION ? hook_grow : NULL;
    pol.on_oom = lua_rawgeti(L, 3, HOOK_OOM + 1) == LUA_TFUNCTION ? hook_oom : NULL;
    pol.trim = lua_rawgeti(L, 3, HOOK_TRIM + 1) == LUA_TFUNCTION ? hook_trim : NULL;
    lua_settop(L, 3);
    if (!mpl_handle(p))
        return mpl_fail_msg(L, MP_ERR_INVALID_ARGUMENT, "pool is NULL");
    lhandle *r = p->rec;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_policies); /* 4 */
    lua_rawgetp(L, 4, r);                              /* 5: the object that held the policy */
    lua_pushvalue(L, 1);
    lua_rawsetp(L, 4, r); /* the last Lua allocation: it may raise before anything changed */
    pol.user = r;
    r->refs++; /* the C pool's, until policy_release */
    mp_status s = mp_pool_set_policy(mpl_handle(p), &pol);
    if (s != MP_OK) {
        r->refs--;
        lua_pushvalue(L, 5);
        lua_rawsetp(L, 4, r);
        return mpl_fail_msg(L, s, "%s", mp_last_error_message());
    }
    r->policy = true;
    r->holder = p;
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, 1, 1);
    lua_pushboolean(L, 1);
    return 1;
}
