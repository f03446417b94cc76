/* mempool for Lua 5.4: local mempool = require "mempool"
 *
 * A hand-written module over the C ABI. Pools and blocks are userdata;
 * operational failures return nil, message, status name; wrong argument
 * types raise errors naming the argument, as the standard library does.
 *
 * Blocks own their memory: free() or __gc/__close gives it back. A block
 * keeps its pool alive; a pool's reset or close makes its blocks stale
 * (each block remembers the pool's epoch), so a stale block can never free
 * an address that was handed out again. Policies are Lua functions called
 * on the slow path only; an error in one fails the allocation with the Lua
 * message as its detail. */
#define LUA_LIB
#include <lauxlib.h>
#include <lua.h>
#include <mempool/mempool.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#define POOL "mempool.pool"
#define BLOCK "mempool.block"
#define ROUTER "mempool.router"
#define POOLS_BY_HANDLE "mempool.pools" /* weak table: lightuserdata(handle) -> pool */

enum { HOOK_GROW, HOOK_OOM, HOOK_TRIM, HOOKS };
static const char *const hook_names[HOOKS] = {"grow", "on_oom", "trim"};

typedef struct lpool {
    mp_pool *h;
    bool owned;
    unsigned epoch;      /* bumped by reset and close */
    lua_State *L;        /* the state of the call that may reach a hook */
    int hooks[HOOKS];    /* registry refs of policy functions, LUA_NOREF if none */
} lpool;

typedef struct lblock {
    void *p;
    size_t size;
    unsigned epoch;
    bool live;
} lblock;

typedef struct lrouter {
    mp_router *h;
} lrouter;

/* ---- results -------------------------------------------------------------------- */

static int fail(lua_State *L, mp_status s)
{
    lua_pushnil(L);
    lua_pushstring(L, mp_last_error_message());
    lua_pushstring(L, mp_status_name(s));
    return 3;
}

/* A block freed already: its address may belong to a newer block now, so
 * the library is not asked (it would free that one). */
static int freed_already(lua_State *L, const lblock *b)
{
    lua_pushnil(L);
    lua_pushfstring(L, "block %p (%d bytes) was freed already", b->p, (int)b->size);
    lua_pushstring(L, mp_status_name(MP_ERR_INVALID_POINTER));
    return 3;
}

static int ok_or_fail(lua_State *L, mp_status s)
{
    if (s != MP_OK)
        return fail(L, s);
    lua_pushboolean(L, 1);
    return 1;
}

static lpool *check_pool(lua_State *L, int i) { return luaL_checkudata(L, i, POOL); }
static lblock *check_block(lua_State *L, int i) { return luaL_checkudata(L, i, BLOCK); }

/* ---- configuration from a table ------------------------------------------------------ */

/* An integer field of the table at t, dflt if absent. A value that is not
 * an integer, or that the C field cannot hold (lo .. hi), raises: it is
 * refused, never truncated. */
static lua_Integer opt_int(lua_State *L, int t, const char *k, lua_Integer lo, lua_Integer hi, lua_Integer dflt)
{
    lua_getfield(L, t, k);
    lua_Integer v = dflt;
    if (!lua_isnil(L, -1)) {
        int isint = 0;
        if (lua_type(L, -1) == LUA_TNUMBER)
            v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < lo || v > hi) {
            if (lo == 0 && hi == LUA_MAXINTEGER)
                luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be a non-negative integer", k));
            luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be an integer from %I to %I", k, lo, hi));
        }
    }
    lua_pop(L, 1);
    return v;
}

static size_t opt_size(lua_State *L, int t, const char *k, size_t dflt)
{
    lua_getfield(L, t, k);
    bool absent = lua_isnil(L, -1);
    lua_pop(L, 1);
    return absent ? dflt : (size_t)opt_int(L, t, k, 0, LUA_MAXINTEGER, 0);
}

