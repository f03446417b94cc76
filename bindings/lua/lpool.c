/* Pool and block objects.
 *
 * Closing the object of a pool made by cpu_pool/gpu_pool destroys the pool;
 * closing the object of a registry pool only detaches that object (its Lua
 * policy goes; the pool and its blocks stay, and get_cpu_pool gives a new
 * object); mempool.destroy_pool(name) destroys a registry pool. Neither
 * happens while a hook of the pool runs.
 *
 * A block holds its pool's record, so it stays freeable whatever becomes of
 * the object it came from; a reset or a destroy bumps the record's epoch,
 * so a stale block can never free an address that was handed out again. */
#include "lmempool.h"

#include <limits.h>
#include <string.h>

/* A block freed already: its address may belong to a newer block now, so
 * the library is not asked (it would free that one). */
static int freed_already(lua_State *L, const lblock *b)
{
    return mpl_fail_msg(L, MP_ERR_INVALID_POINTER, "block %p (%I bytes) was freed already", b->p, (lua_Integer)b->size);
}

lpool *mpl_check_pool(lua_State *L, int i) { return luaL_checkudata(L, i, POOL); }
lblock *mpl_check_block(lua_State *L, int i) { return luaL_checkudata(L, i, BLOCK); }

/* ---- pools ------------------------------------------------------------------------------------ */

mp_pool *mpl_handle(const lpool *p) { return p->rec && !p->closed ? p->rec->h : NULL; }

/* Pushes a new pool object holding r (which may be NULL for now). */
static lpool *new_pool(lua_State *L, lhandle *r, bool owner)
{
    lpool *p = lua_newuserdatauv(L, sizeof *p, 1); /* uservalue 1: the policy's hooks */
    *p = (lpool){NULL, MPL_DEFAULT_BUDGET, owner, false};
    luaL_setmetatable(L, POOL);
    if (r) {
        p->rec = r;
        r->refs++;
    }
    return p;
}

/* Makes the object at index the one that mempool.get_cpu_pool returns for h. */
static void set_canonical(lua_State *L, mp_pool *h, int index)
{
    index = lua_absindex(L, index);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_pools);
    lua_pushvalue(L, index);
    lua_rawsetp(L, -2, h);
    lua_pop(L, 1);
}

static void drop_canonical(lua_State *L, lpool *p)
{
    if (!p->rec || !p->rec->h)
        return;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_pools);
    lua_rawgetp(L, -1, p->rec->h);
    bool mine = lua_touserdata(L, -1) == p;
    lua_pop(L, 1);
    if (mine) {
        lua_pushnil(L);
        lua_rawsetp(L, -2, p->rec->h);
    }
    lua_pop(L, 1);
}

/* Pushes the open object of registry pool h, made if Lua has none. */
lpool *mpl_push_pool_of(lua_State *L, lstate *S, mp_pool *h)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &mpl_key_pools);
    lua_rawgetp(L, -1, h);
    lua_remove(L, -2);
    lpool *p = luaL_testudata(L, -1, POOL);
    if (p && mpl_handle(p) == h)
        return p;
    lua_pop(L, 1);
    p = new_pool(L, mpl_rec_get(L, S, h), false);
    set_canonical(L, h, -1);
    return p;
}

static int make_pool(lua_State *L, mp_memory_type type)
{
    lstate *S = mpl_S(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "name");
    const char *name = luaL_optstring(L, -1, type == MP_MEMORY_GPU ? "lua-gpu" : "lua-cpu");
    bool registered = mpl_opt_bool(L, 1, "registered", false);
    mp_config c = MP_CONFIG_INIT;
    mp_status s = mpl_config_from(L, 1, type, &c);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lpool *p = new_pool(L, NULL, !registered);
    mp_pool *h = NULL;
    if (!registered) {
        p->rec = mpl_rec_new(L, S); /* before the pool: an error here leaves nothing behind */
        p->rec->refs = 1;
        if ((s = mp_pool_create(name, type, &c, &h)) != MP_OK)
            return mpl_fail(L, s);
    } else {
        s = type == MP_MEMORY_GPU ? mp_registry_create_gpu_pool(name, &c, &h) : mp_registry_create_cpu_pool(name, &c, &h);
        if (s != MP_OK)
            return mpl_fail(L, s);
    }
    lhandle *old = mpl_rec_find(L, h); /* a record of a new pool's address: that pool died behind Lua's back */
    if (old)
        mpl_rec_dead(L, old);
    if (!registered) {
        p->rec->h = h;
        mpl_rec_name(p->rec);
        return 1;
    }
    p->rec = mpl_rec_get(L, S, h);
    p->rec->refs++;
    set_canonical(L, h, -1);
    return 1;
}

