/* mempool for Lua 5.4: local mempool = require "mempool"
 *
 * A hand-written module over the C ABI. Pools, blocks, routers and
 * memory_stats are userdata; operational failures return nil, message,
 * status name; wrong argument types, integers that the C parameter cannot
 * hold, and strings that are none of an enum's options (a config table's
 * preset, allocator and sync; an allocation flag; "cpu"/"gpu"; a snapshot
 * kind) raise errors naming the argument or field and the options, as
 * luaL_checkoption does.
 *
 * The rules the seed's API leaves open:
 *  - Freeing nil (pool:deallocate, deallocate_on_stream, router:deallocate,
 *    mempool.deallocate, deallocate_gpu) does nothing and returns true.
 *  - get_cpu_pool(name) and get_gpu_pool(name) never raise for a name:
 *    nil, message, "MP_ERR_NOT_FOUND" when no pool has it,
 *    "MP_ERR_INVALID_OPERATION" when it names a pool of the other memory type.
 *  - GPU calls without CUDA or a device (gpu_pool, get_gpu_pool() for
 *    "default_gpu", allocate_gpu, "pinned"/"managed" allocations) return
 *    nil, message, "MP_ERR_UNSUPPORTED"; a CUDA failure "MP_ERR_CUDA".
 *  - mempool.DEFAULT_ALIGNMENT is the C library's MP_DEFAULT_ALIGNMENT.
 *
 * The files: this one (the module table, the state, records, configuration
 * tables, the registry and global helpers), lpool.c (pool and block
 * objects), lrouter.c (routers), lpolicy.c (Lua hooks and their budget),
 * lstats.c (memory_stats: standalone statistics and snapshots).
 *
 * Each C pool this Lua state uses has one record (lhandle, see lmempool.h)
 * shared by all of its Lua objects and blocks; closing or destroying a
 * pool is a change of its record, so every object and block sees it.
 * Any Lua allocation may run finalizers, and a finalizer may free blocks or
 * reset and close pools. So every function reads a handle, an address or a
 * block's liveness after its last Lua allocation and before its C call. */
#include "lmempool.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char mpl_key_state = 0;    /* the sentinel: a userdata holding the lstate */
const char mpl_key_handles = 0;  /* lightuserdata(registry pool handle) -> lightuserdata(lhandle) */
const char mpl_key_pools = 0;    /* weak: lightuserdata(handle) -> the registry pool's open object */
const char mpl_key_policies = 0; /* weak: lightuserdata(lhandle) -> the object that set its policy */

/* The lstate of the module's functions: their first upvalue is the sentinel. */
lstate *mpl_S(lua_State *L)
{
    lstate **slot = lua_touserdata(L, lua_upvalueindex(1));
    return slot ? *slot : NULL;
}

lstate *mpl_state(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_state);
    lstate **slot = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return slot ? *slot : NULL;
}

/* A C call that may reach a Lua hook runs between enter and leave, so that
 * the hook runs from this (running) thread. */
lua_State *mpl_enter(lstate *S, lua_State *L)
{
    if (!S)
        return NULL;
    lua_State *prev = S->caller;
    S->caller = L;
    atomic_store_explicit(&S->thread, pthread_self(), memory_order_relaxed);
    return prev;
}

void mpl_leave(lstate *S, lua_State *prev)
{
    if (S)
        S->caller = prev;
}

/* ---- results -------------------------------------------------------------------- */

int mpl_fail(lua_State *L, mp_status s)
{
    lua_pushnil(L);
    lua_pushstring(L, mp_last_error_message());
    lua_pushstring(L, mp_status_name(s));
    return 3;
}

/* A failure found by the module itself, before any C call. */
int mpl_fail_msg(lua_State *L, mp_status s, const char *fmt, ...)
{
    lua_pushnil(L);
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_pushstring(L, mp_status_name(s));
    return 3;
}

