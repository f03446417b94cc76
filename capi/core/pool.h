/* The pool object: strategy x backend x sync x stats x debug, living in a
 * handle slot (handle.h). pool.c composes it; stats.c, debug.c, gpu.c,
 * policy.c, registry.c and tcache.c read this struct.
 *
 * An mp_pool * is a handle, never dereferenced: every entry point turns it
 * into the mp__pool * it names with mp__pool_get (or mp__pool_of on a fast
 * path), and hooks get the handle back, never the struct. */
#ifndef MEMPOOL_POOL_H
#define MEMPOOL_POOL_H

#include <stddef.h>

#include "core/debug.h"
#include "core/handle.h"
#include "stats/stats.h"
#include "strategy/strategy.h"
#include "gpu/stream.h"
#include "core/sync.h"
#include "lockfree/tcache.h"

#define MP__ARENAS 3 /* the pool's own memory, then pinned and managed side arenas */

typedef struct mp__arena {
    const mp__backend *backend;
    void *st;          /* strategy state; NULL until the arena is first used */
    size_t last_chunk; /* size of the newest chunk, the base of growth */
    size_t nchunks;
} mp__arena;

typedef struct mp__hooks mp__hooks; /* policy.c */

struct mp__pool {
    mp__slot slot;  /* first: the handle's slot head */
    mp_pool *handle; /* what callers and hooks hold */
    const mp__strategy *strategy;
    mp__lock lock;
    mp__lf *lf; /* the lock-free layer (tcache.h); NULL: every call takes the lock */
    struct mp__tcache *bypass; /* the thread cache handed out when lf is NULL (mp_pool_thread_cache) */
    mp__arena arena[MP__ARENAS];
    uint8_t arena_of_flag[MP__ARENAS]; /* mp_alloc_flags -> arena index */
    mp__chunk **chunks;                /* every arena's chunks, sorted by base */
    size_t nchunks, chunks_cap;
    size_t reserved;
    mp__strategy_params params;
    mp_config cfg; /* normalised */
    mp_memory_type type;
    bool registry_owned;
    bool tracking;
    uint64_t next_seq;
    mp__counters counters;
    mp__debug *debug; /* NULL unless enable_debugging */
    mp__stream_queue pending; /* blocks freed on other streams, see stream.c */
    mp__hooks *hooks;         /* slow-path hooks, see policy.c; NULL: none. Under the lock */
    _Atomic int hooks_running;  /* threads inside one of its hooks (policy.c) */
    _Atomic int helper_calls;   /* calls by name in flight (registry.c) */
    int device;
    void *stream;
    char name[MP_NAME_MAX + 1];
};

_Static_assert(sizeof(mp__pool) <= MP__SLOT_SIZE, "a pool fits its handle slot");
_Static_assert(offsetof(mp__pool, slot) == 0, "the slot head comes first");

/* The live pool a handle names, or NULL (fast paths). */
static inline mp__pool *mp__pool_of(const mp_pool *handle)
{
    return (mp__pool *)(void *)mp__slot_of(handle, MP__SLOT_POOL);
}

/* The live pool a handle names, or a failure that says why (NULL, not a
 * pool, destroyed). Every entry point starts with it. */
static inline mp_status mp__pool_get(const mp_pool *handle, mp__pool **out)
{
    *out = mp__pool_of(handle);
    return MP__LIKELY(*out != NULL) ? MP_OK : mp__slot_refuse(handle, MP__SLOT_POOL);
}

/* Frees ptr; with deferred, behind an event on stream (stream.c). */
mp_status mp__pool_free_block(mp__pool *pool, void *ptr, bool deferred, void *stream);

mp_status mp__pool_new(const char *name, mp_memory_type type, const mp_config *config, bool registry_owned,
                       mp__pool **out);
/* Ends the pool: its handle dies first, so a hook or release callback that
 * calls back in gets a clean error, then everything is freed. */