static bool opt_bool(lua_State *L, int t, const char *k, bool dflt)
{
    lua_getfield(L, t, k);
    bool v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Fills c from the table at t: a preset first, then each field given. */
static mp_status config_from(lua_State *L, int t, mp_memory_type type, mp_config *c)
{
    static const char *const presets[] = {"default", "fixed", "high_performance", "debug", NULL};
    lua_getfield(L, t, "preset");
    int preset = luaL_checkoption(L, -1, "default", presets);
    lua_pop(L, 1);
    lua_getfield(L, t, "allocator");
    if (!lua_isnil(L, -1) && strcmp(luaL_checkstring(L, -1), "fixed") == 0)
        preset = 1;
    lua_pop(L, 1);
    size_t block = opt_size(L, t, "block_size", 256);
    int device = (int)opt_int(L, t, "device", INT_MIN, INT_MAX, 0); /* a negative one: the library refuses it */
    bool gpu = type == MP_MEMORY_GPU;
    mp_status s;
    switch (preset) {
    case 1: s = gpu ? mp_config_fixed_size_gpu(c, block, device) : mp_config_fixed_size_cpu(c, block); break;
    case 2: s = gpu ? mp_config_high_performance_gpu(c, device) : mp_config_high_performance_cpu(c); break;
    case 3: s = gpu ? mp_config_debug_gpu(c, device) : mp_config_debug_cpu(c); break;
    default: s = gpu ? mp_config_default_gpu(c) : mp_config_default_cpu(c); break;
    }
    if (s != MP_OK)
        return s;
    lua_getfield(L, t, "allocator");
    if (!lua_isnil(L, -1))
        c->allocator_type = strcmp(lua_tostring(L, -1), "fixed") == 0 ? MP_ALLOCATOR_FIXED_SIZE
                                                                       : MP_ALLOCATOR_VARIABLE_SIZE;
    lua_pop(L, 1);
    lua_getfield(L, t, "sync");
    if (!lua_isnil(L, -1)) {
        static const char *const syncs[] = {"mutex", "lock_free", NULL};
        c->sync_type = luaL_checkoption(L, -1, NULL, syncs) ? MP_SYNC_LOCK_FREE : MP_SYNC_MUTEX;
    }
    lua_pop(L, 1);
    c->block_size = block;
    c->device_id = device;
    c->initial_size = opt_size(L, t, "initial_size", c->initial_size);
    c->max_size = opt_size(L, t, "max_size", c->max_size);
    c->alignment = opt_size(L, t, "alignment", c->alignment);
    c->growth_factor = opt_size(L, t, "growth_factor", c->growth_factor);
    c->thread_safe = opt_bool(L, t, "thread_safe", c->thread_safe);
    c->track_stats = opt_bool(L, t, "track_stats", c->track_stats);
    c->enable_debugging = opt_bool(L, t, "debug", c->enable_debugging);
    c->use_pinned_memory = opt_bool(L, t, "pinned", c->use_pinned_memory);
    c->use_managed_memory = opt_bool(L, t, "managed", c->use_managed_memory);
    return MP_OK;
}

/* ---- pools ------------------------------------------------------------------------------------ */

/* The weak table from handle to pool object: records the value at index
 * (nil forgets the handle). */
static void remember_pool(lua_State *L, mp_pool *h, int index)
{
    index = lua_absindex(L, index);
    lua_getfield(L, LUA_REGISTRYINDEX, POOLS_BY_HANDLE);
    lua_pushlightuserdata(L, h);
    lua_pushvalue(L, index);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Pushes the pool object Lua has for a handle, or nil; returns it or NULL. */
static lpool *known_pool(lua_State *L, mp_pool *h)
{
    lua_getfield(L, LUA_REGISTRYINDEX, POOLS_BY_HANDLE);
    lua_pushlightuserdata(L, h);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    return lua_touserdata(L, -1);
}

static lpool *push_pool(lua_State *L, mp_pool *h, bool owned)
{
    lpool *p = lua_newuserdatauv(L, sizeof *p, 0);
    *p = (lpool){h, owned, 0, L, {LUA_NOREF, LUA_NOREF, LUA_NOREF}};
    luaL_setmetatable(L, POOL);
    remember_pool(L, h, -1);
    return p;
}

/* The pool object of a handle: reuse the one Lua already has. */
static void push_pool_of(lua_State *L, mp_pool *h, bool owned)
{
    if (!known_pool(L, h)) {
        lua_pop(L, 1);
        push_pool(L, h, owned);
    }
}

static int make_pool(lua_State *L, mp_memory_type type)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "name");
    const char *name = luaL_optstring(L, -1, type == MP_MEMORY_GPU ? "lua-gpu" : "lua-cpu");
    bool registered = opt_bool(L, 1, "registered", false);
    mp_config c = MP_CONFIG_INIT;
    mp_status s = config_from(L, 1, type, &c);
    mp_pool *h = NULL;
    if (s == MP_OK)
        s = registered ? (type == MP_MEMORY_GPU ? mp_registry_create_gpu_pool(name, &c, &h)
                                                : mp_registry_create_cpu_pool(name, &c, &h))
                       : mp_pool_create(name, type, &c, &h);
    if (s != MP_OK)
        return fail(L, s);
    push_pool(L, h, !registered);
    return 1;
}

static int l_cpu_pool(lua_State *L) { return make_pool(L, MP_MEMORY_CPU); }
static int l_gpu_pool(lua_State *L) { return make_pool(L, MP_MEMORY_GPU); }

static void drop_hooks(lua_State *L, lpool *p)
{
    for (int i = 0; i < HOOKS; i++) {
        luaL_unref(L, LUA_REGISTRYINDEX, p->hooks[i]);
        p->hooks[i] = LUA_NOREF;
    }
}

/* The pool object stops standing for its handle: its blocks go stale and
 * its Lua policy is dropped (the C pool may live on in the registry). */
static void forget_pool(lua_State *L, lpool *p)
{
    if (p->h) {
        mp_pool_set_policy(p->h, NULL);
        lua_pushnil(L);
        remember_pool(L, p->h, -1);
        lua_pop(L, 1);
    }
    drop_hooks(L, p);
    p->h = NULL;
    p->epoch++;
}

static int pool_close(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    mp_pool *h = p->h;
    forget_pool(L, p);
    if (h && p->owned)
        mp_pool_destroy(h);
    return 0;
}

/* The live handle of a pool argument, or an error result already pushed. */
static mp_pool *live(lua_State *L, lpool *p)
{
    p->L = L;
    return p->h; /* NULL: the C library reports "pool is NULL" */
}

