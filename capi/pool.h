/* The pool object: strategy x backend x sync x stats x debug. pool.c
 * composes them; stats.c, debug.c, gpu.c and registry.c read this struct. */
#ifndef MEMPOOL_POOL_H
#define MEMPOOL_POOL_H

#include <stddef.h>

#include "debug.h"
#include "stats.h"
#include "strategy.h"
#include "stream.h"
#include "sync.h"
#include "tcache.h"

#define MP__POOL_MAGIC 0x6d70706f6f6c2131ull /* "mppool!1" */
#define MP__ARENAS 3 /* the pool's own memory, then pinned and managed side arenas */

typedef struct mp__arena {
    const mp__backend *backend;
    void *st;          /* strategy state; NULL until the arena is first used */
    size_t last_chunk; /* size of the newest chunk, the base of growth */
    size_t nchunks;
} mp__arena;

struct mp_pool {
    uint64_t magic;
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
    mp_policy policy;         /* slow-path hooks, see policy.c */
    int device;
    void *stream;
    char name[MP_NAME_MAX + 1];
};

/* Frees ptr; with deferred, behind an event on stream (stream.c). */
mp_status mp__pool_free_block(mp_pool *pool, void *ptr, bool deferred, void *stream);

/* Handle check for every entry point: NULL or not a live pool. */
mp_status mp__pool_check_handle(const mp_pool *pool);
mp_status mp__pool_new(const char *name, mp_memory_type type, const mp_config *config, bool registry_owned,
                       mp_pool **out);
void mp__pool_free(mp_pool *pool);
/* The chunk holding address a, or NULL. Caller holds the lock. */
mp__chunk *mp__pool_find_chunk(const mp_pool *pool, uintptr_t a);
/* Releases the arena's idle chunks while more than keep bytes stay
 * reserved (keep 0: all idle chunks). Caller holds the lock. */
void mp__pool_trim_locked(mp_pool *pool, size_t keep);
/* Calls fn for every live block of every arena. Caller holds the lock. */
void mp__pool_foreach_live(mp_pool *pool, mp__live_fn fn, void *ctx);

/* Names: 1..MP_NAME_MAX bytes, no control characters. */
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

/* registry.c: every live pool, for "which pool owns this pointer?" */
void mp__pools_track(mp_pool *pool);
void mp__pools_untrack(mp_pool *pool);
/* Name of the live pool other than self that holds a (in buf), or false. */
bool mp__pools_owner_of(const mp_pool *self, uintptr_t a, char *buf, size_t len);

#endif