void mp__pool_free(mp__pool *pool);
/* The chunk holding address a, or NULL. Caller holds the lock. */
mp__chunk *mp__pool_find_chunk(const mp__pool *pool, uintptr_t a);
/* Releases the arena's idle chunks while more than keep bytes stay
 * reserved (keep 0: all idle chunks). Caller holds the lock. */
void mp__pool_trim_locked(mp__pool *pool, size_t keep);
/* Calls fn for every live block of every arena. Caller holds the lock. */
void mp__pool_foreach_live(mp__pool *pool, mp__live_fn fn, void *ctx);
/* Bytes the pool's blocks hold for their callers (cached blocks count as free). Caller holds the lock. */
size_t mp__pool_in_use(mp__pool *pool);

/* Names: 1..MP_NAME_MAX bytes of valid UTF-8, no control characters. */
mp_status mp__check_name(const char *name);

/* The sizes of the ABI structs in 1.0: the least a caller may pass. */
#define MP__CONFIG_SIZE_1_0 (offsetof(mp_config, max_size) + sizeof(size_t))
#define MP__STATS_SIZE_1_0 (offsetof(mp_stats, live_allocations) + sizeof(uint64_t))
#define MP__ALLOCINFO_SIZE_1_0 (offsetof(mp_allocation_info, sequence) + sizeof(uint64_t))
#define MP__POLICY_SIZE_1_1 (offsetof(mp_policy, release) + sizeof(mp_release_fn))

/* config.c: read a caller's struct by its struct_size, and validate. */
mp_status mp__config_read(const mp_config *user, mp_config *out);
mp_status mp__config_check(const mp_config *cfg, mp_memory_type type);
/* Copies ours (our_size bytes) into the caller's struct as far as its
 * struct_size reaches, zeroing what lies beyond ours. */
mp_status mp__struct_out(void *user, const void *ours, size_t min_size, size_t our_size, const char *what);

/* stats.c: a pool name as a JSON string body; dst holds 2 * MP_NAME_MAX + 1. */
void mp__json_name(char *dst, const char *name);

/* policy.c: the hooks of one slow path. mp__hooks_enter (pool locked)
 * returns the pool's hooks with a reference, or NULL when it has none or
 * when this thread is already inside one of its hooks (a nested slow path
 * runs without hooks: no recursion); mp__hooks_leave (pool unlocked) drops
 * it, and may call the policy's release. */
mp__hooks *mp__hooks_enter(mp__pool *pool);
void mp__hooks_leave(mp__pool *pool, mp__hooks *hooks);
const mp_policy *mp__hooks_policy(const mp__hooks *hooks);
/* MP_ERR_INVALID_OPERATION (with the detail) while a hook of the pool runs:
 * a pool is never destroyed under its own hook. */
mp_status mp__hooks_idle(mp__pool *pool, const char *what);
/* Drops the pool's own reference (destroy). */
void mp__hooks_drop(mp__pool *pool);
/* In a forked child: only the forking thread's hooks are running. */
void mp__hooks_after_fork(mp__pool *pool);

/* owners.c: which pool's chunks hold an address (every pool, every sync
 * mode), for "freed into the wrong pool" messages and routers. */
mp_status mp__owners_add(mp__pool *pool, uintptr_t base, size_t size);
void mp__owners_remove(uintptr_t base);
/* The handle of the pool whose chunk holds a (copying its name into buf
 * when buf is not NULL), or NULL. */
mp_pool *mp__owners_find(uintptr_t a, char *buf, size_t len);
void mp__owners_lock(void); /* fork.c */
void mp__owners_unlock(void);
void mp__owners_after_fork(void);

/* registry.c (fork.c) */
void mp__registry_lock(void);
void mp__registry_unlock(void);
void mp__registry_after_fork(void);

/* fork.c: installs the fork handlers once (first pool). */
void mp__fork_init(void);

#endif
