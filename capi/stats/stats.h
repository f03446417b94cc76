/* The stats seam: the counters a pool keeps, and how they are summed.
 *
 * A pool with records (track_stats) counts under its lock, in
 * mp__counters, the allocations made while tracking is on: their records
 * say which blocks were counted. A counters-only pool (track_stats and
 * counters_only) counts every block, by the bytes its free can find again
 * without a record (pool.c), and a lock-free one of those counts in three
 * places:
 *  - mp__counters, under the pool lock: the locked path's blocks (exact);
 *  - the bins of its thread caches (mp_tcache_bin.frees, bumped by the
 *    owning thread alone with relaxed stores, and .supplied, the blocks the
 *    library moved in and out, from which the allocations follow), summed
 *    into an mp__tally when read (tcache.c); a cache's counts stay with the
 *    cache, which outlives its thread and serves the next one;
 *  - an adjustment (mp__counters too) that resets add to the caches' sums,
 *    since no other thread may write a cache's counts.
 * Every count is modulo 2^64: a block one thread's cache handed out and
 * another thread's cache took back leaves one cache ahead and the other
 * behind, and only the sum means anything. So a sum is exact whenever no
 * call is running, and a read while calls run may see a difference for a
 * moment below zero (clamped).
 *
 * The peak cannot come from sums, which are read only now and then: the
 * gauge follows the current bytes as the slow paths see them (the locked
 * path at once, each cache bin's net count when it refills or spills), and
 * keeps their highest value. Between two such events a bin's net count
 * moves exactly as far as its own count of blocks does, so the gauge is off
 * by at most the blocks the bins hold (their capacity); a snapshot raises
 * the peak to the exact current bytes. */
#ifndef MEMPOOL_STATS_H
#define MEMPOOL_STATS_H

#include "core/core.h"

#include <stdatomic.h>

typedef struct mp__counters {
    uint64_t total, current, peak, allocs, frees, failed, tracked_live;
} mp__counters;

static inline void mp__stats_on_alloc(mp__counters *c, size_t size)
{
    c->total += size;
    c->current += size;
    if (c->current > c->peak)
        c->peak = c->current;
    c->allocs++;
    c->tracked_live++;
}

static inline void mp__stats_on_free(mp__counters *c, size_t size)
{
    c->current -= size;
    c->frees++;
    c->tracked_live--;
}

/* A reset frees every block at once. */
static inline void mp__stats_on_reset(mp__counters *c)
{
    c->frees += c->tracked_live;
    c->tracked_live = 0;
    c->current = 0;
}

/* What the bins of a pool's thread caches counted: blocks taken (allocs)
 * and put back (frees), and the same in bytes of their classes. */
typedef struct mp__tally {
    uint64_t allocs, frees, bytes_in, bytes_out;
} mp__tally;

/* The current bytes as the slow paths see them, and their highest value. */
typedef struct mp__gauge {
    _Atomic uint64_t now;
    _Atomic uint64_t peak;
} mp__gauge;

static inline void mp__gauge_raise(mp__gauge *g, uint64_t v)
{
    uint64_t p = atomic_load_explicit(&g->peak, memory_order_relaxed);
    if ((int64_t)v < 0) /* a moment's debt of one cache to another */
        return;
    while (v > p && !atomic_compare_exchange_weak_explicit(&g->peak, &p, v, memory_order_relaxed,
                                                           memory_order_relaxed))
        ;
}

/* Moves the gauge by delta bytes (modulo 2^64: a decrease wraps). */
static inline void mp__gauge_add(mp__gauge *g, uint64_t delta)
{
    mp__gauge_raise(g, atomic_fetch_add_explicit(&g->now, delta, memory_order_relaxed) + delta);
}

static inline uint64_t mp__clamp(uint64_t v) { return (int64_t)v < 0 ? 0 : v; }

/* The counts of a lock-free counters-only pool: the locked path's, plus
 * the caches' tally, plus the adjustment; the peak from the gauge. */
static inline mp__counters mp__stats_sum(const mp__counters *locked, const mp__tally *t, const mp__counters *adj,
                                         const mp__gauge *g)
{
    mp__counters c = {
        .total = locked->total + t->bytes_in + adj->total,
        .current = mp__clamp(locked->current + t->bytes_in - t->bytes_out + adj->current),
        .allocs = locked->allocs + t->allocs + adj->allocs,
        .frees = locked->frees + t->frees + adj->frees,
        .failed = locked->failed,
        .tracked_live = mp__clamp(locked->tracked_live + t->allocs - t->frees + adj->tracked_live),
    };
    uint64_t peak = atomic_load_explicit(&g->peak, memory_order_relaxed);
    c.peak = peak > c.current ? peak : c.current;
    return c;
}

/* mp_pool_reset_stats: the cumulative counts start again from what is
 * live, so that allocs - frees stays the live count and total covers
 * current: allocs become the live blocks, frees and failures 0, total and
 * peak the current bytes. */
static inline void mp__stats_restart(mp__counters *c)
{
    c->allocs = c->tracked_live;
    c->frees = c->failed = 0;
    c->total = c->peak = c->current;
}

/* The same for the caches' part, through the adjustment (the caches' own
 * counts are theirs to write): their sums become what restart would set. */
static inline void mp__stats_restart_cached(mp__counters *adj, const mp__tally *t)
{
    adj->allocs = adj->tracked_live - t->frees; /* t->allocs + adj->allocs = the caches' live count */
    adj->frees = 0 - t->frees;
    adj->total = adj->current - t->bytes_out; /* t->bytes_in + adj->total = the caches' current bytes */
}

/* mp_pool_reset for the caches' part: every block they handed out is freed. */
static inline void mp__stats_on_reset_cached(mp__counters *adj, const mp__tally *t)
{
    adj->frees += t->allocs - t->frees + adj->tracked_live;
    adj->tracked_live = t->frees - t->allocs;
    adj->current = t->bytes_out - t->bytes_in;
}

/* mp_pool_get_allocations' and mp_tracker_get_allocations' last step:
 * sorts recs (count of them, malloc'd or NULL; freed here) by sequence and
 * copies the first capacity into out, as mp__records_in reads out; the
 * count goes to *out_count, and MP_ERR_BUFFER_TOO_SMALL names owner when
 * out holds fewer. */
/* A pool's mp_stats, its tracked live count, whether it tracks, and its
 * records (malloc'd; none for a counters-only pool), all of one moment
 * (mp_tracker_from_pool). */
mp_status mp__pool_copy_stats(mp__pool *pool, mp_stats *stats, uint64_t *tracked_live, bool *tracking,
                              mp_allocation_info **recs, size_t *count);
mp_status mp__allocations_out(const char *owner, mp_allocation_info *recs, size_t count, mp_allocation_info *out,
                              size_t capacity, size_t *out_count);

#endif
