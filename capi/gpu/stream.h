/* The stream seam: blocks freed on a stream other than the pool's wait,
 * each behind an event recorded on that stream, until the event has
 * completed; only then does the strategy get them back (stream.c). The
 * pool embeds one mp__stream_queue and calls these under its lock; the
 * queue knows nothing of pools. */
#ifndef MEMPOOL_STREAM_H
#define MEMPOOL_STREAM_H

#include "core/ptrmap.h"
#include "strategy/strategy.h"

typedef struct mp__pending {
    uintptr_t block;
    size_t bytes; /* the block's size, as the strategy cut it */
    mp__chunk *chunk;
    void *event;
} mp__pending;

/* The frees waiting on one stream, oldest first (a ring buffer). */
typedef struct mp__lane {
    void *stream;
    mp__pending *q;
    size_t head, count, cap;
} mp__lane;

/* A stream that was made to wait for the pool's stream, and when. */
typedef struct mp__fence {
    void *stream;
    uint64_t epoch; /* the pool's ordered-free epoch it waited at */
    bool used;
} mp__fence;

#define MP__FENCES 8

typedef struct mp__stream_queue {
    mp__fence *fences; /* MP__FENCES: the streams most recently allocated for (made on first use) */
    unsigned next_fence;
    mp__lane *lanes; /* one per stream with waiting frees */
    size_t nlanes, lanes_cap;
    size_t count;     /* waiting blocks, all lanes */
    size_t bytes;     /* their bytes */
    mp__ptrmap index; /* block -> 1, to refuse a second free of a waiting block */
} mp__stream_queue;

/* Hands a block whose event has completed back (the pool's release). */
typedef void (*mp__stream_release_fn)(void *ctx, mp__chunk *chunk, uintptr_t block);

/* Queues block (live in chunk, bytes long) behind an event recorded on
 * stream of device; the name is for the error message. */
mp_status mp__stream_defer(mp__stream_queue *q, int device, void *stream, mp__chunk *chunk, uintptr_t block,
                           size_t bytes, const char *pool_name);
/* Hands completed blocks to release: the oldest of each stream only (the
 * allocate path), or all that have completed (before growth, trim). */
void mp__stream_poll(mp__stream_queue *q, bool all, mp__stream_release_fn release, void *ctx);
/* Hands every waiting block to release now, having made pool_stream wait
 * for the events they wait behind (one cudaStreamWaitEvent per stream, on
 * its newest): blocks freed on other streams become blocks freed in the
 * pool stream's order, as cudaMallocAsync's internal dependencies do. The
 * pool does this rather than take more memory. Returns how many. */
size_t mp__stream_steal(mp__stream_queue *q, int device, void *pool_stream, mp__stream_release_fn release, void *ctx);
/* A block that may have been freed in pool_stream's order goes to work on
 * stream: stream waits for the work queued on pool_stream so far, unless
 * it has since the pool's ordered-free epoch last moved. */
mp_status mp__stream_fence(mp__stream_queue *q, int device, void *pool_stream, void *stream, uint64_t epoch);
/* Whether block waits in the queue. */
static inline bool mp__stream_waiting(const mp__stream_queue *q, uintptr_t block)
{
    return q->count && mp__ptrmap_get(&q->index, block) != NULL;
}
/* Forgets every waiting block (reset: the strategy frees them anyway). */
void mp__stream_forget(mp__stream_queue *q);
void mp__stream_fini(mp__stream_queue *q);

#endif
