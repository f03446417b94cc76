/* Physical backing of on-demand chunks (backing.h). */
#include "core/backing.h"

#include <stdlib.h>

mp__backed *mp__backed_new(size_t size, size_t granule)
{
    if (!granule || (granule & (granule - 1)))
        return NULL; /* (on_demand() asks for a power of two) */
    mp__backed *b = calloc(1, sizeof *b);
    size_t n = size / granule;
    if (b && (b->use = calloc(n, sizeof *b->use)) && (b->since = calloc(n, sizeof *b->since))) {
        b->granule = granule;
        b->shift = (unsigned)__builtin_ctzll(granule);
        b->n = n;
        return b;
    }
    mp__backed_free(b);
    return NULL;
}

void mp__backed_free(mp__backed *b)
{
    if (!b)
        return;
    free(b->use);
    free(b->since);
    free(b);
}

/* The granules [*first, *last] that [block, block + size) of c lies on. */
static void span_of(const mp__chunk *c, uintptr_t block, size_t size, size_t *first, size_t *last)
{
    size_t off = block - c->span.base;
    *first = off >> c->backed->shift;
    *last = (off + size - 1) >> c->backed->shift;
}

size_t mp__backing_unbacked(const mp__chunk *c, uintptr_t block, size_t size)
{
    size_t first, last, n = 0;
    span_of(c, block, size, &first, &last);
    for (size_t i = first; i <= last; i++)
        n += !(c->backed->use[i] & MP__BACKED_MAPPED);
    return n * c->backed->granule;
}

