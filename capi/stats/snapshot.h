/* The memory-snapshot seam: what a pool reports of its memory at one
 * instant (a view, filled under the pool's lock by mp__pool_view_get, pool.h),
 * and the record a pool keeps of its last failed allocation. The pool
 * fills views and calls the two record functions below (oom.c) on its
 * out-of-memory path; snapshot.c turns views and records into the public
 * structs (mp_memory_snapshot, mp_chunk_info, mp_class_info) and their
 * JSON. Nothing here allocates. */
#ifndef MEMPOOL_SNAPSHOT_H
#define MEMPOOL_SNAPSHOT_H

#include "strategy/strategy.h"

/* One chunk. */
typedef struct mp__chunk_view {
    uintptr_t base;
    size_t size;   /* address space */
    size_t mapped; /* physical bytes behind it (mp__chunk.mapped) */
    size_t idle;   /* of them, behind no block, kept for reuse (on-demand chunks; core/backing.h) */
    mp_backend_kind backend;
    mp__chunk_usage usage;
} mp__chunk_view;

typedef void (*mp__chunk_fn)(void *ctx, const mp__chunk_view *chunk);

/* The pool's totals. Blocks are in exactly one place: the user's hands
 * (live_blocks), a thread cache (cached_*), a stream's queue (pending_*),
 * or free in a chunk or a small-block page (free_bytes). */
typedef struct mp__pool_view {
    mp_memory_type type;
    mp_backend_kind backend; /* the pool's own memory */
    size_t reserved, peak_reserved, max_size;
    size_t address_space;    /* the chunks' sizes, summed */
    size_t idle;             /* of reserved, behind no block (on-demand chunks; core/backing.h) */
    size_t nchunks;
    size_t free_bytes;       /* free in chunks and pages, not in caches */
    size_t largest_free;     /* the largest free block of any chunk (not in a page, not cached) */
    size_t live_blocks;
    size_t cached_blocks, cached_bytes;
    size_t pending_blocks, pending_bytes;
} mp__pool_view;

/* Bytes neither free, cached nor pending: the user's blocks, and the
 * chunk tails no block fits. */
static inline uint64_t mp__view_in_use(const mp__pool_view *v)
{
    uint64_t away = (uint64_t)v->free_bytes + v->cached_bytes + v->pending_bytes;
    return v->address_space > away ? v->address_space - away : 0;
}

#define MP__VIEW_TC_CLASSES 0x7F /* a thread cache's classes, 1..0x7E (tcache.h) */

/* The classes, as the strategies and the thread caches number them. */
typedef struct mp__class_views {
    mp__class_usage strategy[MP__CLASSES_MAX + 1]; /* summed over every arena's chunks */
    unsigned tc_n;                                   /* thread-cache classes (0: no caches) */
    size_t tc_size[MP__VIEW_TC_CLASSES];
    size_t tc_cached[MP__VIEW_TC_CLASSES];
} mp__class_views;

/* What a pool keeps of its last failed allocation: the view and the
 * largest chunks at the failure, the request, the status and its detail
 * (which the diagnostics end). */
#define MP__OOM_CHUNKS 8
#define MP__DETAIL_MAX 512 /* as mp_last_error_message's buffer (status.c) */

typedef struct mp__oom_record {
    mp__pool_view view;
    size_t request, alignment;
    mp_status status;
    size_t nlisted;                         /* chunks[0..nlisted): the largest, largest first */
    mp__chunk_view chunks[MP__OOM_CHUNKS];
    char detail[MP__DETAIL_MAX];
} mp__oom_record;

/* An mp__chunk_fn over an mp__oom_record: keeps the largest chunks. */
void mp__oom_keep_chunk(void *record, const mp__chunk_view *chunk);
/* Writes record->detail: reason (the failure's own detail, which names
 * the pool), then the request and the pool's state, as much as
 * MP__DETAIL_MAX holds. */
void mp__oom_describe(mp__oom_record *record, const char *reason);

#endif
