/* Size classes: the one spacing that the small-block slabs (slab.c) and
 * the thread caches (tcache.c) share, so that a cached block is exactly a
 * slab block. Steps of one unit (the pool's alignment, at least 16 bytes)
 * up to 8 units, then four classes per power of two, each a multiple of
 * the unit: a request is rounded up by less than 25% and, above 8 units,
 * by 12.5% on average (jemalloc's and mimalloc's spacing). */
#ifndef MEMPOOL_CLASSES_H
#define MEMPOOL_CLASSES_H

#include "core/core.h"

/* The size of the class after c bytes (c a multiple of unit). */
static inline size_t mp__class_next(size_t c, size_t unit)
{
    size_t step = ((size_t)1 << mp__fls(c)) / 4;
    return c + (step > unit ? step : unit);
}

/* Writes the class sizes from unit up to top (at most max of them) into
 * sizes[1..], and returns how many. */
static inline unsigned mp__classes(size_t unit, size_t top, size_t *sizes, unsigned max)
{
    unsigned k = 0;
    for (size_t c = unit; c <= top && k < max; c = mp__class_next(c, unit))
        sizes[++k] = c;
    return k;
}

/* Fills of[i] with the class serving requests of up to (i + 1) * unit
 * bytes, for i < sizes[n] / unit. */
static inline void mp__classes_index(const size_t *sizes, unsigned n, size_t unit, uint8_t *of)
{
    size_t slots = sizes[n] / unit;
    for (size_t i = 0, c = 1; i < slots; i++) {
        while (sizes[c] < (i + 1) * unit)
            c++;
        of[i] = (uint8_t)c;
    }
}

#endif
