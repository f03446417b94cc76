/* The pool's internal API. A pool (pool.c) composes one strategy per arena,
 * a backend per arena, its lock, the lock-free front (lockfree/), the
 * stream queue (gpu/stream.h), its hooks (policy/hooks.h), counters
 * (stats/stats.h), the record of its last failure (stats/snapshot.h) and
 * the debug layer; the struct is defined and touched in pool.c alone. The
 * other files reach a pool through the calls below: stats, the GPU
 * helpers, policies, the registry, routers and fork are its clients, and
 * it calls none of them (snapshot.h's two record functions work on a
 * record, not on a pool).
 *
 * An mp_pool * is a handle, never dereferenced: every entry point turns it
 * into the mp__pool * it names with mp__pool_get (or mp__pool_of on a fast
 * path), and hooks get the handle back, never the struct. Calls marked
 * "locks" take the pool's lock themselves; none expects the caller to
 * hold it. */
#ifndef MEMPOOL_POOL_H
#define MEMPOOL_POOL_H

#include "core/config.h"
#include "core/handle.h"
#include "stats/snapshot.h"
#include "stats/stats.h"

#include <stddef.h>

typedef struct mp__hooks mp__hooks; /* policy/hooks.h */

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

/* ---- life ---------------------------------------------------------------- */

mp_status mp__pool_new(const char *name, mp_memory_type type, const mp_config *config, bool registry_owned,
                       mp__pool **out);
/* Ends the pool: its handle dies first, so a hook or release callback that
 * calls back in gets a clean error, then everything is freed. */
void mp__pool_free(mp__pool *pool);
/* MP_OK unless one of the pool's hooks runs (then it must not be destroyed;
 * what names the call for the message). */
mp_status mp__pool_idle(mp__pool *pool, const char *what);

/* ---- what it is ---------------------------------------------------------- */

mp_pool *mp__pool_handle(const mp__pool *pool);
const char *mp__pool_name(const mp__pool *pool);
mp_memory_type mp__pool_type(const mp__pool *pool);
bool mp__pool_registry_owned(const mp__pool *pool);

/* Every live pool (mp_pool_create's and the registry's), in the table's
 * order, to fn, with the slot table locked: no pool can be destroyed
 * meanwhile (mp__pool_free revokes a handle under that lock). fn may lock
 * the pool (the order is the fork handlers': registry, table, pool) but
 * must not create or destroy one. */
void mp__pools_foreach(void (*fn)(mp__pool *pool, void *ctx), void *ctx);

/* The snapshot's size classes and chunks as text lines (snapshot.c), for
 * mp_stats_print. */
struct mp__text;
void mp__snapshot_text(mp__pool *pool, struct mp__text *t);

/* MEMPOOL_SHOW_STATS=1: registers, once, the exit handler that prints
 * every live pool's stats to stderr (show_stats.c); called at each pool's
 * creation, so a process that makes no pool, or does not ask, pays nothing. */
void mp__show_stats_init(void);

/* How the pool is made, for the stats text and JSON. */
typedef struct mp__pool_desc {
    const char *name;
    mp_memory_type type;
    const char *strategy; /* the strategy's name */
    const char *backend;  /* the backend of its own memory */
    const char *sync;     /* the mode in force: "none", "mutex" or "lock-free" */
    bool tracking;        /* counters kept (with records, or counters_only) */
    bool counters_only;   /* counters without records */
    bool debug;
} mp__pool_desc;

void mp__pool_describe(mp__pool *pool, mp__pool_desc *desc); /* locks */
/* The pool's own line of the stats text, or its members of the JSON
 * (stats.c); asprintf's result. */
int mp__pool_head(char **out, const mp__pool_desc *desc, bool json);

/* The pool's totals at one instant (locks). Blocks in thread caches count
 * as free to the user, blocks waiting on a stream as neither. */
typedef struct mp__pool_totals {
    mp__counters counters;
    size_t reserved, chunks;
    size_t peak_reserved;            /* the highest reserved since creation or the last reset of the stats */
    size_t free_bytes, largest_free; /* largest_free: all of free_bytes when any free block serves any request */
    size_t live_blocks;              /* blocks the user holds */
    size_t in_use;                   /* bytes the user's blocks hold: reserved - free_bytes */
    size_t pending;                  /* blocks freed on a stream, waiting for its event */
    size_t initial_size;
    double fragmentation;            /* mp_stats.fragmentation_ratio */
} mp__pool_totals;