int mpl_ok_or_fail(lua_State *L, mp_status s)
{
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- records ------------------------------------------------------------------------ */

static void rec_free(lhandle *r)
{
    lstate *S = r->S;
    free(r);
    if (S && --S->refs == 0)
        free(S);
}

lhandle *mpl_rec_new(lua_State *L, lstate *S)
{
    lhandle *r = calloc(1, sizeof *r);
    if (!r)
        luaL_error(L, "not enough memory");
    r->S = S;
    if (S)
        S->refs++;
    return r;
}

void mpl_rec_name(lhandle *r)
{
    const char *name = NULL;
    if (r->h && mp_pool_get_name(r->h, &name) == MP_OK)
        snprintf(r->name, sizeof r->name, "%s", name);
}

static void unmap(lua_State *L, lhandle *r)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_handles);
    if (lua_istable(L, -1)) {
        lua_rawgetp(L, -1, r->h);
        bool mine = lua_touserdata(L, -1) == r;
        lua_pop(L, 1);
        if (mine) {
            lua_pushnil(L); /* an existing key: no allocation */
            lua_rawsetp(L, -2, r->h);
        }
    }
    lua_pop(L, 1);
    r->mapped = false;
}

void mpl_rec_release(lua_State *L, lhandle *r)
{
    if (--r->refs > 0)
        return;
    if (r->mapped)
        unmap(L, r);
    rec_free(r);
}

void mpl_rec_release_c(lhandle *r)
{
    if (--r->refs == 0 && !r->mapped)
        rec_free(r);
}

/* The record of a registry pool's handle, made on first sight. */
lhandle *mpl_rec_get(lua_State *L, lstate *S, mp_pool *h)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_handles);
    lua_rawgetp(L, -1, h);
    lhandle *r = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!r) {
        lua_pushboolean(L, 1);
        lua_rawsetp(L, -2, h); /* makes room first: this may raise, with nothing to undo */
        r = calloc(1, sizeof *r);
        if (!r) {
            lua_pushnil(L);
            lua_rawsetp(L, -2, h);
            luaL_error(L, "not enough memory");
        }
        r->S = S;
        if (S)
            S->refs++;
        r->h = h;
        r->mapped = true;
        mpl_rec_name(r);
        lua_pushlightuserdata(L, r);
        lua_rawsetp(L, -2, h);
    }
    lua_pop(L, 1);
    return r;
}

lhandle *mpl_rec_find(lua_State *L, mp_pool *h)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_handles);
    lua_rawgetp(L, -1, h);
    lhandle *r = lua_touserdata(L, -1);
    lua_pop(L, 2);
    return r;
}

/* The pool is gone: every object of it answers as closed, every block is stale. */
void mpl_rec_dead(lua_State *L, lhandle *r)
{
    if (!r->h)
        return;
    if (r->mapped)
        unmap(L, r);
    mpl_forget_policy(L, r);
    r->h = NULL;
    r->epoch++;
}

/* ---- configuration from a table ------------------------------------------------------ */

lua_Integer mpl_opt_int(lua_State *L, int arg, int t, const char *k, lua_Integer lo, lua_Integer hi, lua_Integer dflt)
{
    lua_getfield(L, t, k);
    lua_Integer v = dflt;
    if (!lua_isnil(L, -1)) {
        int isint = 0;
        if (lua_type(L, -1) == LUA_TNUMBER)
            v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < lo || v > hi) {
            if (lo == 0 && hi == LUA_MAXINTEGER)
                luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' must be a non-negative integer", k));
            luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' must be an integer from %I to %I", k, lo, hi));
        }
    }
    lua_pop(L, 1);
    return v;
}

size_t mpl_opt_size(lua_State *L, int t, const char *k, size_t dflt)
{
    lua_getfield(L, t, k);
    bool absent = lua_isnil(L, -1);
    lua_pop(L, 1);
    return absent ? dflt : (size_t)mpl_opt_int(L, 1, t, k, 0, LUA_MAXINTEGER, 0);
}

