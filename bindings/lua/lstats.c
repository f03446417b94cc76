/* Standalone statistics: the seed's MemoryStats on its own, over the C
 * ABI's mp_tracker (the counting, the records and the lock are the C
 * library's; this file maps types).
 *
 *   mempool.memory_stats()  -> a tracker counting what the script records
 *   pool:stats_snapshot()   -> a copy of the pool's stats now (mp_tracker_from_pool)
 *   stats:clone()           -> a copy of a tracker
 *
 * Addresses: track_allocation and track_deallocation take a block (its
 * address) or an integer address; 0 is the NULL address, which the library
 * refuses (nil, message, "MP_ERR_INVALID_POINTER"). Like the pool object,
 * a closed object holds a NULL handle, so every call on it answers
 * nil, "tracker is NULL", "MP_ERR_INVALID_ARGUMENT"; close, <close> and
 * the collector destroy the tracker once. A Lua state runs on one thread,
 * so no call of this state races its close; C code given stats:handle()
 * must stop using it before the object is closed, as with pool:handle(). */
#include "lmempool.h"

#include <limits.h>

typedef struct lstats {
    mp_tracker *h; /* NULL once closed */
} lstats;

static lstats *check_stats(lua_State *L) { return luaL_checkudata(L, 1, MEMSTATS); }

/* Pushes an object with no tracker yet: made before the C call, so that no
 * Lua allocation (which could raise) comes between the tracker's creation
 * and its owner. */
static lstats *new_stats(lua_State *L)
{
    lstats *s = lua_newuserdatauv(L, sizeof *s, 0);
    s->h = NULL;
    luaL_setmetatable(L, MEMSTATS);
    return s;
}

static int made(lua_State *L, lstats *s, mp_status st, mp_tracker *h)
{
    if (st != MP_OK)
        return mpl_fail(L, st);
    s->h = h;
    return 1;
}

/* mempool.memory_stats() -> stats | nil, message, status */
int mpl_memory_stats(lua_State *L)
{
    lstats *s = new_stats(L);
    mp_tracker *h = NULL;
    mp_status st = mp_tracker_create(&h);
    return made(L, s, st, h);
}

/* pool:stats_snapshot() -> stats holding the pool's figures and live
 * records of now; it outlives the pool and can record on its own. */
int mpl_pool_stats_snapshot(lua_State *L)
{
    lpool *p = mpl_check_pool(L, 1);
    lstats *s = new_stats(L);
    mp_tracker *h = NULL;
    mp_status st = mp_tracker_from_pool(mpl_handle(p), &h); /* the handle after the allocation: a finalizer may close it */
    return made(L, s, st, h);
}

static int stats_clone(lua_State *L)
{
    lstats *from = check_stats(L);
    lstats *s = new_stats(L);
    mp_tracker *h = NULL;
    mp_status st = mp_tracker_clone(from->h, &h);
    return made(L, s, st, h);
}

/* close(), <close> and __gc: destroys the tracker; again, nothing. */
static int stats_close(lua_State *L)
{
    lstats *s = check_stats(L);
    mp_tracker *h = s->h;
    s->h = NULL;
    if (h)
        mp_tracker_destroy(h);
    lua_pushboolean(L, 1);
    return 1;
}

static size_t check_size(lua_State *L, int arg)
{
    lua_Integer n = luaL_checkinteger(L, arg);
    luaL_argcheck(L, n >= 0, arg, "size must not be negative");
    return (size_t)n;
}

/* A block's address, or an integer address (0 is NULL, for the library to refuse). */
static const void *check_address(lua_State *L, int arg)
{
    lblock *b = luaL_testudata(L, arg, BLOCK);
    if (b)
        return b->p;
    if (lua_type(L, arg) != LUA_TNUMBER)
        luaL_typeerror(L, arg, "mempool.block or integer address");
    lua_Integer a = luaL_checkinteger(L, arg);
    luaL_argcheck(L, a >= 0, arg, "an address is not negative");
    return (const void *)(uintptr_t)a;
}

static int stats_record_allocation(lua_State *L)
{
    lstats *s = check_stats(L);
    size_t n = check_size(L, 2);
    return mpl_ok_or_fail(L, mp_tracker_record_allocation(s->h, n));
}

static int stats_record_deallocation(lua_State *L)
{
    lstats *s = check_stats(L);
    size_t n = check_size(L, 2);
    return mpl_ok_or_fail(L, mp_tracker_record_deallocation(s->h, n));
}

/* stats:track_allocation(block | address, size) */
static int stats_track_allocation(lua_State *L)
{
    lstats *s = check_stats(L);
    const void *p = check_address(L, 2);
    size_t n = check_size(L, 3);
    return mpl_ok_or_fail(L, mp_tracker_track_allocation(s->h, p, n));
}