void mp__pool_totals_get(mp__pool *pool, mp__pool_totals *t); /* locks */

/* ---- statistics ---------------------------------------------------------- */

/* mp_pool_reset_stats: the cumulative counts start again, the peaks (of
 * bytes in use and reserved) from what is now, and the last failure is
 * forgotten. Locks. */
void mp__pool_reset_counters(mp__pool *pool);
mp_status mp__pool_set_tracking(mp__pool *pool, bool on); /* locks */
bool mp__pool_tracking(mp__pool *pool); /* counters kept: records on, or counters only */
/* The tracked live blocks as records (user address, size, sequence; in no
 * order) in a malloc'd array the caller frees (locks); refused by a
 * counters-only pool, which keeps none. */
mp_status mp__pool_tracked(mp__pool *pool, mp_allocation_info **out, size_t *count);
/* The totals, whether the pool tracks, and the tracked live blocks as
 * records (none for a counters-only pool), all of one moment: one lock
 * (mp_tracker_from_pool). */
mp_status mp__pool_totals_and_tracked(mp__pool *pool, mp__pool_totals *t, bool *tracking, mp_allocation_info **out,
                                      size_t *count);

/* ---- memory snapshots (stats/snapshot.h) --------------------------------- */

/* The pool's memory now, under one lock (and mp__lf_enter): the totals in
 * *v, each chunk to each_chunk (NULL: none wanted) in address order, while
 * the lock is held, and the classes into classes (NULL: not wanted).
 * O(blocks); allocates nothing. */
void mp__pool_view_get(mp__pool *pool, mp__pool_view *v, mp__chunk_fn each_chunk, void *ctx,
                   mp__class_views *classes);
/* The record of the pool's last failed allocation since creation or
 * mp_pool_reset_stats: MP_ERR_NOT_FOUND when none failed, and
 * MP_ERR_OUT_OF_MEMORY when one failed but no host memory could be had to
 * keep its record. Locks. */
mp_status mp__pool_last_oom(mp__pool *pool, mp__oom_record *out);

/* ---- GPU ----------------------------------------------------------------- */

mp_backend_kind mp__pool_backend(const mp__pool *pool);
/* Moves an empty pool to device (locks): refused while blocks are live. */
mp_status mp__pool_set_device(mp__pool *pool, int device);
void mp__pool_placement(mp__pool *pool, int *device, void **stream); /* locks */
/* A block for work on stream (mp_pool_allocate_on_stream). */
mp_status mp__pool_allocate_on_stream(mp_pool *handle, mp__pool *pool, size_t size, void *stream, void **out_ptr);
/* Idle device memory an on-demand pool keeps mapped (core/backing.h). */
void mp__pool_set_release_threshold(mp__pool *pool, size_t bytes);
size_t mp__pool_release_threshold(mp__pool *pool);
mp_status mp__pool_set_stream(mp__pool *pool, void *stream);        /* locks; MP_ERR_CUDA: the old stream stays */
/* Frees ptr once the work queued on stream so far is done (at once when
 * stream is the pool's own). Locks. */
mp_status mp__pool_free_on_stream(mp__pool *pool, void *ptr, void *stream);

/* ---- policies ------------------------------------------------------------ */

/* Installs next and returns the previous hooks, whose reference the
 * caller drops (mp__hooks_unref). Locks. */
mp__hooks *mp__pool_swap_hooks(mp__pool *pool, mp__hooks *next);
/* Enters the pool's hooks as a slow path does (NULL: none to run) and
 * reads its totals, under one lock; leave drops the reference. */
mp__hooks *mp__pool_hooks_enter(mp__pool *pool, mp__pool_totals *t);
void mp__pool_hooks_leave(mp__pool *pool, mp__hooks *hooks);

/* ---- the thread-cache calls (lockfree/tcache_api.c) ---------------------- */

struct mp__lf;
/* The lock-free front, or NULL when every call takes the lock. */
struct mp__lf *mp__pool_lf(const mp__pool *pool);
/* The pool's bypass cache (made on first use; NULL for want of memory): a
 * cache that no thread owns, so every call through it takes the exported
 * path. Locks. */
struct mp__tcache *mp__pool_bypass(mp__pool *pool);

#endif