bool mpl_opt_bool(lua_State *L, int t, const char *k, bool dflt)
{
    lua_getfield(L, t, k);
    bool v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The index in list of the string at index i, as luaL_checkoption gives,
 * but the error names the field k of argument arg (or the argument, k NULL)
 * and lists the options: "field 'sync': invalid option 'lockfree',
 * expected 'mutex' or 'lock_free'". Only strings match, never numbers. */
static int option_at(lua_State *L, int i, int arg, const char *k, const char *const list[])
{
    i = lua_absindex(L, i);
    const char *given = lua_type(L, i) == LUA_TSTRING ? lua_tostring(L, i) : NULL;
    for (int n = 0; given && list[n]; n++)
        if (strcmp(given, list[n]) == 0)
            return n;
    int top = lua_gettop(L);
    if (k)
        lua_pushfstring(L, "field '%s': ", k);
    if (given)
        lua_pushfstring(L, "invalid option '%s', expected ", given);
    else
        lua_pushfstring(L, "invalid option (a %s), expected ", luaL_typename(L, i));
    for (int n = 0; list[n]; n++)
        lua_pushfstring(L, "%s'%s'", n == 0 ? "" : list[n + 1] ? ", " : " or ", list[n]);
    lua_concat(L, lua_gettop(L) - top);
    return luaL_argerror(L, arg, lua_tostring(L, -1));
}

int mpl_check_option(lua_State *L, int arg, const char *def, const char *const list[])
{
    if (def && lua_isnoneornil(L, arg)) {
        lua_pushstring(L, def);
        int n = option_at(L, -1, arg, NULL, list);
        lua_pop(L, 1);
        return n;
    }
    return option_at(L, arg, arg, NULL, list);
}

int mpl_opt_option(lua_State *L, int arg, int t, const char *k, int dflt, const char *const list[])
{
    lua_getfield(L, t, k);
    int n = lua_isnil(L, -1) ? dflt : option_at(L, -1, arg, k, list);
    lua_pop(L, 1);
    return n;
}

/* Fills c from the table at t: a preset first, then each field given. */
mp_status mpl_config_from(lua_State *L, int t, mp_memory_type type, mp_config *c)
{
    static const char *const presets[] = {"default", "fixed", "high_performance", "debug", "general_purpose", NULL};
    static const char *const allocators[] = {"fixed", "variable", NULL};
    static const char *const syncs[] = {"mutex", "lock_free", NULL};
    int preset = mpl_opt_option(L, 1, t, "preset", 0, presets);
    int allocator = mpl_opt_option(L, 1, t, "allocator", -1, allocators);
    int sync = mpl_opt_option(L, 1, t, "sync", -1, syncs);
    if (allocator == 0)
        preset = 1;
    size_t block = mpl_opt_size(L, t, "block_size", 256);
    int device = (int)mpl_opt_int(L, 1, t, "device", INT_MIN, INT_MAX, 0);
    bool gpu = type == MP_MEMORY_GPU;
    mp_status s;
    switch (preset) {
    case 1: s = gpu ? mp_config_fixed_size_gpu(c, block, device) : mp_config_fixed_size_cpu(c, block); break;
    case 2: s = gpu ? mp_config_high_performance_gpu(c, device) : mp_config_high_performance_cpu(c); break;
    case 3: s = gpu ? mp_config_debug_gpu(c, device) : mp_config_debug_cpu(c); break;
    case 4:
        if (gpu)
            luaL_argerror(L, 1, "preset 'general_purpose' is a CPU preset");
        s = mp_config_general_purpose_cpu(c);
        break;
    default: s = gpu ? mp_config_default_gpu(c) : mp_config_default_cpu(c); break;
    }
    if (s != MP_OK)
        return s;
    if (allocator >= 0)
        c->allocator_type = allocator == 0 ? MP_ALLOCATOR_FIXED_SIZE : MP_ALLOCATOR_VARIABLE_SIZE;
    if (sync >= 0)
        c->sync_type = sync == 1 ? MP_SYNC_LOCK_FREE : MP_SYNC_MUTEX;
    c->block_size = block;
    c->device_id = device;
    c->initial_size = mpl_opt_size(L, t, "initial_size", c->initial_size);
    c->max_size = mpl_opt_size(L, t, "max_size", c->max_size);
    c->alignment = mpl_opt_size(L, t, "alignment", c->alignment);
    c->growth_factor = mpl_opt_size(L, t, "growth_factor", c->growth_factor);
    c->thread_safe = mpl_opt_bool(L, t, "thread_safe", c->thread_safe);
    c->track_stats = mpl_opt_bool(L, t, "track_stats", c->track_stats);
    c->counters_only = mpl_opt_bool(L, t, "counters_only", c->counters_only);
    c->enable_debugging = mpl_opt_bool(L, t, "debug", c->enable_debugging);
    c->use_pinned_memory = mpl_opt_bool(L, t, "pinned", c->use_pinned_memory);
    c->use_managed_memory = mpl_opt_bool(L, t, "managed", c->use_managed_memory);
    return MP_OK;
}

/* ---- registry and globals ---------------------------------------------------------------------------- */

static int get_pool(lua_State *L, mp_memory_type type)
{
    const char *name = luaL_optstring(L, 1, type == MP_MEMORY_GPU ? "default_gpu" : "default");
    mp_pool *h = NULL;
    mp_status s = type == MP_MEMORY_GPU ? mp_registry_get_gpu_pool(name, &h) : mp_registry_get_cpu_pool(name, &h);
    if (s != MP_OK)
        return mpl_fail(L, s);
    mpl_push_pool_of(L, mpl_S(L), h);
    return 1;
}

static int l_get_cpu_pool(lua_State *L) { return get_pool(L, MP_MEMORY_CPU); }
static int l_get_gpu_pool(lua_State *L) { return get_pool(L, MP_MEMORY_GPU); }

/* mempool.destroy_pool(name): every Lua object of the pool answers as
 * closed afterwards and every block of it is stale. */
static int l_destroy_pool(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    mp_pool *h = NULL;
    lhandle *r = mp_registry_find(name, &h) == MP_OK ? mpl_rec_find(L, h) : NULL;
    if (r && r->busy)
        return mpl_fail_msg(L, MP_ERR_INVALID_OPERATION, "pool '%s' cannot be destroyed while one of its hooks runs",
                            name);
    mp_status s = mp_registry_destroy(name);
    if (s == MP_OK && r)
        mpl_rec_dead(L, r);
    return mpl_ok_or_fail(L, s);
}

static int l_reset_all(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_handles);
    lua_pushnil(L);
    while (lua_next(L, -2)) { /* as pool:reset, refused while a reallocation waits for a hook */
        lhandle *r = lua_touserdata(L, -1);
        if (r && r->h && r->resizing)
            return mpl_fail_msg(L, MP_ERR_INVALID_OPERATION, "pool '%s' cannot be reset while a reallocation "
                                "waits for its hook", r->name);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    mp_registry_reset_all();
    /* Every registry pool's blocks are stale now. */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_handles);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lhandle *r = lua_touserdata(L, -1);
        if (r && r->h)
            r->epoch++;
        lua_pop(L, 1);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_pool_names(lua_State *L)
{
    char *names = NULL;
    mp_status s = mp_registry_names(&names);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_newtable(L);
    int i = 0;
    for (char *n = strtok(names, "\n"); n; n = strtok(NULL, "\n")) {
        lua_pushstring(L, n);
        lua_rawseti(L, -2, ++i);
    }
    mp_string_free(names);
    return 1;
}

static int l_all_stats_json(lua_State *L)
{
    char *t = NULL;
    mp_status s = mp_registry_stats_json(&t);
    return mpl_push_string(L, s, t);
}

/* mempool.stats_print([options]) -> the text mp_stats_print writes ("text"
 * or "json"), collected in C memory (a Lua error must not unwind through
 * the library). */
typedef struct print_sink {
    char *s;
    size_t len;
    bool failed;
} print_sink;

static void print_collect(void *opaque, const char *text)
{
    print_sink *k = opaque;
    size_t n = strlen(text);
    char *s = k->failed ? NULL : realloc(k->s, k->len + n + 1);
    if (!s) {
        k->failed = true;
        return;
    }
    memcpy(s + k->len, text, n + 1);
    k->s = s;
    k->len += n;
}

static int l_stats_print(lua_State *L)
{
    const char *options = luaL_optstring(L, 1, NULL);
    print_sink k = {0};
    mp_status s = mp_stats_print(print_collect, &k, options);
    if (s != MP_OK) {
        free(k.s);
        return mpl_fail(L, s);
    }
    if (k.failed) {
        free(k.s);
        return luaL_error(L, "mempool.stats_print: out of memory");
    }
    lua_pushlstring(L, k.s ? k.s : "", k.len);
    free(k.s);
    return 1;
}

/* mempool.all_stats() -> { name = stats table, ... } */
static int l_all_stats(lua_State *L)
{
    char *names = NULL;
    mp_status s = mp_registry_names(&names);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_newtable(L);
    for (char *n = strtok(names, "\n"); n; n = strtok(NULL, "\n")) {
        mp_pool *h = NULL;
        mp_stats st = MP_STATS_INIT;
        if (mp_registry_find(n, &h) == MP_OK && mp_pool_get_stats(h, &st) == MP_OK) {
            mpl_push_stats(L, &st);
            lua_setfield(L, -2, n);
        }
    }
    mp_string_free(names);
    return 1;
}

/* mempool.validate(config_table [, "cpu"|"gpu"]) -> true | nil, message, status */
static int l_validate(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const types[] = {"cpu", "gpu", NULL};
    mp_memory_type t = mpl_check_option(L, 2, "cpu", types) ? MP_MEMORY_GPU : MP_MEMORY_CPU;
    mp_config c = MP_CONFIG_INIT;
    mp_status s = mpl_config_from(L, 1, t, &c);
    return mpl_ok_or_fail(L, s == MP_OK ? mp_config_validate(&c, t) : s);
}

/* mempool.allocate(size [, pool_name]) -> block of that registry pool (default "default").
 * The pool is found first and allocated from as pool:allocate does, so no
 * registry lock is held while a hook runs. */
static int global_allocate(lua_State *L, mp_memory_type t)
{
    lua_Integer size = luaL_checkinteger(L, 1);
    const char *name = luaL_optstring(L, 2, t == MP_MEMORY_GPU ? "default_gpu" : "default");
    luaL_argcheck(L, size >= 0, 1, "size must not be negative");
    mp_pool *h = NULL;
    mp_status s = t == MP_MEMORY_GPU ? mp_registry_get_gpu_pool(name, &h) : mp_registry_get_cpu_pool(name, &h);
    if (s != MP_OK)
        return mpl_fail(L, s);
    mpl_push_pool_of(L, mpl_S(L), h);
    return mpl_allocate_through(L, mpl_S(L), -1, (size_t)size, MP_ALLOC_NONE, NULL);
}

/* mempool.deallocate(block [, pool_name]); nil: nothing, whatever the name */
static int global_deallocate(lua_State *L, mp_memory_type t)
{
    if (mpl_nil_free(L, 1))
        return 1;
    lblock *b = mpl_check_block(L, 1);
    const char *name = luaL_optstring(L, 2, t == MP_MEMORY_GPU ? "default_gpu" : "default");
    int done = mpl_settled(L, b);
    if (done)
        return done;
    mp_status s = t == MP_MEMORY_GPU ? mp_deallocate_gpu(name, b->p) : mp_deallocate(name, b->p);
    if (s == MP_OK)
        b->live = false;
    return mpl_ok_or_fail(L, s);
}

static int l_allocate(lua_State *L) { return global_allocate(L, MP_MEMORY_CPU); }
static int l_deallocate(lua_State *L) { return global_deallocate(L, MP_MEMORY_CPU); }
static int l_allocate_gpu(lua_State *L) { return global_allocate(L, MP_MEMORY_GPU); }
static int l_deallocate_gpu(lua_State *L) { return global_deallocate(L, MP_MEMORY_GPU); }

static int l_version(lua_State *L)
{
    lua_pushstring(L, mp_version_string());
    lua_pushinteger(L, mp_version());
    return 2;
}

static int l_device_count(lua_State *L)
{
    int n = 0;
    mp_gpu_device_count(&n);
    lua_pushinteger(L, n);
    return 1;
}

static int l_last_error(lua_State *L)
{
    lua_pushstring(L, mp_status_name(mp_last_error()));
    lua_pushstring(L, mp_last_error_message());
    lua_pushstring(L, mp_status_string(mp_last_error()));
    return 3;
}

/* ---- module ----------------------------------------------------------------------------------------- */

static const luaL_Reg functions[] = {
    {"cpu_pool", mpl_cpu_pool}, {"gpu_pool", mpl_gpu_pool}, {"get_cpu_pool", l_get_cpu_pool},
    {"get_gpu_pool", l_get_gpu_pool}, {"destroy_pool", l_destroy_pool}, {"reset_all", l_reset_all},
    {"pool_names", l_pool_names}, {"all_stats", l_all_stats}, {"all_stats_json", l_all_stats_json},
    {"stats_print", l_stats_print},
    {"router", mpl_router}, {"validate", l_validate}, {"allocate", l_allocate}, {"deallocate", l_deallocate},
    {"allocate_gpu", l_allocate_gpu}, {"deallocate_gpu", l_deallocate_gpu}, {"version", l_version},
    {"device_count", l_device_count}, {"last_error", l_last_error}, {"memory_stats", mpl_memory_stats}, {NULL, NULL}};

/* The metatable of class name; every function gets the sentinel at index up. */
static void new_class(lua_State *L, int up, const char *name, const luaL_Reg *methods, const luaL_Reg *meta)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    lua_pushvalue(L, up);
    luaL_setfuncs(L, methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, up);
    luaL_setfuncs(L, meta, 1);
    lua_pop(L, 1);
}

