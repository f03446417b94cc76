/* Stream-ordered reuse. A pool hands out blocks in the order of its stream:
 * a block freed with mp_pool_deallocate may be reused at once, since later
 * work on that stream runs after the work already queued there. A block
 * that work on another stream may still use is freed with
 * mp_pool_deallocate_on_stream: it waits here behind an event recorded on
 * that stream, still allocated in the strategy (so its chunk is never
 * trimmed), and returns to the strategy once the event has completed.
 *
 * The allocate path looks at the oldest waiting block only (one
 * cudaEventQuery); before the pool grows it collects every completed one.
 * The queue is FIFO: events on one stream complete in order. */
#include "backend/cuda_rt.h"
#include "core/pool.h"

#include <stdlib.h>

mp_status mp__stream_defer(mp__pool *pool, mp__chunk *chunk, uintptr_t block, void *stream)
{
    mp__stream_queue *s = &pool->pending;
    if (s->count == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        mp__pending *nq = malloc(ncap * sizeof *nq);
        if (!nq)
            return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory to queue a stream free", pool->name);
        for (size_t i = 0; i < s->count; i++)
            nq[i] = s->q[(s->head + i) % s->cap];
        free(s->q);
        s->q = nq;
        s->head = 0;
        s->cap = ncap;
    }
    if (!mp__ptrmap_reserve(&s->index))
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory to queue a stream free", pool->name);
    void *event = NULL;
    mp_status st = mp__cuda_event_record(pool->device, stream, &event);
    if (st != MP_OK)
        return st;
    s->q[(s->head + s->count++) % s->cap] = (mp__pending){block, chunk, event};
    mp__ptrmap_put(&s->index, block, (void *)1);
    return MP_OK;
}

void mp__stream_poll(mp__pool *pool, bool all)
{
    mp__stream_queue *s = &pool->pending;
    while (s->count) {
        mp__pending *p = &s->q[s->head];
        if (!mp__cuda_event_done(p->event))
            return;
        mp__blockinfo info;
        pool->strategy->release(p->chunk->arena->st, p->chunk, p->block, &info);
        mp__ptrmap_remove(&s->index, p->block);
        mp__cuda_event_drop(p->event);
        s->head = (s->head + 1) % s->cap;
        s->count--;
        if (!all)
            return;
    }
}

void mp__stream_forget(mp__stream_queue *s)
{
    for (size_t i = 0; i < s->count; i++)
        mp__cuda_event_drop(s->q[(s->head + i) % s->cap].event);
    s->head = s->count = 0;
    mp__ptrmap_clear(&s->index);
}

void mp__stream_fini(mp__stream_queue *s)
{
    mp__stream_forget(s);
    free(s->q);
    mp__ptrmap_fini(&s->index);
}