int mpl_cpu_pool(lua_State *L) { return make_pool(L, MP_MEMORY_CPU); }
int mpl_gpu_pool(lua_State *L) { return make_pool(L, MP_MEMORY_GPU); }

/* pool:close() -> true | nil, message, status. Destroys a pool this object
 * made; detaches the object of a registry pool. Refused while a hook of
 * the pool runs. */
static int pool_close(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lhandle *r = p->rec;
    if (!p->closed && r && r->h) {
        if (r->busy)
            return mpl_fail_msg(L, MP_ERR_INVALID_OPERATION, "pool '%s' cannot be closed while one of its hooks runs",
                                r->name);
        if (p->owner) {
            mp_status s = mp_pool_destroy(r->h);
            if (s != MP_OK)
                return mpl_fail(L, s);
            mpl_rec_dead(L, r);
        } else {
            drop_canonical(L, p);
            mpl_drop_policy(L, p);
        }
        lua_pushnil(L);
        lua_setiuservalue(L, 1, 1);
    }
    p->closed = true;
    lua_pushboolean(L, 1);
    return 1;
}

/* __gc: like close, but it cannot refuse. A pool it cannot destroy now is
 * left to the C library; no policy of this state points at the object. */
static int pool_gc(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lhandle *r = p->rec;
    if (!r)
        return 0;
    if (!p->closed && r->h) {
        drop_canonical(L, p);
        if (p->owner && !r->busy && mp_pool_destroy(r->h) == MP_OK)
            mpl_rec_dead(L, r);
        else
            mpl_drop_policy(L, p);
    }
    p->closed = true;
    p->rec = NULL;
    mpl_rec_release(L, r);
    return 0;
}

/* ---- blocks (allocation) ------------------------------------------------------------------ */

/* Pushes an empty block of the pool object at pool_index (it holds no
 * record until it holds memory). */
static lblock *new_block(lua_State *L, int pool_index)
{
    pool_index = lua_absindex(L, pool_index);
    lblock *b = lua_newuserdatauv(L, sizeof *b, 1);
    *b = (lblock){NULL, NULL, 0, 0, false};
    luaL_setmetatable(L, BLOCK);
    lua_pushvalue(L, pool_index);
    lua_setiuservalue(L, -2, 1); /* block:pool() */
    return b;
}

/* Allocates through the pool object at pool_index and pushes the block. The
 * block exists before the C call, so that no Lua allocation (nor any
 * finalizer) comes between the C library handing out the address and the
 * block recording it with the pool's epoch of that moment. The record is
 * held across the call: a hook may close the pool object meanwhile. */
int mpl_allocate_through(lua_State *L, lstate *S, int pool_index, size_t size, mp_alloc_flags flag,
                         void *const *stream)
{
    pool_index = lua_absindex(L, pool_index);
    lblock *b = new_block(L, pool_index);
    lpool *p = lua_touserdata(L, pool_index);
    lhandle *r = p->rec;
    mp_pool *h = mpl_handle(p);
    if (r)
        r->refs++;
    void *ptr = NULL;
    lua_State *prev = mpl_enter(S, L);
    mp_status s = stream ? mp_pool_allocate_on_stream(h, size, *stream, &ptr)
                  : flag ? mp_pool_allocate_flags(h, size, flag, &ptr)
                         : mp_pool_allocate(h, size, &ptr);
    mpl_leave(S, prev);
    if (s != MP_OK) {
        if (r)
            mpl_rec_release(L, r);
        return mpl_fail(L, s);
    }
    *b = (lblock){r, ptr, size, r->epoch, true};
    return 1;
}

static int pool_allocate(lua_State *L)
{
    mpl_check_pool(L, 1);
    lua_Integer size = luaL_checkinteger(L, 2);
    static const char *const flags[] = {"none", "pinned", "managed", NULL};
    int flag = mpl_check_option(L, 3, "none", flags);
    luaL_argcheck(L, size >= 0, 2, "size must not be negative");
    return mpl_allocate_through(L, mpl_S(L), 1, (size_t)size, (mp_alloc_flags)flag, NULL);
}

/* pool:allocate_on_stream(size, stream) -> block for work on stream (an
 * integer: a cudaStream_t's address, 0 the default stream) */