/* Epochs wrap: a went idle before b. */
static inline bool older(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

#define FRESH 0x40000000u /* in use[] during an acquire: mapped by it */

/* Gives back the granules in [first, last] this acquire mapped. */
static void unmap_fresh(const mp__backend *be, mp__chunk *c, int device, size_t first, size_t last)
{
    mp__backed *b = c->backed;
    for (size_t i = first; i <= last; i++) {
        size_t run = c->extent.runs[i];
        if (b->use[i] != (MP__BACKED_MAPPED | FRESH) || !run)
            continue;
        be->unmap(device, &c->extent, i, run); /* mapped by this acquire: a whole allocation */
        for (size_t k = i; k < i + run; k++)
            b->use[k] = 0;
        if (i < b->lo)
            b->lo = i;
        i += run - 1;
    }
}

/* Granule i has one more block on it. */
static inline void count_in(mp__backing *bk, mp__backed *b, size_t i)
{
    if (b->use[i] & FRESH)
        b->use[i] = MP__BACKED_MAPPED | 1;
    else if (b->use[i]++ == MP__BACKED_MAPPED)
        bk->idle -= b->granule;
}

/* Granule i has one block less on it. */
static inline void count_out(mp__backing *bk, mp__backed *b, size_t i)
{
    if (--b->use[i] == MP__BACKED_MAPPED) {
        b->since[i] = bk->epoch;
        bk->idle += b->granule;
    }
}

bool mp__backing_count_mapped(mp__backing *bk, mp__chunk *c, uintptr_t block, size_t size)
{
    mp__backed *b = c->backed;
    size_t first, last;
    span_of(c, block, size, &first, &last);
    uint32_t all = MP__BACKED_MAPPED;
    for (size_t i = first < b->lo ? b->lo : first; i <= last; i++)
        all &= b->use[i];
    if (!all)
        return false;
    /* The granules strictly inside the block held no block (they lay in
     * free space): idle until now. Only the two ends may be shared. */
    if (b->use[first]++ == MP__BACKED_MAPPED)
        bk->idle -= b->granule;
    if (last != first && b->use[last]++ == MP__BACKED_MAPPED)
        bk->idle -= b->granule;
    for (size_t i = first + 1; i < last; i++)
        b->use[i] = MP__BACKED_MAPPED | 1;
    if (last > first + 1)
        bk->idle -= (last - first - 1) * b->granule;
    return true;
}

mp_status mp__backing_acquire(mp__backing *bk, const mp__backend *be, mp__chunk *c, int device, uintptr_t block,
                              size_t size, size_t *mapped)
{
    mp__backed *b = c->backed;
    size_t first, last, fresh = 0;
    span_of(c, block, size, &first, &last);
    *mapped = 0;
    /* First the memory, a granule a call (the backend maps each alone
     * anyway): a failure then knows what it had mapped meanwhile. Mostly
     * it is all there already: one branch-free pass says so. */
    uint32_t all = MP__BACKED_MAPPED;
    for (size_t i = first; i <= last; i++)
        all &= b->use[i];
    for (size_t i = first; !all && i <= last; i++) {
        if (b->use[i] & MP__BACKED_MAPPED)
            continue;
        size_t j = i; /* a run of missing granules: one allocation, of MP__BACKED_RUN at most */
        while (j < last && j + 1 - i < MP__BACKED_RUN && !(b->use[j + 1] & MP__BACKED_MAPPED))
            j++;
        mp_status s = be->map(device, &c->extent, i, j - i + 1);
        if (s != MP_OK) {
            if (fresh)
                unmap_fresh(be, c, device, first, i - 1);
            *mapped = fresh * b->granule;
            return s;
        }
        for (size_t k = i; k <= j; k++)
            b->use[k] = MP__BACKED_MAPPED | FRESH;
        fresh += j - i + 1;
        i = j;
    }
    /* Then the count: an idle granule is idle no more. The granules
     * strictly inside the block are its alone (blocks do not overlap), so
     * each held no block and is set, not counted; only the two at its ends
     * may be shared. */
    count_in(bk, b, first);
    if (last != first)
        count_in(bk, b, last);
    if (last > first + 1) {
        size_t idle = last - first - 1;
        if (fresh)
            for (size_t i = first + 1; i < last; i++)
                idle -= (b->use[i] & FRESH) != 0;
        for (size_t i = first + 1; i < last; i++)
            b->use[i] = MP__BACKED_MAPPED | 1;
        bk->idle -= idle * b->granule;
    }
    *mapped = fresh * b->granule;
    bk->maps += fresh;
    c->mapped += *mapped;
    while (fresh && b->lo < b->n && (b->use[b->lo] & MP__BACKED_MAPPED))
        b->lo++;
    return MP_OK;
}

void mp__backing_release(mp__backing *bk, mp__chunk *c, uintptr_t block, size_t size)
{
    mp__backed *b = c->backed;
    size_t first, last;
    span_of(c, block, size, &first, &last);
    count_out(bk, b, first);
    if (last != first)
        count_out(bk, b, last);
    if (last > first + 1) { /* the block's own granules (acquire): all idle now */
        for (size_t i = first + 1; i < last; i++) {
            b->use[i] = MP__BACKED_MAPPED;
            b->since[i] = bk->epoch;
        }
        bk->idle += (last - first - 1) * b->granule;
    }
}

void mp__backing_split(mp__backing *bk, mp__chunk *c, uintptr_t at)
{
    size_t off = at - c->span.base;
    if (off & (c->backed->granule - 1)) /* else each half's end granule was the block's own */
        count_in(bk, c->backed, off >> c->backed->shift);
}

void mp__backing_merge(mp__backing *bk, mp__chunk *c, uintptr_t at)
{
    size_t off = at - c->span.base;
    if (off & (c->backed->granule - 1)) /* both lay on it; the joined block still does */
        count_out(bk, c->backed, off >> c->backed->shift);
}

void mp__backing_forget(mp__backing *bk, mp__chunk *c)
{
    mp__backed *b = c->backed;
    for (size_t i = 0; i < b->n; i++)
        if (b->use[i] > MP__BACKED_MAPPED) {
            b->use[i] = MP__BACKED_MAPPED;
            b->since[i] = bk->epoch;
            bk->idle += b->granule;
        }
}

/* Whether every granule of the allocation at head may go: idle, and
 * (unless all) idle since before the boundary `before`. */
static bool run_idle(const mp__backed *b, size_t head, size_t run, bool all, uint32_t before)
{
    for (size_t k = head; k < head + run; k++)
        if (b->use[k] != MP__BACKED_MAPPED || (!all && !older(b->since[k], before)))
            return false;
    return true;
}

size_t mp__backing_unmap_idle(mp__backing *bk, const mp__backend *be, mp__chunk *c, int device, bool all,
                              uint32_t before, size_t keep)
{
    mp__backed *b = c->backed;
    const uint32_t *runs = c->extent.runs;
    size_t freed = 0;
    /* From the top, whole allocations only: one that a live block still
     * touches stays, idle granules and all. */
    for (size_t i = b->n; i-- > 0 && bk->idle > keep;) {
        if (!runs[i] || !run_idle(b, i, runs[i], all, before))
            continue;
        size_t run = runs[i], bytes = run * b->granule;
        be->unmap(device, &c->extent, i, run);
        for (size_t k = i; k < i + run; k++)
            b->use[k] = 0;
        if (i < b->lo)
            b->lo = i;
        bk->idle -= bytes;
        bk->unmaps += run;
        freed += bytes;
    }
    c->mapped -= freed;
    return freed;
}

size_t mp__backing_idle_of(const mp__chunk *c)
{
    const mp__backed *b = c->backed;
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += b->use[i] == MP__BACKED_MAPPED;
    return n * b->granule;
}

bool mp__backed_check(const mp__chunk *c, size_t *idle)
{
    const mp__backed *b = c->backed;
    size_t mapped = 0;
    for (size_t i = 0, covered = 0; i < b->n; i++) { /* every mapped granule in exactly one allocation */
        if (c->extent.runs[i]) {
            if (covered || i + c->extent.runs[i] > b->n)
                return false;
            covered = c->extent.runs[i];
        }
        if (!!covered != !!(b->use[i] & MP__BACKED_MAPPED))
            return false;
        covered -= covered != 0;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->use[i] & ~(MP__BACKED_MAPPED | 0x3FFFFFFFu))
            return false; /* a stray FRESH bit */
        if (b->use[i] & MP__BACKED_MAPPED)
            mapped++;
        else if (b->use[i] || i < b->lo)
            return false; /* blocks on memory that is not there, or lo wrong */
        if (b->use[i] == MP__BACKED_MAPPED)
            *idle += b->granule;
    }
    return mapped * b->granule == c->mapped;
}
