/* The lock-free layer (sync seam, MP_SYNC_LOCK_FREE): per-thread caches of
 * blocks in front of the locked strategy, and lock-free magazine stacks
 * between threads. tcache.c holds the slow paths and the exact rules.
 *
 * What is lock-free, exactly:
 *  - allocate, when the calling thread's cache for the pool has a block of
 *    the request's class: no lock and no atomic read-modify-write at all;
 *  - free of a block of a cache class (every block of a fixed pool, blocks
 *    of up to max_cached bytes of a variable pool): the same;
 *  - refilling an empty cache from, and spilling half of a full one to,
 *    the pool's magazine stacks: one compare-and-swap on a tagged 64-bit
 *    head (32-bit index, 32-bit ABA tag), twice.
 * The pool lock is taken only to carve new blocks from the strategy in a
 * batch (or grow), to hand blocks back to it (thread exit, a stack over its
 * bound, trim), and by whole-pool operations.
 *
 * The always-on checks stay: every free reads the block's state byte (out
 * of band, one per block start; strategy.h) and takes only a byte that says
 * "live, class c"; anything else goes to the locked path, which names the
 * error. So foreign, interior and double frees are caught whenever the two
 * frees are ordered (one happens before the other). Two frees of one block
 * racing on two threads may both read "live" and both succeed: detecting
 * that needs an atomic read-modify-write per free (see README, Guarantees).
 *
 * Memory the fast paths read without a lock (span tables, state maps of
 * chunks that a trim drops) is reclaimed by hazard pointers, checked only
 * on slow paths: tcache.c. */
#ifndef MEMPOOL_TCACHE_H
#define MEMPOOL_TCACHE_H

#include "stats/stats.h"
#include "strategy/strategy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#define MP__TC_CLASSES_MAX 0x7E /* class codes 1..0x7E fit below MP__ST_LIVE */
#define MP__TC_MAG_SEG 64       /* magazines per directory segment */
#define MP__TC_MAG_DIR 1024     /* directory segments: 65,536 magazines */
#define MP__TC_SLOTS 256

/* The public face of a cache and its bins is mp_tcache (mempool.h): the
 * inline mp_tcache_allocate and mp_tcache_deallocate, and this library's
 * own fast paths below, run the same mp__tcache_pop and mp__tcache_push. */
typedef mp_tcache_entry mp__tentry;
typedef mp_tcache_bin mp__tbin;

/* Immutable once published; a replaced table waits in the limbo list
 * (linked by retired) until no cache can be searching it. */
typedef struct mp__spantab {
    struct mp__spantab *retired;
    size_t n;
    mp__span s[];
} mp__spantab;

_Static_assert(MP__ST_CACHED == MP_TCACHE_CACHED, "mempool.h and strategy.h agree on the cached state");

/* The library's part comes first, so that the bins follow the public part
 * (mp__tcache_bins); pub starts a cache line. */
typedef struct mp__tcache {
    struct mp__lf *lf;        /* NULL: a bypass cache (a pool without the lock-free layer) */
    struct mp__tcache *next;  /* the pool's caches: pushed under mp__lf_enter, never unlinked */
    uint64_t gen;             /* hot is valid while lf->gen is this */
    _Atomic(const mp__spantab *) haz; /* the table the owner is searching (hazard), or NULL */
    mp__span hot;             /* pub.hot_state, its map, is a hazard too while set */
    uint64_t *marks;          /* per bin: its net count (allocs - frees) when the gauge last saw it */
    _Alignas(64) mp_tcache pub; /* pub.owner: the owning thread's id (mp__thread_id), 0: free */
    mp__tbin bins[];          /* entries follow */
} mp__tcache;

_Static_assert(offsetof(mp__tcache, bins) == offsetof(mp__tcache, pub) + sizeof(mp_tcache),
               "the bins follow the public part, where mp__tcache_bins finds them");

/* The cache whose public part is cache. */
static inline mp__tcache *mp__tc_of(mp_tcache *cache)
{
    return (mp__tcache *)(void *)((char *)cache - offsetof(mp__tcache, pub));
}

/* Where the lock-free layer gets blocks and gives them back: the pool's
 * batch calls (pool.c), which take the pool's lock themselves. carve hands
 * out up to n blocks of size bytes without growing the pool, each state
 * byte set to state, and returns how many; give_back sets each block's
 * state byte to MP__ST_LIVE and returns the blocks to the strategy. Never
 * to the block's class: a racing double free that read "live, class c"
 * between that store and the release would cache a block the strategy
 * frees, and a trim could then drop the chunk under the cached entry (TSan,
 * test_races). MP__ST_LIVE is no cache class, so such a free takes the
 * lock and finds the block free. */
