/* Internal to the Lua module (lmempool.c, lpool.c, lrouter.c, lpolicy.c,
 * lstats.c): the types that the files share. Nothing here is exported from mempool.so.
 *
 * Ownership, in one picture:
 *
 *   lstate (malloc)  <- refs: the module's sentinel userdata, every record
 *   lhandle (malloc) <- refs: pool objects, blocks, routers, and the C pool
 *                       while it holds this state's policy (mp_policy.user)
 *   pool object (userdata) -> its lhandle;  block (userdata) -> its lhandle
 *
 * Every C-side link is a counted pointer, never a Lua reference that a
 * finalizer order, a resurrection or debug.setuservalue could break; Lua
 * references (uservalues, weak tables) only find the Lua object to return. */
#ifndef LMEMPOOL_H
#define LMEMPOOL_H

#define LUA_LIB
#include <lauxlib.h>
#include <lua.h>
#include <mempool/mempool.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#define POOL "mempool.pool"
#define BLOCK "mempool.block"
#define ROUTER "mempool.router"
#define MEMSTATS "mempool.memory_stats"

/* Instructions a hook may run unless its policy says otherwise. */
#define MPL_DEFAULT_BUDGET 5000000

/* One per Lua state that loaded the module. */
typedef struct lstate {
    lua_State *main;       /* the main thread: lives as long as the state */
    lua_State *caller;     /* the thread of the module call in progress that may reach a hook, or NULL */
    struct mpl_budget *frame; /* the innermost hook running now, NULL outside hooks */
    lua_CFunction co_resume, co_wrap, co_close, db_sethook; /* calls a hook is watched for */
    lua_Alloc alloc;       /* the state's allocator while a spent hook makes allocations fail */
    void *alloc_ud;
    unsigned refs;         /* the sentinel and every record */
    bool open;             /* false once the Lua state is closing: no hook runs any more */
    /* The thread that last called into the module: a Lua state runs on one
     * thread at a time, so a hook reached from any other thread (C code
     * using the pool) is refused rather than run on a state in use. */
    _Atomic(pthread_t) thread;
} lstate;

/* What this state knows about one C pool, shared by all its Lua objects. */
typedef struct lhandle {
    lstate *S;
    mp_pool *h;            /* NULL once destroyed through this state */
    uint64_t epoch;        /* bumped by reset and destroy: a block of an older epoch is stale */
    unsigned refs;
    unsigned busy;         /* hooks of this pool running now: it is not destroyed under them */
    unsigned resizing;     /* reallocations of this pool in flight: its hooks may not reset it */
    bool mapped;           /* a registry pool, found by handle in the state's map */
    bool policy;           /* the C pool holds this state's policy (cleared by mp_policy.release) */
    const void *holder;    /* the pool object whose set_policy installed it: compared, never followed */
    char name[MP_NAME_MAX + 1];
} lhandle;

typedef struct lpool {
    lhandle *rec;          /* NULL once collected */
    lua_Integer budget;    /* instructions per hook call */
    bool owner;            /* this object made the pool and destroys it */
    bool closed;           /* close() ran: the object answers as a closed pool */
} lpool;

typedef struct lblock {
    lhandle *rec;          /* NULL until it holds memory, and once collected */
    void *p;
    size_t size;
    uint64_t epoch;
    bool live;
} lblock;

/* Registry keys (by address). */
extern const char mpl_key_state, mpl_key_handles, mpl_key_pools, mpl_key_policies;