/* Pushes a block object for ptr of the pool at index pool_index. */
static void push_block(lua_State *L, int pool_index, void *ptr, size_t size)
{
    pool_index = lua_absindex(L, pool_index);
    lpool *p = lua_touserdata(L, pool_index);
    lblock *b = lua_newuserdatauv(L, sizeof *b, 1);
    *b = (lblock){ptr, size, p->epoch, true};
    luaL_setmetatable(L, BLOCK);
    lua_pushvalue(L, pool_index);
    lua_setiuservalue(L, -2, 1); /* the block keeps its pool alive */
}

static int pool_allocate(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    lua_Integer size = luaL_checkinteger(L, 2);
    static const char *const flags[] = {"none", "pinned", "managed", NULL};
    int flag = luaL_checkoption(L, 3, "none", flags);
    if (size < 0)
        return luaL_argerror(L, 2, "size must not be negative");
    void *ptr = NULL;
    mp_status s = flag ? mp_pool_allocate_flags(live(L, p), (size_t)size, (mp_alloc_flags)flag, &ptr)
                       : mp_pool_allocate(live(L, p), (size_t)size, &ptr);
    if (s != MP_OK)
        return fail(L, s);
    push_block(L, 1, ptr, (size_t)size);
    return 1;
}

/* The pool was reset or closed since b was allocated: its memory went with it. */
static bool stale(const lblock *b, const lpool *p) { return !p->h || b->epoch != p->epoch; }

/* Frees b if it is still the pool's; returns the status. */
static mp_status free_block(lua_State *L, lblock *b, lpool *p)
{
    if (!b->live)
        return MP_OK;
    b->live = false;
    return stale(b, p) ? MP_OK : mp_pool_deallocate(live(L, p), b->p);
}

/* Before b is freed some other way (by name, through a router): pushes the
 * result and returns its count when nothing is left to free, else 0. */
static int settled(lua_State *L, lblock *b, const lpool *p)
{
    if (!b->live)
        return freed_already(L, b);
    if (!stale(b, p))
        return 0;
    b->live = false;
    lua_pushboolean(L, 1);
    return 1;
}

static lpool *pool_of(lua_State *L, int block_index)
{
    lua_getiuservalue(L, block_index, 1);
    lpool *p = luaL_checkudata(L, -1, POOL);
    lua_pop(L, 1);
    return p;
}

static int pool_deallocate(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    lblock *b = check_block(L, 2);
    if (pool_of(L, 2) != p)
        return luaL_argerror(L, 2, "block of another pool");
    if (!b->live)
        return freed_already(L, b);
    return ok_or_fail(L, free_block(L, b, p));
}

static int pool_reset(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    mp_status s = mp_pool_reset(live(L, p));
    if (s == MP_OK)
        p->epoch++;
    return ok_or_fail(L, s);
}

static int pool_trim(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    lua_Integer keep = luaL_optinteger(L, 2, 0);
    if (keep < 0)
        return luaL_argerror(L, 2, "keep must not be negative");
    return ok_or_fail(L, lua_isnoneornil(L, 2) ? mp_pool_trim_auto(live(L, p)) : mp_pool_trim(live(L, p), (size_t)keep));
}

static int pool_check(lua_State *L) { return ok_or_fail(L, mp_pool_check(live(L, check_pool(L, 1)))); }
static int pool_reset_stats(lua_State *L) { return ok_or_fail(L, mp_pool_reset_stats(live(L, check_pool(L, 1)))); }

static int pool_set_tracking(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    return ok_or_fail(L, mp_pool_set_tracking(live(L, p), lua_toboolean(L, 2)));
}

static int pool_bool_query(lua_State *L, mp_status (*q)(const mp_pool *, bool *))
{
    bool v = false;
    mp_status s = q(live(L, check_pool(L, 1)), &v);
    if (s != MP_OK)
        return fail(L, s);
    lua_pushboolean(L, v);
    return 1;
}

static int pool_tracking(lua_State *L) { return pool_bool_query(L, mp_pool_get_tracking); }
static int pool_has_leaks(lua_State *L) { return pool_bool_query(L, mp_pool_has_leaks); }

static int pool_owns(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    lblock *b = check_block(L, 2);
    bool v = false;
    mp_status s = mp_pool_owns(live(L, p), b->p, &v);
    if (s != MP_OK)
        return fail(L, s);
    lua_pushboolean(L, v && b->live);
    return 1;
}

static int pool_name(lua_State *L)
{
    const char *name = NULL;
    mp_status s = mp_pool_get_name(live(L, check_pool(L, 1)), &name);
    if (s != MP_OK)
        return fail(L, s);
    lua_pushstring(L, name);
    return 1;
}

static int pool_memory_type(lua_State *L)
{
    mp_memory_type t;
    mp_status s = mp_pool_get_memory_type(live(L, check_pool(L, 1)), &t);
    if (s != MP_OK)
        return fail(L, s);
    lua_pushstring(L, t == MP_MEMORY_GPU ? "gpu" : "cpu");
    return 1;
}

static int pool_backend(lua_State *L)
{
    static const char *const names[] = {"host", "cuda_device", "cuda_pinned", "cuda_managed"};
    mp_backend_kind k;
    mp_status s = mp_pool_get_backend(live(L, check_pool(L, 1)), &k);
    if (s != MP_OK)
        return fail(L, s);
    lua_pushstring(L, (unsigned)k < 4 ? names[k] : "unknown");
    return 1;
}