typedef struct mp__lf_source {
    void *ctx;
    uint32_t (*carve)(void *ctx, size_t size, uint32_t n, mp__tentry *out, uint8_t state);
    void (*give_back)(void *ctx, const mp__tentry *e, uint32_t n);
} mp__lf_source;

typedef struct mp__mag {
    _Atomic uint32_t next; /* index + 1 of the next magazine in its stack */
    uint32_t n;
    mp__tentry e[];
} mp__mag;

typedef struct mp__lf {
    bool fixed;  /* one class: every block */
    bool tooled; /* tell ASan/Valgrind (instrument.h) */
    unsigned shift;
    size_t max_cached; /* fixed: the block size */
    uint32_t nclasses;
    uint32_t bin_cap[MP__TC_CLASSES_MAX + 1]; /* a bin's room; a magazine holds half */
    uint32_t mag_limit[MP__TC_CLASSES_MAX + 1]; /* full magazines a class may hold */
    size_t cls_size[MP__TC_CLASSES_MAX + 1];
    uint8_t *cls_of; /* (size - 1) >> shift -> class */
    _Atomic(mp__spantab *) tab;
    _Atomic uint64_t gen;      /* bumped after every new table */
    mp__spantab *limbo_tabs;   /* replaced tables, until no hazard names them (pool locked) */
    mp__map_link *limbo_maps;  /* dropped chunks' state maps, likewise */
    _Atomic uint64_t full[MP__TC_CLASSES_MAX + 1]; /* tagged heads */
    _Atomic uint32_t nfull[MP__TC_CLASSES_MAX + 1];
    _Atomic size_t gblocks[MP__TC_CLASSES_MAX + 1]; /* blocks in full magazines */
    _Atomic uint64_t empty;
    pthread_mutex_t mag_mutex; /* adding magazine segments */
    size_t mag_bytes;
    _Atomic uint32_t nsegs;
    void *dir[MP__TC_MAG_DIR];
    /* A thread finds its cache in slot[mp__tc_slot(its id)]: no TLS on
     * the fast path. A thread whose slot is taken finds it the slow way. */
    _Atomic(mp__tcache *) slot[MP__TC_SLOTS];
    _Atomic(mp__tcache *) caches; /* every cache, free ones too; freed with the pool */
    mp_pool *handle;           /* the pool's, for the caches' public part */
    mp__lf_source src;
    uint64_t uid;               /* unique per pool life */
    mp__gauge *gauge;           /* the pool's (stats.h); NULL: the pool keeps no counters */
    struct mp__tcache *solo;    /* a pool of one thread at a time: its one cache (mp__lf_solo) */
    struct mp__lf *next_live;   /* the live pools, under mp__lf_enter */
} mp__lf;

/* A cheap, unique id of the calling thread while it lives: its thread
 * pointer (mempool.h's mp__tcache_self, one instruction), else the address
 * of a thread-local byte. */
static inline uintptr_t mp__thread_id(void)
{
#if MP_TCACHE_INLINE
    return mp__tcache_self();
#else
    extern __thread char mp__tc_id;
    return (uintptr_t)&mp__tc_id;
#endif
}

static inline uintptr_t mp__tc_owner(const mp__tcache *tc)
{
    return __atomic_load_n(&tc->pub.owner, __ATOMIC_RELAXED);
}

static inline unsigned mp__tc_slot(uintptr_t id) { return (unsigned)((id * 0x9E3779B97F4A7C15ull) >> 56); }

/* What the pool calls (tcache.c). The pool's lock is held where marked. */
mp__lf *mp__lf_new(mp_pool *handle, const mp__lf_source *src, bool fixed, size_t unit, size_t stride, bool tooled,
                   mp__gauge *gauge);
void mp__lf_free(mp__lf *lf); /* destroy: frees every cache */
/* The pool's chunks changed: spans (sorted by base) replaces the table
 * the caches search; only spans of arena 0 with a state map are taken.
 * Pool locked. */