static int pool_allocate_on_stream(lua_State *L)
{
    mpl_check_pool(L, 1);
    lua_Integer size = luaL_checkinteger(L, 2);
    void *stream = (void *)(uintptr_t)luaL_checkinteger(L, 3);
    luaL_argcheck(L, size >= 0, 2, "size must not be negative");
    return mpl_allocate_through(L, mpl_S(L), 1, (size_t)size, MP_ALLOC_NONE, &stream);
}

/* The pool was reset or destroyed since b was allocated: its memory went with it. */
static bool stale(const lblock *b) { return !b->rec || !b->rec->h || b->epoch != b->rec->epoch; }

/* Frees b if its memory is still the pool's; returns the status. */
static mp_status free_block(lblock *b)
{
    if (!b->live)
        return MP_OK;
    b->live = false;
    return stale(b) ? MP_OK : mp_pool_deallocate(b->rec->h, b->p);
}

/* Before b is freed some other way (by name, through a router): pushes the
 * result and returns its count when nothing is left to free, else 0. */
int mpl_settled(lua_State *L, lblock *b)
{
    if (!b->live)
        return freed_already(L, b);
    if (!stale(b))
        return 0;
    b->live = false;
    lua_pushboolean(L, 1);
    return 1;
}

/* The block at i, checked to be of pool p. */
static lblock *block_of(lua_State *L, const lpool *p, int i)
{
    lblock *b = mpl_check_block(L, i);
    luaL_argcheck(L, b->rec && b->rec == p->rec, i, "block of another pool");
    return b;
}

/* Freeing nil does nothing and succeeds, as free(NULL) does: in every free
 * call of the module (pool, stream, router, by name). */
int mpl_nil_free(lua_State *L, int i)
{
    if (lua_type(L, i) != LUA_TNIL)
        return 0;
    lua_pushboolean(L, 1);
    return 1;
}

static int pool_deallocate(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    if (mpl_nil_free(L, 2))
        return 1;
    lblock *b = block_of(L, p, 2);
    if (!b->live)
        return freed_already(L, b);
    return mpl_ok_or_fail(L, free_block(b));
}

/* A reset would free the old block of a reallocation waiting for one of
 * the pool's hooks, and the reallocation would then free whatever took its
 * place: refused until it returns. */
static int resizing(lua_State *L, const lhandle *r)
{
    return mpl_fail_msg(L, MP_ERR_INVALID_OPERATION, "pool '%s' cannot be reset while a reallocation waits for its "
                        "hook", r->name);
}

/* pool:reallocate(block, size) -> block: the same object, now holding the
 * resized memory (moved or not); on failure nil, message, status, and the
 * block as it was. A growth hook may run meanwhile: the block reads as
 * freed to it (it cannot free the memory being moved) and the pool cannot
 * be reset; the record is held across the call, as for allocate. */
static int pool_reallocate(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lblock *b = block_of(L, p, 2);
    lua_Integer size = luaL_checkinteger(L, 3);
    luaL_argcheck(L, size >= 0, 3, "size must not be negative");
    if (!b->live || stale(b))
        return freed_already(L, b);
    lstate *S = mpl_S(L);
    lhandle *r = b->rec;
    r->refs++;
    r->resizing++;
    b->live = false;
    void *ptr = b->p;
    lua_State *prev = mpl_enter(S, L);
    mp_status s = mp_pool_reallocate(r->h, b->p, (size_t)size, &ptr);
    mpl_leave(S, prev);
    b->live = true;
    if (s == MP_OK) {
        b->p = ptr;
        b->size = (size_t)size;
    }
    r->resizing--;
    mpl_rec_release(L, r);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_settop(L, 2);
    return 1;
}