#define SET_INT(L, k, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, k))
#define SET_BOOL(L, k, v) (lua_pushboolean(L, (v)), lua_setfield(L, -2, k))

static int pool_config(lua_State *L)
{
    mp_config c = MP_CONFIG_INIT;
    mp_status s = mp_pool_get_config(live(L, check_pool(L, 1)), &c);
    if (s != MP_OK)
        return fail(L, s);
    lua_createtable(L, 0, 13);
    lua_pushstring(L, c.allocator_type == MP_ALLOCATOR_FIXED_SIZE ? "fixed" : "variable");
    lua_setfield(L, -2, "allocator");
    lua_pushstring(L, c.sync_type == MP_SYNC_LOCK_FREE ? "lock_free" : "mutex");
    lua_setfield(L, -2, "sync");
    SET_INT(L, "initial_size", c.initial_size);
    SET_INT(L, "block_size", c.block_size);
    SET_INT(L, "alignment", c.alignment);
    SET_INT(L, "growth_factor", c.growth_factor);
    SET_INT(L, "max_size", c.max_size);
    SET_INT(L, "device", c.device_id);
    SET_BOOL(L, "thread_safe", c.thread_safe);
    SET_BOOL(L, "track_stats", c.track_stats);
    SET_BOOL(L, "debug", c.enable_debugging);
    SET_BOOL(L, "pinned", c.use_pinned_memory);
    SET_BOOL(L, "managed", c.use_managed_memory);
    return 1;
}

static void push_stats(lua_State *L, const mp_stats *st)
{
    lua_createtable(L, 0, 11);
    SET_INT(L, "total_allocated", st->total_allocated);
    SET_INT(L, "current_used", st->current_used);
    SET_INT(L, "peak_usage", st->peak_usage);
    SET_INT(L, "allocation_count", st->allocation_count);
    SET_INT(L, "deallocation_count", st->deallocation_count);
    lua_pushnumber(L, st->fragmentation_ratio);
    lua_setfield(L, -2, "fragmentation_ratio");
    SET_INT(L, "reserved_bytes", st->reserved_bytes);
    SET_INT(L, "chunk_count", st->chunk_count);
    SET_INT(L, "failed_allocations", st->failed_allocations);
    SET_INT(L, "live_allocations", st->live_allocations);
    SET_INT(L, "pending_frees", st->pending_frees);
}

static int pool_stats(lua_State *L)
{
    mp_stats st = MP_STATS_INIT;
    mp_status s = mp_pool_get_stats(live(L, check_pool(L, 1)), &st);
    if (s != MP_OK)
        return fail(L, s);
    push_stats(L, &st);
    return 1;
}

static int push_string(lua_State *L, mp_status s, char *text)
{
    if (s != MP_OK)
        return fail(L, s);
    lua_pushstring(L, text);
    mp_string_free(text);
    return 1;
}

static int pool_stats_string(lua_State *L)
{
    char *t = NULL;
    mp_status s = mp_pool_stats_string(live(L, check_pool(L, 1)), &t);
    return push_string(L, s, t);
}

static int pool_stats_json(lua_State *L)
{
    char *t = NULL;
    mp_status s = mp_pool_stats_json(live(L, check_pool(L, 1)), &t);
    return push_string(L, s, t);
}

