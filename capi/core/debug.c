/* Debug layer: guard bytes, fill patterns and a history of freed blocks.
 * See debug.h for the layout. Guards are checked when a block is freed and
 * on demand by mp_pool_check; the history turns "invalid pointer" into
 * "double free of allocation #n". */
#include "core/debug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mp__debug *mp__debug_new(bool host_accessible, size_t alignment)
{
    mp__debug *d = calloc(1, sizeof *d);
    if (d) {
        d->guards = host_accessible;
        d->front = alignment < 16 ? 16 : alignment;
    }
    return d;
}

void *mp__debug_on_alloc(mp__debug *d, uintptr_t block, size_t size)
{
    uintptr_t user = block + mp__debug_front(d);
    /* A reused address is live again: forget its old free. */
    for (unsigned i = 0; i < MP__FREED_HISTORY; i++)
        if (d->freed[i].user == user)
            d->freed[i].user = 0;
    if (!d->guards)
        return (void *)block;
    unsigned char *p = (unsigned char *)block;
    memset(p, MP__GUARD_BYTE, d->front);
    memset(p + d->front, MP__ALLOC_BYTE, size);
    memset(p + d->front + size, MP__GUARD_BYTE, MP__BACK_GUARD);
    return p + d->front;
}

void mp__debug_on_resize(const mp__debug *d, uintptr_t block, size_t old, size_t size)
{
    if (!d->guards)
        return;
    unsigned char *user = (unsigned char *)block + d->front;
    if (size > old)
        memset(user + old, MP__ALLOC_BYTE, size - old);
    memset(user + size, MP__GUARD_BYTE, MP__BACK_GUARD);
    if (size < old) /* the old back guard's tail lies past the new one */
        memset(user + size + MP__BACK_GUARD, MP__FREE_BYTE, old - size);
}

/* Offset of the first byte in [p, p+n) that is not b, or -1. */
static long first_bad(const unsigned char *p, size_t n, unsigned char b)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != b)
            return (long)i;
    return -1;
}

mp_status mp__debug_check_block(const mp__debug *d, const char *pool, uintptr_t block, const mp__blockinfo *info)
{
    if (!d->guards)
        return MP_OK;
    const unsigned char *p = (const unsigned char *)block;
    long bad = first_bad(p, d->front, MP__GUARD_BYTE);
    if (bad >= 0)
        return mp__fail(MP_ERR_CORRUPTION, "pool '%s': %zu bytes before block %p (allocation #%llu, %zu bytes) "
                        "were overwritten: an underflow", pool, d->front - (size_t)bad, (const void *)(p + d->front),
                        (unsigned long long)info->seq, info->requested);
    bad = first_bad(p + d->front + info->requested, MP__BACK_GUARD, MP__GUARD_BYTE);
    if (bad >= 0)
        return mp__fail(MP_ERR_CORRUPTION, "pool '%s': byte %zu past the end of block %p (allocation #%llu, %zu "
                        "bytes) was overwritten: an overflow", pool, (size_t)bad, (const void *)(p + d->front),
                        (unsigned long long)info->seq, info->requested);
    return MP_OK;
}

mp_status mp__debug_on_free(mp__debug *d, const char *pool, uintptr_t block, const mp__blockinfo *info, bool fill)
{
    mp_status s = mp__debug_check_block(d, pool, block, info);
    if (d->guards && fill)
        memset((unsigned char *)block + d->front, MP__FREE_BYTE, info->requested);
    d->freed[d->next] = (mp__freed){block + mp__debug_front(d), info->requested, info->seq};
    d->next = (d->next + 1) % MP__FREED_HISTORY;
    return s;
}

const mp__freed *mp__debug_find_freed(const mp__debug *d, uintptr_t user)
{
    for (unsigned i = 0; i < MP__FREED_HISTORY; i++)
        if (user && d->freed[i].user == user)
            return &d->freed[i];
    return NULL;
}