/* pool:usable_size(block) -> the bytes the block offers, at least its size */
static int pool_usable_size(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lblock *b = block_of(L, p, 2);
    if (!b->live || stale(b))
        return freed_already(L, b);
    size_t n = 0;
    mp_status s = mp_pool_usable_size(b->rec->h, b->p, &n);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static int pool_reset(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    if (p->rec && p->rec->resizing)
        return resizing(L, p->rec);
    mp_status s = mp_pool_reset(mpl_handle(p));
    if (s == MP_OK)
        p->rec->epoch++;
    return mpl_ok_or_fail(L, s);
}

static int pool_trim(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lua_Integer keep = luaL_optinteger(L, 2, 0);
    luaL_argcheck(L, keep >= 0, 2, "keep must not be negative");
    if (!lua_isnoneornil(L, 2))
        return mpl_ok_or_fail(L, mp_pool_trim(mpl_handle(p), (size_t)keep));
    lstate *S = mpl_S(L);
    lua_State *prev = mpl_enter(S, L);
    mp_status s = mp_pool_trim_auto(mpl_handle(p)); /* the trim hook may run */
    mpl_leave(S, prev);
    return mpl_ok_or_fail(L, s);
}

static int pool_check(lua_State *L) { return mpl_ok_or_fail(L, mp_pool_check(mpl_handle(mpl_check_pool(L, 1)))); }
static int pool_reset_stats(lua_State *L) { return mpl_ok_or_fail(L, mp_pool_reset_stats(mpl_handle(mpl_check_pool(L, 1)))); }

static int pool_set_tracking(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    return mpl_ok_or_fail(L, mp_pool_set_tracking(mpl_handle(p), lua_toboolean(L, 2)));
}

static int pool_bool_query(lua_State *L, mp_status (*q)(const mp_pool *, bool *))
{
    bool v = false;
    mp_status s = q(mpl_handle(mpl_check_pool(L, 1)), &v);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushboolean(L, v);
    return 1;
}

static int pool_tracking(lua_State *L) { return pool_bool_query(L, mp_pool_get_tracking); }
static int pool_has_leaks(lua_State *L) { return pool_bool_query(L, mp_pool_has_leaks); }

static int pool_owns(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lblock *b = mpl_check_block(L, 2);
    bool v = false;
    mp_status s = mp_pool_owns(mpl_handle(p), b->p, &v);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushboolean(L, v && b->live && !stale(b) && b->rec == p->rec);
    return 1;
}

static int pool_name(lua_State *L)
{
    const char *name = NULL;
    mp_status s = mp_pool_get_name(mpl_handle(mpl_check_pool(L, 1)), &name);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushstring(L, name);
    return 1;
}

static int pool_memory_type(lua_State *L)
{
    mp_memory_type t;
    mp_status s = mp_pool_get_memory_type(mpl_handle(mpl_check_pool(L, 1)), &t);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushstring(L, t == MP_MEMORY_GPU ? "gpu" : "cpu");
    return 1;
}

static const char *backend_name(mp_backend_kind k)
{
    static const char *const names[] = {"host", "cuda_device", "cuda_pinned", "cuda_managed"};
    return (unsigned)k < 4 ? names[k] : "unknown";
}

static int pool_backend(lua_State *L)
{
    mp_backend_kind k;
    mp_status s = mp_pool_get_backend(mpl_handle(mpl_check_pool(L, 1)), &k);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushstring(L, backend_name(k));
    return 1;
}

#define SET_INT(L, k, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, k))
#define SET_BOOL(L, k, v) (lua_pushboolean(L, (v)), lua_setfield(L, -2, k))

static int pool_config(lua_State *L)
{
    mp_config c = MP_CONFIG_INIT;
    mp_status s = mp_pool_get_config(mpl_handle(mpl_check_pool(L, 1)), &c);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_createtable(L, 0, 14);
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
    SET_BOOL(L, "counters_only", c.counters_only);
    SET_BOOL(L, "debug", c.enable_debugging);
    SET_BOOL(L, "pinned", c.use_pinned_memory);
    SET_BOOL(L, "managed", c.use_managed_memory);
    return 1;
}

void mpl_push_stats(lua_State *L, const mp_stats *st)
{
    lua_createtable(L, 0, 12);
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
    SET_INT(L, "peak_reserved_bytes", st->peak_reserved_bytes);
}

static int pool_stats(lua_State *L)
{
    mp_stats st = MP_STATS_INIT;
    mp_status s = mp_pool_get_stats(mpl_handle(mpl_check_pool(L, 1)), &st);
    if (s != MP_OK)
        return mpl_fail(L, s);
    mpl_push_stats(L, &st);
    return 1;
}

int mpl_push_string(lua_State *L, mp_status s, char *text)
{
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushstring(L, text);
    mp_string_free(text);
    return 1;
}

static int pool_stats_string(lua_State *L)
{
    char *t = NULL;
    mp_status s = mp_pool_stats_string(mpl_handle(mpl_check_pool(L, 1)), &t);
    return mpl_push_string(L, s, t);
}

static int pool_stats_json(lua_State *L)
{
    char *t = NULL;
    mp_status s = mp_pool_stats_json(mpl_handle(mpl_check_pool(L, 1)), &t);
    return mpl_push_string(L, s, t);
}

static mp_status list_pool(void *obj, mp_allocation_info *out, size_t capacity, size_t *count)
{
    return mp_pool_get_allocations(mpl_handle(obj), out, capacity, count);
}

static int pool_allocations(lua_State *L) { return mpl_push_listing(L, list_pool, mpl_check_pool(L, 1)); }

int mpl_push_listing(lua_State *L, mpl_list_fn list, void *obj)
{
    size_t n = 0;
    mp_status s = list(obj, NULL, 0, &n);
    mp_allocation_info *recs = NULL;
    while (s == MP_OK) {
        recs = lua_newuserdatauv(L, (n ? n : 1) * sizeof *recs, 0); /* collected with the stack */
        recs[0].struct_size = sizeof *recs;
        s = list(obj, recs, n, &n);
        if (s != MP_ERR_BUFFER_TOO_SMALL)
            break;
        lua_pop(L, 1);
        s = MP_OK;
    }
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_createtable(L, n < INT_MAX ? (int)n : 0, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        SET_INT(L, "address", (uintptr_t)recs[i].ptr);
        SET_INT(L, "size", recs[i].size);
        SET_INT(L, "sequence", recs[i].sequence);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static mp_snapshot_kind check_snapshot_kind(lua_State *L, int arg)
{
    static const char *const kinds[] = {"now", "last_oom", NULL};
    return mpl_check_option(L, arg, "now", kinds) ? MP_SNAPSHOT_LAST_OOM : MP_SNAPSHOT_NOW;
}

static void push_snapshot(lua_State *L, const mp_memory_snapshot *m, const mp_chunk_info *chunks,
                          const mp_class_info *classes)
{
    lua_createtable(L, 0, 23);
    SET_INT(L, "reserved_bytes", m->reserved_bytes);
    SET_INT(L, "address_space_bytes", m->address_space_bytes);
    SET_INT(L, "idle_bytes", m->idle_bytes);
    SET_INT(L, "peak_reserved_bytes", m->peak_reserved_bytes);
    SET_INT(L, "max_size", m->max_size);
    SET_INT(L, "in_use_bytes", m->in_use_bytes);
    SET_INT(L, "live_blocks", m->live_blocks);
    SET_INT(L, "free_bytes", m->free_bytes);
    SET_INT(L, "largest_free_block", m->largest_free_block);
    SET_INT(L, "cached_bytes", m->cached_bytes);
    SET_INT(L, "cached_blocks", m->cached_blocks);
    SET_INT(L, "pending_bytes", m->pending_bytes);
    SET_INT(L, "pending_blocks", m->pending_blocks);
    SET_INT(L, "chunk_count", m->chunk_count);
    SET_INT(L, "request_bytes", m->request_bytes);
    SET_INT(L, "request_alignment", m->request_alignment);
    lua_pushstring(L, m->memory_type == MP_MEMORY_GPU ? "gpu" : "cpu");
    lua_setfield(L, -2, "memory_type");
    lua_pushstring(L, backend_name(m->backend));
    lua_setfield(L, -2, "backend");
    lua_createtable(L, m->chunks_listed < INT_MAX ? (int)m->chunks_listed : 0, 0);
    for (size_t i = 0; i < m->chunks_listed; i++) {
        const mp_chunk_info *c = &chunks[i];
        lua_createtable(L, 0, 9);
        SET_INT(L, "base", (uintptr_t)c->base);
        SET_INT(L, "size", c->size);
        SET_INT(L, "mapped_bytes", c->mapped_bytes);
        SET_INT(L, "idle_bytes", c->idle_bytes);
        SET_INT(L, "free_bytes", c->free_bytes);
        SET_INT(L, "largest_free_block", c->largest_free_block);
        SET_INT(L, "live_blocks", c->live_blocks);
        SET_INT(L, "page_bytes", c->page_bytes);
        lua_pushstring(L, backend_name(c->backend));
        lua_setfield(L, -2, "backend");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "chunks");
    lua_createtable(L, m->class_count < INT_MAX ? (int)m->class_count : 0, 0);
    for (size_t i = 0; i < m->class_count; i++) {
        const mp_class_info *c = &classes[i];
        lua_createtable(L, 0, 6);
        SET_INT(L, "block_size", c->block_size);
        SET_INT(L, "pages", c->pages);
        SET_INT(L, "page_bytes", c->page_bytes);
        SET_INT(L, "used_blocks", c->used_blocks);
        SET_INT(L, "free_blocks", c->free_blocks);
        SET_INT(L, "cached_blocks", c->cached_blocks);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "classes");
}

/* pool:memory_snapshot(["now" | "last_oom"]): a table of the totals, with
 * chunks and classes as arrays of tables; the records' room grows to the
 * counts the call reports. */
static int pool_memory_snapshot(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    mp_snapshot_kind kind = check_snapshot_kind(L, 2);
    mp_memory_snapshot m = MP_MEMORY_SNAPSHOT_INIT;
    size_t nchunks = 0, nclasses = 0;
    for (;;) {
        /* Collected with the stack: nothing leaks if a push raises. */
        mp_chunk_info *chunks = lua_newuserdatauv(L, (nchunks ? nchunks : 1) * sizeof *chunks, 0);
        mp_class_info *classes = lua_newuserdatauv(L, (nclasses ? nclasses : 1) * sizeof *classes, 0);
        chunks[0].struct_size = sizeof *chunks;
        classes[0].struct_size = sizeof *classes;
        /* The handle again each time: a finalizer may have closed the pool. */
        mp_status s = mp_pool_memory_snapshot(mpl_handle(p), kind, &m, chunks, nchunks, classes, nclasses);
        if (s == MP_OK) {
            push_snapshot(L, &m, chunks, classes);
            return 1;
        }
        if (s != MP_ERR_BUFFER_TOO_SMALL)
            return mpl_fail(L, s);
        lua_pop(L, 2);
        nchunks = m.chunks_listed;
        nclasses = m.class_count;
    }
}

static int pool_memory_snapshot_json(lua_State *L)
{
    char *t = NULL;
    lpool *p = mpl_check_pool(L, 1);
    mp_status s = mp_pool_memory_snapshot_json(mpl_handle(p), check_snapshot_kind(L, 2), &t);
    return mpl_push_string(L, s, t);
}

/* The C mp_pool * as an integer, for handing the pool to C code (0 when closed). */
static int pool_handle(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)(uintptr_t)mpl_handle(mpl_check_pool(L, 1)));
    return 1;
}

static int pool_tostring(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    if (mpl_handle(p))
        lua_pushfstring(L, "mempool.pool '%s'", p->rec->name);
    else
        lua_pushliteral(L, "mempool.pool (closed)");
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
    lpool *p = mpl_check_pool(L, 1);
    int d = c_int(L, 2);
    return mpl_ok_or_fail(L, mp_pool_set_device(mpl_handle(p), d));
}

static int pool_device(lua_State *L)
{
    int d = 0;
    mp_status s = mp_pool_get_device(mpl_handle(mpl_check_pool(L, 1)), &d);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushinteger(L, d);
    return 1;
}

/* Streams travel as integers (a cudaStream_t's address; 0 = default stream). */
static int pool_set_stream(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    void *stream = (void *)(uintptr_t)luaL_checkinteger(L, 2);
    return mpl_ok_or_fail(L, mp_pool_set_stream(mpl_handle(p), stream));
}

static int pool_stream(lua_State *L)
{
    void *st = NULL;
    mp_status s = mp_pool_get_stream(mpl_handle(mpl_check_pool(L, 1)), &st);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushinteger(L, (lua_Integer)(uintptr_t)st);
    return 1;
}

/* pool:set_release_threshold(bytes): idle device memory kept mapped
 * whatever its age; what is above it goes back after a second idle.
 * math.maxinteger keeps everything until pool:trim(). */
static int pool_set_release_threshold(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0, 2, "a threshold is at least 0");
    return mpl_ok_or_fail(L, mp_pool_set_release_threshold(mpl_handle(p), (size_t)n));
}