static int pool_allocations(lua_State *L)
{
    mp_pool *h = live(L, check_pool(L, 1));
    size_t n = 0;
    mp_status s = mp_pool_get_allocations(h, NULL, 0, &n);
    mp_allocation_info *recs = NULL;
    while (s == MP_OK) {
        recs = lua_newuserdatauv(L, (n ? n : 1) * sizeof *recs, 0); /* collected with the stack */
        recs[0].struct_size = sizeof *recs;
        s = mp_pool_get_allocations(h, recs, n, &n);
        if (s != MP_ERR_BUFFER_TOO_SMALL)
            break;
        lua_pop(L, 1);
        s = MP_OK;
    }
    if (s != MP_OK)
        return fail(L, s);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        SET_INT(L, "address", (uintptr_t)recs[i].ptr);
        SET_INT(L, "size", recs[i].size);
        SET_INT(L, "sequence", recs[i].sequence);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* ---- GPU ------------------------------------------------------------------------------------------ */

static int c_int(lua_State *L, int arg)
{
    lua_Integer v = luaL_checkinteger(L, arg);
    luaL_argcheck(L, v >= INT_MIN && v <= INT_MAX, arg, "device must be an integer that fits a C int");
    return (int)v;
}

static int pool_set_device(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    int d = c_int(L, 2);
    return ok_or_fail(L, mp_pool_set_device(live(L, p), d));
}

static int pool_device(lua_State *L)
{
    int d = 0;
    mp_status s = mp_pool_get_device(live(L, check_pool(L, 1)), &d);
    if (s != MP_OK)
        return fail(L, s);
    lua_pushinteger(L, d);
    return 1;
}

/* Streams travel as integers (a cudaStream_t's address; 0 = default stream). */
static int pool_set_stream(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    return ok_or_fail(L, mp_pool_set_stream(live(L, p), (void *)(uintptr_t)luaL_checkinteger(L, 2)));
}

static int pool_stream(lua_State *L)
{
    void *st = NULL;
    mp_status s = mp_pool_get_stream(live(L, check_pool(L, 1)), &st);
    if (s != MP_OK)
        return fail(L, s);
    lua_pushinteger(L, (lua_Integer)(uintptr_t)st);
    return 1;
}

static int pool_deallocate_on_stream(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    lblock *b = check_block(L, 2);
    void *stream = (void *)(uintptr_t)luaL_optinteger(L, 3, 0);
    mp_status s = mp_pool_deallocate_on_stream(live(L, p), b->p, stream);
    if (s == MP_OK)
        b->live = false;
    return ok_or_fail(L, s);
}

/* The bytes [off, off + n) lie inside a block of size bytes (no overflow). */
static bool inside(lua_Integer off, lua_Integer n, size_t size)
{
    return off >= 0 && n >= 0 && (lua_Unsigned)off <= size && (lua_Unsigned)n <= size - (size_t)off;
}

/* pool:copy_to_device(block, bytes [, offset]) */
static int pool_copy_to_device(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    lblock *b = check_block(L, 2);
    size_t n;
    const char *src = luaL_checklstring(L, 3, &n);
    lua_Integer off = luaL_optinteger(L, 4, 0);
    luaL_argcheck(L, inside(off, (lua_Integer)n, b->size), 3, "does not fit the block");
    return ok_or_fail(L, mp_pool_copy_host_to_device(live(L, p), (char *)b->p + off, src, n));
}

/* pool:copy_from_device(block [, length [, offset]]) -> bytes */
static int pool_copy_from_device(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    lblock *b = check_block(L, 2);
    lua_Integer off = luaL_optinteger(L, 4, 0);
    lua_Integer n = luaL_opt(L, luaL_checkinteger, 3, off >= 0 && (size_t)off <= b->size ? (lua_Integer)b->size - off : -1);
    luaL_argcheck(L, inside(off, n, b->size), 3, "outside the block");
    luaL_Buffer buf;
    char *dst = luaL_buffinitsize(L, &buf, (size_t)n);
    mp_status s = mp_pool_copy_device_to_host(live(L, p), dst, (char *)b->p + off, (size_t)n);
    if (s != MP_OK)
        return fail(L, s);
    luaL_pushresultsize(&buf, (size_t)n);
    return 1;
}

/* pool:copy_device_to_device(dst_block, src_block [, length]) */
static int pool_copy_device_to_device(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    lblock *d = check_block(L, 2), *sb = check_block(L, 3);
    lua_Integer n = luaL_optinteger(L, 4, (lua_Integer)(d->size < sb->size ? d->size : sb->size));
    luaL_argcheck(L, n >= 0 && (size_t)n <= d->size && (size_t)n <= sb->size, 4, "larger than a block");
    return ok_or_fail(L, mp_pool_copy_device_to_device(live(L, p), d->p, sb->p, (size_t)n));
}

/* ---- policies -------------------------------------------------------------------------------------- */

/* Calls hook h of pool p with nargs arguments already pushed after it;
 * on an error copies the Lua message into detail. */
static mp_status call_hook(lpool *p, int nargs, int nres, char *detail, size_t cap)
{
    lua_State *L = p->L;
    if (lua_pcall(L, nargs, nres, 0) != LUA_OK) {
        snprintf(detail, cap, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error in a Lua policy");
        lua_pop(L, 1);
        return MP_ERR_INVALID_OPERATION;
    }
    return MP_OK;
}

/* Pushes hook h and its pool; false if the pool object is gone. */
static bool push_hook(lpool *p, int h, mp_pool *pool)
{
    lua_State *L = p->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->hooks[h]);
    push_pool_of(L, pool, false);
    return true;
}

static mp_status hook_grow(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    lpool *p = user;
    lua_State *L = p->L;
    push_hook(p, HOOK_GROW, pool);
    lua_pushinteger(L, (lua_Integer)need);
    mp_stats st = MP_STATS_INIT;
    mp_pool_get_stats(pool, &st);
    push_stats(L, &st);
    mp_status s = call_hook(p, 3, 1, detail, cap);
    if (s != MP_OK)
        return s;
    if (!lua_isinteger(L, -1)) {
        snprintf(detail, cap, "%s", lua_toboolean(L, -1) ? "grow must return a byte count" : "the Lua policy refused");
        lua_pop(L, 1);
        return MP_ERR_OUT_OF_MEMORY;
    }
    lua_Integer bytes = lua_tointeger(L, -1);
    lua_pop(L, 1);
    *out = bytes > 0 ? (size_t)bytes : 0;
    return MP_OK;
}

static mp_status hook_oom(void *user, mp_pool *pool, size_t size, char *detail, size_t cap)
{
    lpool *p = user;
    push_hook(p, HOOK_OOM, pool);
    lua_pushinteger(p->L, (lua_Integer)size);
    mp_status s = call_hook(p, 2, 1, detail, cap);
    if (s != MP_OK)
        return s;
    bool retry = lua_toboolean(p->L, -1);
    lua_pop(p->L, 1);
    if (!retry)
        snprintf(detail, cap, "the Lua policy did not ask for a retry");
    return retry ? MP_OK : MP_ERR_OUT_OF_MEMORY;
}

static mp_status hook_trim(void *user, mp_pool *pool, size_t reserved, size_t in_use, size_t *keep, char *detail,
                           size_t cap)
{
    lpool *p = user;
    push_hook(p, HOOK_TRIM, pool);
    lua_pushinteger(p->L, (lua_Integer)reserved);
    lua_pushinteger(p->L, (lua_Integer)in_use);
    mp_status s = call_hook(p, 3, 1, detail, cap);
    if (s != MP_OK)
        return s;
    lua_Integer k = lua_tointeger(p->L, -1);
    lua_pop(p->L, 1);
    *keep = k > 0 ? (size_t)k : 0;
    return MP_OK;
}

/* pool:set_policy{ grow = f, on_oom = f, trim = f } or pool:set_policy(nil) */
static int pool_set_policy(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    if (lua_isnoneornil(L, 2)) {
        mp_status s = mp_pool_set_policy(live(L, p), NULL);
        if (s == MP_OK)
            drop_hooks(L, p);
        return ok_or_fail(L, s);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    int refs[HOOKS];
    for (int i = 0; i < HOOKS; i++) {
        lua_getfield(L, 2, hook_names[i]);
        if (!lua_isnil(L, -1) && !lua_isfunction(L, -1))
            return luaL_error(L, "bad argument #1 to 'set_policy' (field '%s' must be a function)", hook_names[i]);
        refs[i] = lua_isnil(L, -1) ? (lua_pop(L, 1), LUA_NOREF) : luaL_ref(L, LUA_REGISTRYINDEX);
    }
    mp_policy pol = {sizeof pol, p, refs[HOOK_GROW] != LUA_NOREF ? hook_grow : NULL,
                     refs[HOOK_OOM] != LUA_NOREF ? hook_oom : NULL, refs[HOOK_TRIM] != LUA_NOREF ? hook_trim : NULL,
                     NULL};
    mp_status s = mp_pool_set_policy(live(L, p), &pol);
    if (s != MP_OK) {
        for (int i = 0; i < HOOKS; i++)
            luaL_unref(L, LUA_REGISTRYINDEX, refs[i]);
        return fail(L, s);
    }
    drop_hooks(L, p);
    memcpy(p->hooks, refs, sizeof refs);
    lua_pushboolean(L, 1);
    return 1;
}

/* The C mp_pool * as an integer, for handing the pool to C code. */
static int pool_handle(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)(uintptr_t)check_pool(L, 1)->h);
    return 1;
}