/* lmempool.c: the state, results, records, configuration tables */
lstate *mpl_S(lua_State *L);              /* from the calling function's upvalue; NULL while the state closes */
lstate *mpl_state(lua_State *L);          /* the same from the registry, for debug hooks */
lua_State *mpl_enter(lstate *S, lua_State *L); /* around a C call that may reach a hook: it runs from L */
void mpl_leave(lstate *S, lua_State *prev);
int mpl_fail(lua_State *L, mp_status s);  /* nil, the library's message, status name */
int mpl_fail_msg(lua_State *L, mp_status s, const char *fmt, ...);
int mpl_ok_or_fail(lua_State *L, mp_status s);
lhandle *mpl_rec_new(lua_State *L, lstate *S);             /* a standalone pool's record (unmapped) */
lhandle *mpl_rec_get(lua_State *L, lstate *S, mp_pool *h); /* a registry pool's record, made on first sight */
lhandle *mpl_rec_find(lua_State *L, mp_pool *h);
void mpl_rec_name(lhandle *r);
void mpl_rec_dead(lua_State *L, lhandle *r);              /* the pool is gone: objects closed, blocks stale */
void mpl_rec_release(lua_State *L, lhandle *r);
void mpl_rec_release_c(lhandle *r);       /* the same without Lua: leaks rather than unmap */
lua_Integer mpl_opt_int(lua_State *L, int arg, int t, const char *k, lua_Integer lo, lua_Integer hi, lua_Integer dflt);
size_t mpl_opt_size(lua_State *L, int t, const char *k, size_t dflt);
bool mpl_opt_bool(lua_State *L, int t, const char *k, bool dflt);
int mpl_check_option(lua_State *L, int arg, const char *def, const char *const list[]); /* luaL_checkoption, listing the options */
int mpl_opt_option(lua_State *L, int arg, int t, const char *k, int dflt, const char *const list[]); /* field k; dflt if absent */
mp_status mpl_config_from(lua_State *L, int t, mp_memory_type type, mp_config *c);

/* lpool.c: pool and block objects */
extern const luaL_Reg mpl_pool_methods[], mpl_pool_meta[], mpl_block_methods[], mpl_block_meta[];
int mpl_cpu_pool(lua_State *L);
int mpl_gpu_pool(lua_State *L);
mp_pool *mpl_handle(const lpool *p);      /* the pool's live handle, or NULL */
lpool *mpl_check_pool(lua_State *L, int i);
lblock *mpl_check_block(lua_State *L, int i);
lpool *mpl_push_pool_of(lua_State *L, lstate *S, mp_pool *h); /* a registry pool's open object */
int mpl_allocate_through(lua_State *L, lstate *S, int pool_index, size_t size, mp_alloc_flags flag,
                         void *const *stream);
int mpl_nil_free(lua_State *L, int i);  /* nil at i: pushes true and returns 1 (freeing nil does nothing), else 0 */
int mpl_settled(lua_State *L, lblock *b); /* before freeing b another way: 0, or the results pushed */
void mpl_push_stats(lua_State *L, const mp_stats *st);
/* Lists live records through list(obj, ...) (an mp_*_get_allocations call
 * that reads obj's current handle each time: a finalizer may close it
 * meanwhile), growing the array while more appear; pushes them as an array
 * of { address, size, sequence } tables, or the failure. */
typedef mp_status (*mpl_list_fn)(void *obj, mp_allocation_info *out, size_t capacity, size_t *count);
int mpl_push_listing(lua_State *L, mpl_list_fn list, void *obj);
int mpl_push_string(lua_State *L, mp_status s, char *text);

/* lstats.c: standalone statistics (mp_tracker) */
extern const luaL_Reg mpl_stats_methods[], mpl_stats_meta[];
int mpl_memory_stats(lua_State *L);
int mpl_pool_stats_snapshot(lua_State *L);

/* lrouter.c */
extern const luaL_Reg mpl_router_methods[], mpl_router_meta[];
int mpl_router(lua_State *L);

/* lpolicy.c */
int mpl_pool_set_policy(lua_State *L);
void mpl_drop_policy(lua_State *L, lpool *p);         /* clears it in the C pool if this object set it */
void mpl_forget_policy(lua_State *L, lhandle *r);     /* no object holds the pool's policy any more */
void mpl_watch_init(lua_State *L, lstate *S);         /* finds the calls that a budget watches */

#endif