static int pool_release_threshold(lua_State *L)
{
    size_t n = 0;
    mp_status s = mp_pool_get_release_threshold(mpl_handle(mpl_check_pool(L, 1)), &n);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushinteger(L, n > (size_t)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)n);
    return 1;
}

/* The bytes [off, off + n) lie inside a block of size bytes (no overflow). */
static bool inside(lua_Integer off, lua_Integer n, size_t size)
{
    return off >= 0 && n >= 0 && (lua_Unsigned)off <= size && (lua_Unsigned)n <= size - (size_t)off;
}

/* Raises unless the block at i is p's and still holds its memory. */
static lblock *live_block_of(lua_State *L, const lpool *p, int i)
{
    lblock *b = block_of(L, p, i);
    if (!b->live || stale(b))
        luaL_error(L, "the block was freed");
    return b;
}

static int pool_deallocate_on_stream(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    if (mpl_nil_free(L, 2))
        return 1;
    lblock *b = block_of(L, p, 2);
    void *stream = (void *)(uintptr_t)luaL_optinteger(L, 3, 0);
    int done = mpl_settled(L, b);
    if (done)
        return done;
    mp_status s = mp_pool_deallocate_on_stream(mpl_handle(p), b->p, stream);
    if (s == MP_OK)
        b->live = false;
    return mpl_ok_or_fail(L, s);
}