void mp__lf_publish(mp__lf *lf, const mp__span *spans, size_t n);
void mp__lf_retire_map(mp__lf *lf, uint8_t *map); /* a dropped chunk's map; pool locked, publish follows */
void mp__lf_reset(mp__lf *lf);                    /* quiescent, inside mp__lf_enter, pool locked */
void mp__lf_drain(mp__lf *lf);                    /* trim: the caller's cache and the stacks; pool unlocked */
/* The blocks in caches and magazines: exact inside mp__lf_enter, safe
 * outside it (the pool locked or not). */
void mp__lf_cached(const mp__lf *lf, size_t *blocks, size_t *bytes);
/* The same per class: blocks[1..nclasses] (MP__TC_CLASSES_MAX + 1 entries). */
void mp__lf_cached_classes(const mp__lf *lf, size_t *blocks);
void mp__lf_tally(const mp__lf *lf, mp__tally *t);                 /* the bins' counts (stats.h), summed */
void mp__lf_enter(void);                          /* the cache-list mutex: take it before a pool lock */
void mp__lf_leave(void);
void mp__lf_after_fork(void);                     /* the child: a fresh mutex (fork.c) */
void mp__lf_fork_lock(mp__lf *lf);                /* the magazine mutex around fork() */
void mp__lf_fork_unlock(mp__lf *lf);
void mp__lf_fork_child(mp__lf *lf);

/* A pool that one thread at a time uses (thread_safe off) has one cache,
 * whichever thread calls: the same bins and state bytes, no lock needed
 * around them, and none of the caches' thread machinery (the owner is
 * MP__TC_SOLO, which no thread's id is, so no thread attaches it). Spills
 * go back to the strategy, not to magazines. NULL for want of memory. */
#define MP__TC_SOLO ((uintptr_t)1)
mp__tcache *mp__lf_solo(mp__lf *lf);

/* A cache no thread owns, for a pool without the lock-free layer (or a
 * caller compiled against another layout): every call through it takes
 * the exported path. */
mp__tcache *mp__tc_bypass_new(mp_pool *handle);
void mp__tc_bypass_free(mp__tcache *tc);

/* The fast paths make no call, so they need no stack frame; whatever they
 * cannot finish (no cache yet, an empty or full bin, a chunk not at hand,
 * ASan or Valgrind watching) goes to the out-of-line slow paths, which
 * fall back to the locked path in turn. */

/* The calling thread's cache of the pool, if it holds its slot. The slot
 * is read with acquire (a plain load on x86-64) to see the cache's set-up. */
static inline mp__tcache *mp__tc_mine(const mp__lf *lf)
{
    uintptr_t id = mp__thread_id();
    mp__tcache *tc = atomic_load_explicit(&lf->slot[mp__tc_slot(id)], memory_order_acquire);
    return MP__LIKELY(tc && mp__tc_owner(tc) == id) ? tc : NULL;
}

/* A block for 1 <= size <= lf->max_cached from the thread's cache, or NULL. */
static inline void *mp__tc_pop(const mp__lf *lf, size_t size)
{
    mp__tcache *tc = mp__tc_mine(lf);
    return MP__LIKELY(tc != NULL) ? mp__tcache_pop(&tc->pub, size) : NULL;
}

/* Pushes ptr onto the thread's cache if its state byte says "live, of a
 * cache class" and there is room; false: let the slow path decide. */
static inline bool mp__tc_push(const mp__lf *lf, void *ptr)
{
    mp__tcache *tc = mp__tc_mine(lf);
    return MP__LIKELY(tc != NULL) && mp__tcache_push(&tc->pub, ptr);
}

/* The solo cache's steps (mp__lf_solo): the same, without the thread's
 * lookup. */
static inline void *mp__tc_solo_pop(mp__tcache *tc, size_t size) { return mp__tcache_pop(&tc->pub, size); }
static inline bool mp__tc_solo_push(mp__tcache *tc, void *ptr) { return mp__tcache_push(&tc->pub, ptr); }

/* The same, doing whatever the fast paths could not (tcache.c). */
void *mp__tc_alloc(mp__lf *lf, size_t size);
bool mp__tc_free(mp__lf *lf, void *ptr);
/* The calling thread's cache of lf, attached on first use; NULL: none to
 * be had (the locked path serves this thread). */
mp__tcache *mp__tc_attach(mp__lf *lf);
/* The same for a cache's own slow path (mp_tcache_*_slow): tc must be
 * the caller's. */
void *mp__tc_alloc_in(mp__tcache *tc, size_t size);
bool mp__tc_free_in(mp__tcache *tc, void *ptr);

#endif