static int pool_tostring(lua_State *L)
{
    lpool *p = check_pool(L, 1);
    const char *name = NULL;
    if (p->h && mp_pool_get_name(p->h, &name) == MP_OK)
        lua_pushfstring(L, "mempool.pool '%s'", name);
    else
        lua_pushliteral(L, "mempool.pool (closed)");
    return 1;
}

/* ---- blocks ----------------------------------------------------------------------------------------- */

static int block_free(lua_State *L)
{
    lblock *b = check_block(L, 1);
    lpool *p = pool_of(L, 1);
    if (!b->live)
        return freed_already(L, b);
    return ok_or_fail(L, free_block(L, b, p));
}

static int block_gc(lua_State *L)
{
    lblock *b = check_block(L, 1);
    free_block(L, b, pool_of(L, 1));
    return 0;
}

static int block_address(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)(uintptr_t)check_block(L, 1)->p);
    return 1;
}

static int block_size(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_block(L, 1)->size);
    return 1;
}

static int block_pool(lua_State *L)
{
    check_block(L, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int block_live(lua_State *L)
{
    lblock *b = check_block(L, 1);
    lpool *p = pool_of(L, 1);
    lua_pushboolean(L, b->live && !stale(b, p));
    return 1;
}

/* CPU memory only: a GPU block's bytes are read and written with the pool's copies. */
static lblock *host_block(lua_State *L)
{
    lblock *b = check_block(L, 1);
    lpool *p = pool_of(L, 1);
    mp_memory_type t = MP_MEMORY_GPU;
    if (!b->live || stale(b, p))
        luaL_error(L, "the block was freed");
    mp_pool_get_memory_type(p->h, &t);
    if (t != MP_MEMORY_CPU)
        luaL_error(L, "a GPU block's bytes are not the host's: use pool:copy_to_device/copy_from_device");
    return b;
}

/* block:write(offset, bytes) */
static int block_write(lua_State *L)
{
    lblock *b = host_block(L);
    lua_Integer off = luaL_checkinteger(L, 2);
    size_t n;
    const char *s = luaL_checklstring(L, 3, &n);
    luaL_argcheck(L, inside(off, (lua_Integer)n, b->size), 3, "does not fit the block");
    memcpy((char *)b->p + off, s, n);
    return 0;
}

/* block:read([offset [, length]]) -> bytes */
static int block_read(lua_State *L)
{
    lblock *b = host_block(L);
    lua_Integer off = luaL_optinteger(L, 2, 0);
    lua_Integer n = luaL_opt(L, luaL_checkinteger, 3, off >= 0 && (size_t)off <= b->size ? (lua_Integer)b->size - off : -1);
    luaL_argcheck(L, inside(off, n, b->size), 3, "outside the block");
    lua_pushlstring(L, (const char *)b->p + off, (size_t)n);
    return 1;
}

static int block_tostring(lua_State *L)
{
    lblock *b = check_block(L, 1);
    lua_pushfstring(L, "mempool.block %p (%d bytes)", b->p, (int)b->size);
    return 1;
}

/* ---- registry and globals ---------------------------------------------------------------------------- */

static int get_pool(lua_State *L, mp_memory_type type)
{
    const char *name = luaL_optstring(L, 1, type == MP_MEMORY_GPU ? "default_gpu" : "default");
    mp_pool *h = NULL;
    mp_status s = type == MP_MEMORY_GPU ? mp_registry_get_gpu_pool(name, &h) : mp_registry_get_cpu_pool(name, &h);
    if (s != MP_OK)
        return fail(L, s);
    push_pool_of(L, h, false);
    return 1;
}

static int l_get_cpu_pool(lua_State *L) { return get_pool(L, MP_MEMORY_CPU); }
static int l_get_gpu_pool(lua_State *L) { return get_pool(L, MP_MEMORY_GPU); }

static int l_destroy_pool(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    mp_pool *h = NULL;
    if (mp_registry_find(name, &h) == MP_OK) {
        lpool *p = known_pool(L, h); /* Lua's object for it goes stale */
        if (p)
            forget_pool(L, p);
        lua_pop(L, 1);
    }
    return ok_or_fail(L, mp_registry_destroy(name));
}

static int l_reset_all(lua_State *L)
{
    mp_registry_reset_all();
    /* Every registry pool's blocks are stale now. */
    char *names = NULL;
    if (mp_registry_names(&names) == MP_OK) {
        for (char *n = strtok(names, "\n"); n; n = strtok(NULL, "\n")) {
            mp_pool *h = NULL;
            if (mp_registry_find(n, &h) != MP_OK)
                continue;
            lpool *p = known_pool(L, h);
            if (p)
                p->epoch++;
            lua_pop(L, 1);
        }
        mp_string_free(names);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_pool_names(lua_State *L)
{
    char *names = NULL;
    mp_status s = mp_registry_names(&names);
    if (s != MP_OK)
        return fail(L, s);
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
    return push_string(L, s, t);
}

/* mempool.all_stats() -> { name = stats table, ... } */
static int l_all_stats(lua_State *L)
{
    char *names = NULL;
    mp_status s = mp_registry_names(&names);
    if (s != MP_OK)
        return fail(L, s);
    lua_newtable(L);
    for (char *n = strtok(names, "\n"); n; n = strtok(NULL, "\n")) {
        mp_pool *h = NULL;
        mp_stats st = MP_STATS_INIT;
        if (mp_registry_find(n, &h) == MP_OK && mp_pool_get_stats(h, &st) == MP_OK) {
            push_stats(L, &st);
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
    mp_memory_type t = luaL_checkoption(L, 2, "cpu", types) ? MP_MEMORY_GPU : MP_MEMORY_CPU;
    mp_config c = MP_CONFIG_INIT;
    mp_status s = config_from(L, 1, t, &c);
    return ok_or_fail(L, s == MP_OK ? mp_config_validate(&c, t) : s);
}

/* mempool.allocate(size [, pool_name]) -> block of that registry pool (default "default") */
static int global_allocate(lua_State *L, mp_memory_type t)
{
    lua_Integer size = luaL_checkinteger(L, 1);
    const char *name = luaL_optstring(L, 2, t == MP_MEMORY_GPU ? "default_gpu" : "default");
    if (size < 0)
        return luaL_argerror(L, 1, "size must not be negative");
    void *ptr = NULL;
    mp_status s = t == MP_MEMORY_GPU ? mp_allocate_gpu(name, (size_t)size, &ptr) : mp_allocate(name, (size_t)size, &ptr);
    if (s != MP_OK)
        return fail(L, s);
    mp_pool *h = NULL;
    (t == MP_MEMORY_GPU ? mp_registry_get_gpu_pool : mp_registry_get_cpu_pool)(name, &h);
    push_pool_of(L, h, false);
    push_block(L, -1, ptr, (size_t)size);
    return 1;
}

/* mempool.deallocate(block [, pool_name]) */
static int global_deallocate(lua_State *L, mp_memory_type t)
{
    lblock *b = check_block(L, 1);
    const char *name = luaL_optstring(L, 2, t == MP_MEMORY_GPU ? "default_gpu" : "default");
    int done = settled(L, b, pool_of(L, 1));
    if (done)
        return done;
    mp_status s = t == MP_MEMORY_GPU ? mp_deallocate_gpu(name, b->p) : mp_deallocate(name, b->p);
    if (s == MP_OK)
        b->live = false;
    return ok_or_fail(L, s);
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

/* ---- router ----------------------------------------------------------------------------------------- */

/* mempool.router{ name = ..., { max = 64, pool = p }, ..., { pool = rest } } */
static int l_router(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "name");
    const char *name = luaL_optstring(L, -1, "lua-router");
    lrouter *r = lua_newuserdatauv(L, sizeof *r, 1);
    r->h = NULL;
    luaL_setmetatable(L, ROUTER);
    lua_newtable(L); /* the pools, kept alive by the router */
    lua_setiuservalue(L, -2, 1);
    mp_status s = mp_router_create(name, &r->h);
    if (s != MP_OK)
        return fail(L, s);
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_getfield(L, -1, "pool");
        lpool *p = check_pool(L, -1);
        lua_getiuservalue(L, -3, 1);
        lua_pushvalue(L, -2);
        lua_rawseti(L, -2, i);
        lua_pop(L, 2);
        size_t max = opt_size(L, lua_gettop(L), "max", SIZE_MAX);
        lua_pop(L, 1);
        if ((s = mp_router_add(r->h, max, p->h)) != MP_OK)
            return fail(L, s);
    }
    return 1;
}

static lrouter *check_router(lua_State *L) { return luaL_checkudata(L, 1, ROUTER); }

/* The pool object serving size, from the router's list. */
static bool push_router_pool(lua_State *L, lrouter *r, size_t size)
{
    mp_pool *h = NULL;
    if (mp_router_pool_for(r->h, size, &h) != MP_OK)
        return false;
    push_pool_of(L, h, false);
    return true;
}

static int router_pool_for(lua_State *L)
{
    lrouter *r = check_router(L);
    lua_Integer size = luaL_checkinteger(L, 2);
    luaL_argcheck(L, size >= 0, 2, "size must not be negative");
    if (!push_router_pool(L, r, (size_t)size))
        return fail(L, mp_last_error());
    return 1;
}

/* router:allocate(size) -> block of the pool serving size */
static int router_allocate(lua_State *L)
{
    lrouter *r = check_router(L);
    lua_Integer size = luaL_checkinteger(L, 2);
    luaL_argcheck(L, size >= 0, 2, "size must not be negative");
    void *ptr = NULL;
    mp_status s = mp_router_allocate(r->h, (size_t)size, &ptr);
    if (s != MP_OK)
        return fail(L, s);
    push_router_pool(L, r, (size_t)size);
    push_block(L, -1, ptr, (size_t)size);
    return 1;
}

/* router:deallocate(block) */
static int router_deallocate(lua_State *L)
{
    lrouter *r = check_router(L);
    lblock *b = check_block(L, 2);
    int done = settled(L, b, pool_of(L, 2));
    if (done)
        return done;
    mp_status s = mp_router_deallocate(r->h, b->p);
    if (s == MP_OK)
        b->live = false;
    return ok_or_fail(L, s);
}

static int router_close(lua_State *L)
{
    lrouter *r = check_router(L);
    if (r->h)
        mp_router_destroy(r->h);
    r->h = NULL;
    return 0;
}

/* ---- module ----------------------------------------------------------------------------------------- */

static const luaL_Reg pool_methods[] = {
    {"allocate", pool_allocate}, {"deallocate", pool_deallocate}, {"reset", pool_reset}, {"trim", pool_trim},
    {"check", pool_check}, {"owns", pool_owns}, {"name", pool_name}, {"memory_type", pool_memory_type},
    {"backend", pool_backend}, {"config", pool_config}, {"stats", pool_stats}, {"reset_stats", pool_reset_stats},
    {"set_tracking", pool_set_tracking}, {"tracking", pool_tracking}, {"has_leaks", pool_has_leaks},
    {"allocations", pool_allocations}, {"stats_string", pool_stats_string}, {"stats_json", pool_stats_json},
    {"set_policy", pool_set_policy}, {"set_device", pool_set_device}, {"device", pool_device},
    {"set_stream", pool_set_stream}, {"stream", pool_stream}, {"deallocate_on_stream", pool_deallocate_on_stream},
    {"copy_to_device", pool_copy_to_device}, {"copy_from_device", pool_copy_from_device},
    {"copy_device_to_device", pool_copy_device_to_device}, {"handle", pool_handle}, {"close", pool_close},
    {NULL, NULL}};

static const luaL_Reg block_methods[] = {{"free", block_free}, {"address", block_address}, {"size", block_size},
                                         {"pool", block_pool}, {"live", block_live}, {"write", block_write},
                                         {"read", block_read}, {NULL, NULL}};

static const luaL_Reg router_methods[] = {
    {"allocate", router_allocate}, {"deallocate", router_deallocate}, {"pool_for", router_pool_for},
    {"close", router_close}, {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"cpu_pool", l_cpu_pool}, {"gpu_pool", l_gpu_pool}, {"get_cpu_pool", l_get_cpu_pool},
    {"get_gpu_pool", l_get_gpu_pool}, {"destroy_pool", l_destroy_pool}, {"reset_all", l_reset_all},
    {"pool_names", l_pool_names}, {"all_stats", l_all_stats}, {"all_stats_json", l_all_stats_json},
    {"router", l_router}, {"validate", l_validate}, {"allocate", l_allocate}, {"deallocate", l_deallocate},
    {"allocate_gpu", l_allocate_gpu}, {"deallocate_gpu", l_deallocate_gpu}, {"version", l_version}, {"device_count", l_device_count}, {"last_error", l_last_error},
    {NULL, NULL}};

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
                      lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__close");
    if (tostring) {
        lua_pushcfunction(L, tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
}

LUAMOD_API __attribute__((visibility("default"))) int luaopen_mempool(lua_State *L)
{
    luaL_checkversion(L);
    new_class(L, POOL, pool_methods, pool_close, pool_tostring);
    new_class(L, BLOCK, block_methods, block_gc, block_tostring);
    new_class(L, ROUTER, router_methods, router_close, NULL);
    lua_newtable(L); /* handle -> pool object, weak so pools can be collected */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, POOLS_BY_HANDLE);
    luaL_newlib(L, functions);
    lua_pushinteger(L, MP_VERSION_NUMBER);
    lua_setfield(L, -2, "VERSION_NUMBER");
    return 1;
}
