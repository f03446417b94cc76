/* The debug seam (enable_debugging). On host-accessible memory each block
 * is laid out as [front guard][user bytes][back guard]; guards hold
 * MP__GUARD_BYTE, new user bytes MP__ALLOC_BYTE, freed ones MP__FREE_BYTE
 * (but for blocks freed on a stream, whose queued work may still read them).
 * Every debug pool also remembers its last freed blocks, so a double free
 * is reported as one, with the block's size and sequence number. */
#ifndef MEMPOOL_DEBUG_H
#define MEMPOOL_DEBUG_H

#include "strategy/strategy.h"

#define MP__GUARD_BYTE 0xFD
#define MP__ALLOC_BYTE 0xCD
#define MP__FREE_BYTE 0xDD
#define MP__BACK_GUARD 16
#define MP__FREED_HISTORY 256

typedef struct mp__freed {
    uintptr_t user;
    size_t size;
    uint64_t seq;
} mp__freed;

typedef struct mp__debug {
    bool guards;  /* the memory is host-accessible: guards and fills */
    size_t front; /* front guard bytes, a multiple of the alignment */
    mp__freed freed[MP__FREED_HISTORY];
    unsigned next;
} mp__debug;

mp__debug *mp__debug_new(bool host_accessible, size_t alignment);
static inline size_t mp__debug_overhead(const mp__debug *d) { return d->guards ? d->front + MP__BACK_GUARD : 0; }
static inline size_t mp__debug_front(const mp__debug *d) { return d->guards ? d->front : 0; }
/* Writes guards and the fresh-fill around a new block; returns the user address. */
void *mp__debug_on_alloc(mp__debug *d, uintptr_t block, size_t size);
/* A live block resized in place from old to size bytes (its first bytes
 * kept): fills the new bytes, moves the back guard, and marks what the
 * block no longer holds as freed. */
void mp__debug_on_resize(const mp__debug *d, uintptr_t block, size_t old, size_t size);
/* Checks guards of a block being freed and, with fill, fills it (not a
 * block freed on a stream: work queued there may still read it);
 * MP_ERR_CORRUPTION with the detail set when a guard was overwritten.
 * Remembers the block. */
mp_status mp__debug_on_free(mp__debug *d, const char *pool, uintptr_t block, const mp__blockinfo *info, bool fill);
/* Checks one live block's guards (for mp_pool_check). */
mp_status mp__debug_check_block(const mp__debug *d, const char *pool, uintptr_t block, const mp__blockinfo *info);
/* The history record of a freed user address, or NULL. */
const mp__freed *mp__debug_find_freed(const mp__debug *d, uintptr_t user);

#endif