/* pool:copy_host_to_device(block, bytes [, offset]): the bytes into the block */
static int pool_copy_host_to_device(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    size_t n;
    const char *src = luaL_checklstring(L, 3, &n);
    lua_Integer off = luaL_optinteger(L, 4, 0);
    lblock *b = live_block_of(L, p, 2);
    luaL_argcheck(L, inside(off, (lua_Integer)n, b->size), 3, "does not fit the block");
    return mpl_ok_or_fail(L, mp_pool_copy_host_to_device(mpl_handle(p), (char *)b->p + off, src, n));
}

/* pool:copy_device_to_host(block [, length [, offset]]) -> the block's bytes */
static int pool_copy_device_to_host(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lblock *b = block_of(L, p, 2);
    lua_Integer off = luaL_optinteger(L, 4, 0);
    lua_Integer n = luaL_opt(L, luaL_checkinteger, 3, off >= 0 && (size_t)off <= b->size ? (lua_Integer)b->size - off : -1);
    luaL_argcheck(L, inside(off, n, b->size), 3, "outside the block");
    luaL_Buffer buf;
    char *dst = luaL_buffinitsize(L, &buf, (size_t)n);
    live_block_of(L, p, 2); /* after the buffer: making it may have run a finalizer */
    mp_status s = mp_pool_copy_device_to_host(mpl_handle(p), dst, (char *)b->p + off, (size_t)n);
    if (s != MP_OK)
        return mpl_fail(L, s);
    luaL_pushresultsize(&buf, (size_t)n);
    return 1;
}

