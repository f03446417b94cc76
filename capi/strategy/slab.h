/* Small blocks from size-class pages (slab.c), inside the variable
 * strategy (tlsf.c): a page is one aligned TLSF block that holds blocks of
 * one size class. Everything about a page lives outside the managed memory,
 * in a per-chunk array of window records (one per 64 KiB of the chunk,
 * mapped with the chunk and unmapped with it), found from an address by
 * arithmetic: no hash, no per-block record. tlsf.c calls this file; this
 * file reaches TLSF only through the mp__slab_source it is given. */
#ifndef MEMPOOL_SLAB_H
#define MEMPOOL_SLAB_H

#include "strategy/strategy.h"

#define MP__SLAB_WIN_SHIFT 16 /* a window: 64 KiB; pages are whole windows, aligned */
#define MP__SLAB_WIN ((size_t)1 << MP__SLAB_WIN_SHIFT)
#define MP__SLAB_MAX_BLOCK 8192 /* the largest class: chosen by measurement (bench/RESULTS.md) */

#define MP__SLAB_RECENT 8 /* recently freed blocks a page hands out again first (LIFO) */

typedef struct mp__slab mp__slab;

/* The record of one window of a chunk. A page's first ("lead") window
 * holds its state; the other windows of a page only name the lead. The
 * live bitmap has a bit per block (4,096 blocks at most: 64 KiB of
 * 16-byte blocks), set while the block is live or held by a thread cache;
 * the bits past the last block are set. Blocks in recent[] are free (bit
 * clear): they are handed out again first, newest first, and the bitmap
 * is searched only when recent[] is empty, so no block is in both. */
typedef struct mp__slab_page {
    uint32_t lead;    /* index + 1 of the page's lead window; 0: no page in this window */
    uint32_t nblocks; /* the rest: lead windows only */
    uint32_t nlive;
    uint32_t hint; /* no bitmap word below it has a clear bit */
    uint8_t cls, nrecent;
    bool listed; /* in its class's list of pages with a free block */
    uint16_t recent[MP__SLAB_RECENT];
    mp__span geo; /* base, bytes and block size of the page; geo.chunk: its chunk */
    struct mp__slab_page *next, *prev;
    void *page_data; /* the source's handle of the page */
    void *records;   /* per-block sequence numbers and sizes, once a tracked block lands here */
    uint64_t live[MP__SLAB_WIN / 16 / 64];
} mp__slab_page;

/* Where pages come from: a free run of bytes aligned to MP__SLAB_WIN in
 * one of the attached chunks (0 when none has room; *page_data receives
 * the source's handle of it), and where they go back. */
typedef struct mp__slab_source {
    void *ctx;
    uintptr_t (*take)(void *ctx, size_t bytes, mp__chunk **chunk, void **page_data);
    void (*give)(void *ctx, mp__chunk *chunk, void *page_data);
} mp__slab_source;

/* NULL for want of memory. unit: the pool's alignment (>= 16). */
mp__slab *mp__slab_new(size_t unit, const mp__slab_source *src);
void mp__slab_free(mp__slab *s); /* after every chunk is detached */

/* Requests up to this many bytes are the slab's. */
size_t mp__slab_max(const mp__slab *s);
/* The chunk bytes a page for a request of size bytes needs. */
size_t mp__slab_page_bytes(const mp__slab *s, size_t size);

/* The window records of a chunk (chunk->small); false for want of memory. */
bool mp__slab_attach(mp__slab *s, mp__chunk *chunk);
void mp__slab_detach(mp__slab *s, mp__chunk *chunk);

/* A block of the class of size (<= mp__slab_max) whose start is a
 * multiple of align (a power of two, at most MP__SLAB_WIN), or NULL when no
 * page can be had (the pool grows and asks again, or, for an alignment no
 * class meets, the caller uses TLSF). */
void *mp__slab_alloc(mp__slab *s, size_t size, size_t align, const mp__blockinfo *info);

/* MP_ERR_INVALID_POINTER, changing nothing, unless p starts a live block. */
mp_status mp__slab_release(mp__slab *s, mp__chunk *chunk, uintptr_t p, mp__blockinfo *info);
bool mp__slab_lookup(mp__slab *s, const mp__chunk *chunk, uintptr_t p, size_t *block_size, mp__blockinfo *info);
bool mp__slab_retag(mp__slab *s, const mp__chunk *chunk, uintptr_t p, const mp__blockinfo *info);

/* Gives every empty page back to its source (before a trim). */
void mp__slab_flush(mp__slab *s);
/* Forgets every page of every chunk, the source forgets them too (reset). */
void mp__slab_reset(mp__slab *s);
/* Free bytes inside pages, live blocks, pages. */
void mp__slab_usage(const mp__slab *s, size_t *free_bytes, size_t *live_blocks, size_t *pages);
/* The blocks handed out in chunk's pages; adds each page to its class in
 * classes (indexed as the slab's classes; NULL: not wanted). O(windows of
 * the chunk). */
size_t mp__slab_chunk_usage(const mp__slab *s, const mp__chunk *chunk, mp__class_usage *classes);
void mp__slab_foreach_live(mp__slab *s, mp__live_fn fn, void *ctx);
/* MP_ERR_CORRUPTION with the detail set when an invariant is broken. */
mp_status mp__slab_check(mp__slab *s);

/* ---- inline ---- */

/* The page (its lead window's record) holding p, which lies in chunk, or
 * NULL when p is in no page. */
static inline mp__slab_page *mp__slab_page_of(const mp__chunk *chunk, uintptr_t p)
{
    mp__slab_page *w = chunk->small;
    if (!w)
        return NULL;
    uint32_t lead = w[(p >> MP__SLAB_WIN_SHIFT) - (chunk->span.base >> MP__SLAB_WIN_SHIFT)].lead;
    return lead ? &w[lead - 1] : NULL;
}

#endif