/* The state goes away: no hook runs on it any more. */
static int sentinel_gc(lua_State *L)
{
    lstate **slot = lua_touserdata(L, 1);
    lstate *S = slot ? *slot : NULL;
    if (S) {
        *slot = NULL;
        S->open = false;
        S->main = S->caller = NULL;
        if (--S->refs == 0)
            free(S);
    }
    return 0;
}

/* Pushes the state's sentinel, made on the first require. */
static void push_sentinel(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_state) == LUA_TUSERDATA)
        return;
    lua_pop(L, 1);
    lstate **slot = lua_newuserdatauv(L, sizeof *slot, 0);
    *slot = NULL;
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, sentinel_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lstate *S = calloc(1, sizeof *S);
    if (!S)
        luaL_error(L, "not enough memory");
    *slot = S;
    S->refs = 1;
    S->open = true;
    atomic_init(&S->thread, pthread_self());
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    S->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    mpl_watch_init(L, S);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &mpl_key_state);
}

/* Makes the registry table at key unless it exists; mode "v" makes it weak. */
static void registry_table(lua_State *L, const void *key, const char *mode)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_newtable(L);
    if (mode) {
        lua_createtable(L, 0, 1);
        lua_pushstring(L, mode);
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

LUAMOD_API __attribute__((visibility("default"))) int luaopen_mempool(lua_State *L)
{
    luaL_checkversion(L);
    registry_table(L, &mpl_key_handles, NULL);
    registry_table(L, &mpl_key_pools, "v");
    registry_table(L, &mpl_key_policies, "v");
    push_sentinel(L);
    int up = lua_gettop(L);
    new_class(L, up, POOL, mpl_pool_methods, mpl_pool_meta);
    new_class(L, up, BLOCK, mpl_block_methods, mpl_block_meta);
    new_class(L, up, ROUTER, mpl_router_methods, mpl_router_meta);
    new_class(L, up, MEMSTATS, mpl_stats_methods, mpl_stats_meta);
    luaL_newlibtable(L, functions);
    lua_pushvalue(L, up);
    luaL_setfuncs(L, functions, 1);
    lua_pushinteger(L, MP_VERSION_NUMBER);
    lua_setfield(L, -2, "VERSION_NUMBER");
    lua_pushinteger(L, MPL_DEFAULT_BUDGET);
    lua_setfield(L, -2, "DEFAULT_BUDGET");
    lua_pushinteger(L, MP_DEFAULT_ALIGNMENT);
    lua_setfield(L, -2, "DEFAULT_ALIGNMENT");
    return 1;
}

