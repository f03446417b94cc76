/* The stream seam: blocks freed on a stream other than the pool's wait in
 * that stream's lane, behind the stream's event, until it has completed;
 * only then does the strategy get them back, while the stream's own
 * allocations may take them at once (stream.c). The pool embeds one
 * mp__stream_queue and calls these under its lock; the queue knows nothing
 * of pools (how blocks join is the pool's mp__stream_joins). */
#ifndef MEMPOOL_STREAM_H
#define MEMPOOL_STREAM_H

#include "core/ptrmap.h"
#include "strategy/strategy.h"

#define MP__NIL UINT32_MAX
#define MP__BINS 64 /* size bins of a lane: floor(log2(bytes)) */

/* A block freed on a stream, waiting there (a node of its lane). */
typedef struct mp__pending {
    uintptr_t block;
    size_t bytes; /* the block's size, as the strategy cut it */
    mp__chunk *chunk;
    uint32_t next, prev; /* its size bin (a spare node: the next spare) */
} mp__pending;

/* The frees waiting on one stream, by size (a later allocation on the same
 * stream may take one with no event), all behind the stream's event. Nodes
 * are indices into node[], so that growing it moves nothing a caller holds
 * across calls. A lane keeps its slot in the queue while open: the map
 * names nodes by slot. */
typedef struct mp__lane {
    void *stream;
    bool open;
    void *event;         /* recorded on the stream at each free there (RMM's one event a stream), or NULL */
    mp__pending *node;
    uint32_t cap, spare; /* spare: the first unused node, or MP__NIL */
    size_t count;
    uint64_t used;       /* bit b: bin[b] holds a node */
    uint32_t bin[MP__BINS];
} mp__lane;

/* A stream that was made to wait for the pool's stream, and when. */
typedef struct mp__fence {
    void *stream;
    uint64_t epoch; /* the pool's ordered-free epoch it waited at */
    bool used;
} mp__fence;

#define MP__FENCES 8
#define MP__LANES_KEPT 8

typedef struct mp__stream_queue {
    mp__fence *fences; /* MP__FENCES: the streams most recently allocated for (made on first use) */
    unsigned next_fence;
    void *fence_event;   /* recorded on fence_stream (the pool's) at ordered-free epoch fence_epoch */
    uint64_t fence_epoch;
    void *fence_stream;
    mp__lane *lanes; /* slots, one per stream freed on (empty ones kept, up to MP__LANES_KEPT) */
    size_t nlanes, lanes_cap; /* slots in use or closed; room */
    size_t open;      /* open lanes */
    size_t count;     /* waiting blocks, all lanes */
    size_t bytes;     /* their bytes */
    mp__ptrmap index; /* block start -> its node (lane slot, node): a second free is refused */
} mp__stream_queue;

/* Hands a block whose event has completed back (the pool's release). */
typedef void (*mp__stream_release_fn)(void *ctx, mp__chunk *chunk, uintptr_t block);
/* How blocks freed next to each other on one stream join (the pool's
 * strategy): merge joins the live block next, which follows the live block
 * p in chunk, to p (false where it cannot); before says where the block
 * that ends at p starts (0: none). */
typedef struct mp__stream_joins {
    bool (*merge)(void *ctx, mp__chunk *chunk, uintptr_t p, uintptr_t next);
    uintptr_t (*before)(void *ctx, mp__chunk *chunk, uintptr_t p);
    void *ctx;
} mp__stream_joins;

/* Queues block (live in chunk, bytes long), freed behind the work queued
 * on stream so far: the stream's event is recorded again there (one
 * cudaEventRecord; a stream's handle is not touched after the call, since
 * the caller may destroy the stream). A block waiting on the same stream
 * right before or after it joins it (joins, where not NULL), so that the
 * stream's own allocations find long runs. The name is for the error
 * message. */
mp_status mp__stream_defer(mp__stream_queue *q, int device, void *stream, mp__chunk *chunk, uintptr_t block,
                           size_t bytes, const mp__stream_joins *joins, const char *pool_name);
/* Hands every block of each stream whose event has completed (the stream
 * has passed all its frees) to release: one cudaEventQuery a stream with
 * waiting blocks. Before growth, trim and statistics: the allocate path
 * itself makes no CUDA call. */
void mp__stream_poll(mp__stream_queue *q, mp__stream_release_fn release, void *ctx);
/* Hands every waiting block to release now, having made pool_stream wait
 * for each stream's event (one cudaStreamWaitEvent a stream): blocks freed
 * on other streams become blocks freed in the pool stream's order, as
 * cudaMallocAsync's internal dependencies do. The pool does this rather
 * than take more memory. Returns how many. */
size_t mp__stream_steal(mp__stream_queue *q, int device, void *pool_stream, mp__stream_release_fn release, void *ctx);
/* A block waiting on stream itself that an allocation of need bytes on
 * stream may take at once, with no event: work queued on stream from now
 * on runs after the work that the block was freed behind (cudaMallocAsync's
 * stream-ordered reuse). Only a block of arena, of at least need bytes,
 * the smallest of the few looked at; NULL when there is none. The block
 * stays queued until mp__stream_take. */
const mp__pending *mp__stream_find(const mp__stream_queue *q, void *stream, const void *arena, size_t need);
/* Takes the block that mp__stream_find just found out of the queue: all of
 * it, or (bytes less, the strategy having cut it there) its first bytes,
 * the rest waiting on in its place. */
void mp__stream_take(mp__stream_queue *q, void *stream, const mp__pending *p, size_t bytes);
/* A block that may have been freed in pool_stream's order goes to work on
 * stream: stream waits for the work queued on pool_stream so far, unless
 * it has since the pool's ordered-free epoch last moved. */
mp_status mp__stream_fence(mp__stream_queue *q, int device, void *pool_stream, void *stream, uint64_t epoch);
/* Whether block waits in the queue. */
static inline bool mp__stream_waiting(const mp__stream_queue *q, uintptr_t block)
{
    return q->count && mp__ptrmap_get(&q->index, block) != NULL;
}
/* Forgets every waiting block (reset: the strategy frees them anyway) and
 * the events it kept (a move to another device). */
void mp__stream_forget(mp__stream_queue *q);
void mp__stream_fini(mp__stream_queue *q);

#endif