/* pool:copy_device_to_device(dst_block, src_block [, length]) */
static int pool_copy_device_to_device(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lblock *d = live_block_of(L, p, 2), *sb = live_block_of(L, p, 3);
    lua_Integer n = luaL_optinteger(L, 4, (lua_Integer)(d->size < sb->size ? d->size : sb->size));
    luaL_argcheck(L, n >= 0 && (size_t)n <= d->size && (size_t)n <= sb->size, 4, "larger than a block");
    return mpl_ok_or_fail(L, mp_pool_copy_device_to_device(mpl_handle(p), d->p, sb->p, (size_t)n));
}

/* ---- blocks ----------------------------------------------------------------------------------------- */

static int block_free(lua_State *L)
{
    lblock *b = mpl_check_block(L, 1);
    if (!b->live)
        return freed_already(L, b);
    return mpl_ok_or_fail(L, free_block(b));
}

static int block_gc(lua_State *L)
{
    lblock *b = mpl_check_block(L, 1);
    lhandle *r = b->rec;
    free_block(b);
    if (r) {
        b->rec = NULL;
        mpl_rec_release(L, r);
    }
    return 0;
}

static int block_address(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)(uintptr_t)mpl_check_block(L, 1)->p);
    return 1;
}

static int block_size(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mpl_check_block(L, 1)->size);
    return 1;
}

