/* The stats seam: counters kept on the fast path, under the pool's lock,
 * for allocations made while tracking is on. */
#ifndef MEMPOOL_STATS_H
#define MEMPOOL_STATS_H

#include "core/core.h"

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

#endif
