/* The stream seam: blocks freed on a stream other than the pool's wait in a
 * FIFO queue, each behind an event recorded on that stream, until the event
 * has completed; only then does the strategy get them back. */
#ifndef MEMPOOL_STREAM_H
#define MEMPOOL_STREAM_H

#include "core/ptrmap.h"
#include "strategy/strategy.h"

typedef struct mp__pending {
    uintptr_t block;
    mp__chunk *chunk;
    void *event;
} mp__pending;

typedef struct mp__stream_queue {
    mp__pending *q; /* ring buffer */
    size_t head, count, cap;
    mp__ptrmap index; /* block -> 1, to refuse a second free of a waiting block */
} mp__stream_queue;

/* Queues block (live in chunk) behind an event on stream. Caller holds the lock. */
mp_status mp__stream_defer(mp__pool *pool, mp__chunk *chunk, uintptr_t block, void *stream);
/* Returns completed blocks to the strategy: the oldest only, or all that
 * have completed. Caller holds the lock. */
void mp__stream_poll(mp__pool *pool, bool all);
/* Whether block waits in the queue. */
static inline bool mp__stream_waiting(const mp__stream_queue *s, uintptr_t block)
{
    return s->count && mp__ptrmap_get(&s->index, block) != NULL;
}
/* Forgets every waiting block (reset: the strategy frees them anyway). */
void mp__stream_forget(mp__stream_queue *s);
void mp__stream_fini(mp__stream_queue *s);

#endif