/* stats:track_deallocation(block | address) */
static int stats_track_deallocation(lua_State *L)
{
    lstats *s = check_stats(L);
    const void *p = check_address(L, 2);
    return mpl_ok_or_fail(L, mp_tracker_track_deallocation(s->h, p));
}

static int stats_stats(lua_State *L)
{
    mp_stats st = MP_STATS_INIT;
    mp_status s = mp_tracker_get_stats(check_stats(L)->h, &st);
    if (s != MP_OK)
        return mpl_fail(L, s);
    mpl_push_stats(L, &st);
    return 1;
}

/* The seed's getters, one counter each (the same names as stats()'s fields). */
#define GETTER(field, push)                                                                                         \
    static int stats_##field(lua_State *L)                                                                          \
    {                                                                                                               \
        mp_stats st = MP_STATS_INIT;                                                                                \
        mp_status s = mp_tracker_get_stats(check_stats(L)->h, &st);                                                 \
        if (s != MP_OK)                                                                                             \
            return mpl_fail(L, s);                                                                                  \
        push(L, st.field);                                                                                          \
        return 1;                                                                                                   \
    }
#define PUSH_COUNT(L, v) lua_pushinteger(L, (lua_Integer)(v))
GETTER(total_allocated, PUSH_COUNT)
GETTER(current_used, PUSH_COUNT)
GETTER(peak_usage, PUSH_COUNT)
GETTER(allocation_count, PUSH_COUNT)
GETTER(deallocation_count, PUSH_COUNT)
GETTER(fragmentation_ratio, lua_pushnumber)

/* stats:allocations() -> the records, oldest first, as pool:allocations() */
static mp_status list_tracker(void *obj, mp_allocation_info *out, size_t capacity, size_t *count)
{
    return mp_tracker_get_allocations(((lstats *)obj)->h, out, capacity, count);
}

static int stats_allocations(lua_State *L) { return mpl_push_listing(L, list_tracker, check_stats(L)); }

static int stats_has_leaks(lua_State *L)
{
    bool v = false;
    mp_status s = mp_tracker_has_leaks(check_stats(L)->h, &v);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushboolean(L, v);
    return 1;
}

static int stats_tracking(lua_State *L)
{
    bool v = false;
    mp_status s = mp_tracker_get_tracking(check_stats(L)->h, &v);
    if (s != MP_OK)
        return mpl_fail(L, s);
    lua_pushboolean(L, v);
    return 1;
}

static int stats_set_tracking(lua_State *L)
{
    lstats *s = check_stats(L);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    return mpl_ok_or_fail(L, mp_tracker_set_tracking(s->h, lua_toboolean(L, 2)));
}

static int stats_reset(lua_State *L) { return mpl_ok_or_fail(L, mp_tracker_reset(check_stats(L)->h)); }

static int stats_string(lua_State *L)
{
    char *t = NULL;
    mp_status s = mp_tracker_stats_string(check_stats(L)->h, &t);
    return mpl_push_string(L, s, t);
}

static int stats_json(lua_State *L)
{
    char *t = NULL;
    mp_status s = mp_tracker_stats_json(check_stats(L)->h, &t);
    return mpl_push_string(L, s, t);
}

/* The C mp_tracker * as an integer, for handing it to C code (0 when closed). */
static int stats_handle(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)(uintptr_t)check_stats(L)->h);
    return 1;
}

static int stats_tostring(lua_State *L)
{
    lua_pushstring(L, check_stats(L)->h ? "mempool.memory_stats" : "mempool.memory_stats (closed)");
    return 1;
}

const luaL_Reg mpl_stats_methods[] = {
    {"record_allocation", stats_record_allocation}, {"record_deallocation", stats_record_deallocation},
    {"track_allocation", stats_track_allocation}, {"track_deallocation", stats_track_deallocation},
    {"stats", stats_stats}, {"total_allocated", stats_total_allocated}, {"current_used", stats_current_used},
    {"peak_usage", stats_peak_usage}, {"allocation_count", stats_allocation_count},
    {"deallocation_count", stats_deallocation_count}, {"fragmentation_ratio", stats_fragmentation_ratio},
    {"allocations", stats_allocations}, {"has_leaks", stats_has_leaks}, {"tracking", stats_tracking},
    {"set_tracking", stats_set_tracking}, {"reset", stats_reset}, {"stats_string", stats_string},
    {"stats_json", stats_json}, {"clone", stats_clone}, {"handle", stats_handle}, {"close", stats_close},
    {NULL, NULL}};
const luaL_Reg mpl_stats_meta[] = {
    {"__gc", stats_close}, {"__close", stats_close}, {"__tostring", stats_tostring}, {NULL, NULL}};