static int block_pool(lua_State *L)
{
    mpl_check_block(L, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

/* Whether a registry pool (which another Lua state or C code may reset,
 * trim or destroy) still has b live. */
static bool live_elsewhere(const lblock *b)
{
    bool owned = true;
    if (b->rec->mapped && (mp_pool_owns(b->rec->h, b->p, &owned) != MP_OK))
        owned = false;
    return owned;
}

static int block_live(lua_State *L)
{
    lblock *b = mpl_check_block(L, 1);
    lua_pushboolean(L, b->live && !stale(b) && live_elsewhere(b));
    return 1;
}

/* CPU memory only: a GPU block's bytes are read and written with the pool's
 * copies. Called after the arguments are converted (a conversion may run a
 * finalizer), right before the bytes are touched. */
static lblock *host_block(lua_State *L, lblock *b)
{
    mp_memory_type t = MP_MEMORY_GPU;
    if (!b->live || stale(b))
        luaL_error(L, "the block was freed");
    /* A registry pool may also be reset, trimmed or destroyed from another
     * Lua state or from C, which this state's records do not see: ask the
     * pool that the block is still live (a block freed and handed out
     * again there cannot be told apart; README, Lua). */
    if (!live_elsewhere(b))
        luaL_error(L, "the block was freed (its registry pool was reset, trimmed or destroyed elsewhere)");
    mp_pool_get_memory_type(b->rec->h, &t);
    if (t != MP_MEMORY_CPU)
        luaL_error(L, "a GPU block's bytes are not the host's: use pool:copy_host_to_device/copy_device_to_host");
    return b;
}

/* block:write(offset, bytes) */
static int block_write(lua_State *L)
{
    lblock *b = mpl_check_block(L, 1);
    lua_Integer off = luaL_checkinteger(L, 2);
    size_t n;
    const char *s = luaL_checklstring(L, 3, &n);
    host_block(L, b);
    luaL_argcheck(L, inside(off, (lua_Integer)n, b->size), 3, "does not fit the block");
    memcpy((char *)b->p + off, s, n);
    return 0;
}

/* block:read([offset [, length]]) -> bytes */
static int block_read(lua_State *L)
{
    lblock *b = mpl_check_block(L, 1);
    lua_Integer off = luaL_optinteger(L, 2, 0);
    lua_Integer n = luaL_opt(L, luaL_checkinteger, 3, off >= 0 && (size_t)off <= b->size ? (lua_Integer)b->size - off : -1);
    host_block(L, b);
    luaL_argcheck(L, inside(off, n, b->size), 3, "outside the block");
    lua_pushlstring(L, (const char *)b->p + off, (size_t)n); /* copies before the collector may run */
    return 1;
}

static int block_tostring(lua_State *L)
{
    lblock *b = mpl_check_block(L, 1);
    lua_pushfstring(L, "mempool.block %p (%I bytes)", b->p, (lua_Integer)b->size);
    return 1;
}

const luaL_Reg mpl_pool_methods[] = {
    {"allocate", pool_allocate}, {"deallocate", pool_deallocate}, {"reallocate", pool_reallocate},
    {"usable_size", pool_usable_size}, {"reset", pool_reset}, {"trim", pool_trim},
    {"check", pool_check}, {"owns", pool_owns}, {"name", pool_name}, {"memory_type", pool_memory_type},
    {"backend", pool_backend}, {"config", pool_config}, {"stats", pool_stats}, {"reset_stats", pool_reset_stats},
    {"set_tracking", pool_set_tracking}, {"tracking", pool_tracking}, {"has_leaks", pool_has_leaks},
    {"allocations", pool_allocations}, {"stats_snapshot", mpl_pool_stats_snapshot}, {"stats_string", pool_stats_string}, {"stats_json", pool_stats_json},
    {"memory_snapshot", pool_memory_snapshot}, {"memory_snapshot_json", pool_memory_snapshot_json},
    {"set_policy", mpl_pool_set_policy}, {"set_device", pool_set_device}, {"device", pool_device},
    {"set_stream", pool_set_stream}, {"stream", pool_stream}, {"deallocate_on_stream", pool_deallocate_on_stream},
    {"allocate_on_stream", pool_allocate_on_stream},
    {"set_release_threshold", pool_set_release_threshold}, {"release_threshold", pool_release_threshold},
    {"copy_host_to_device", pool_copy_host_to_device}, {"copy_device_to_host", pool_copy_device_to_host},
    {"copy_device_to_device", pool_copy_device_to_device}, {"handle", pool_handle}, {"close", pool_close},
    {NULL, NULL}};
const luaL_Reg mpl_pool_meta[] = {
    {"__gc", pool_gc}, {"__close", pool_close}, {"__tostring", pool_tostring}, {NULL, NULL}};

const luaL_Reg mpl_block_methods[] = {{"free", block_free}, {"address", block_address}, {"size", block_size},
                                         {"pool", block_pool}, {"live", block_live}, {"write", block_write},
                                         {"read", block_read}, {NULL, NULL}};
const luaL_Reg mpl_block_meta[] = {
    {"__gc", block_gc}, {"__close", block_gc}, {"__tostring", block_tostring}, {NULL, NULL}};

