/* Stream-ordered reuse. A pool hands out blocks in the order of its stream:
 * a block freed with mp_pool_deallocate may be reused at once, since later
 * work on that stream runs after the work already queued there. A block
 * that work on another stream may still use is freed with
 * mp_pool_deallocate_on_stream: it waits here behind an event recorded on
 * that stream, still allocated in the strategy (so its chunk is never
 * trimmed), and returns to the strategy once the event has completed.
 *
 * Each stream has its own FIFO lane: events on one stream complete in
 * order, but not across streams, so a slow stream never holds back the
 * frees of a fast one. A lane exists while it has waiting blocks. The
 * allocate path looks at the oldest block of each lane (one
 * cudaEventQuery per stream with waiting frees); before the pool grows it
 * collects every completed one. */
#include "backend/cuda_rt.h"
#include "gpu/stream.h"

#include <stdlib.h>
#include <string.h>

static mp__lane *lane_for(mp__stream_queue *q, void *stream)
{
    for (size_t i = 0; i < q->nlanes; i++)
        if (q->lanes[i].stream == stream)
            return &q->lanes[i];
    bool ok;
    q->lanes = mp__grow(q->lanes, &q->lanes_cap, q->nlanes + 1, sizeof *q->lanes, &ok);
    if (!ok)
        return NULL;
    q->lanes[q->nlanes] = (mp__lane){.stream = stream};
    return &q->lanes[q->nlanes++];
}

/* Room for one more in the lane's ring. */
static bool lane_room(mp__lane *l)
{
    if (l->count < l->cap)
        return true;
    size_t ncap = l->cap ? l->cap * 2 : 16;
    mp__pending *nq = malloc(ncap * sizeof *nq);
    if (!nq)
        return false;
    for (size_t i = 0; i < l->count; i++)
        nq[i] = l->q[(l->head + i) % l->cap];
    free(l->q);
    l->q = nq;
    l->head = 0;
    l->cap = ncap;
    return true;
}

static void lane_drop(mp__stream_queue *q, size_t i)
{
    free(q->lanes[i].q);
    q->lanes[i] = q->lanes[--q->nlanes];
}

mp_status mp__stream_defer(mp__stream_queue *q, int device, void *stream, mp__chunk *chunk, uintptr_t block,
                           size_t bytes, const char *pool_name)
{
    mp__lane *l = lane_for(q, stream);
    if (!l || !lane_room(l) || !mp__ptrmap_reserve(&q->index)) {
        if (l && !l->count)
            lane_drop(q, (size_t)(l - q->lanes));
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory to queue a stream free", pool_name);
    }
    void *event = NULL;
    mp_status s = mp__cuda_event_record(device, stream, &event);
    if (s != MP_OK) {
        if (!l->count)
            lane_drop(q, (size_t)(l - q->lanes));
        return s;
    }
    l->q[(l->head + l->count++) % l->cap] = (mp__pending){block, bytes, chunk, event};
    q->count++;
    q->bytes += bytes;
    mp__ptrmap_put(&q->index, block, (void *)1);
    return MP_OK;
}

void mp__stream_poll(mp__stream_queue *q, bool all, mp__stream_release_fn release, void *ctx)
{
    for (size_t i = q->nlanes; i-- > 0;) {
        mp__lane *l = &q->lanes[i];
        /* A stream's events complete in order: when its newest has, every
         * block of the lane goes, after one query rather than one each. */
        bool whole = all && l->count > 1 && mp__cuda_event_done(l->q[(l->head + l->count - 1) % l->cap].event);
        while (l->count) {
            mp__pending *p = &l->q[l->head];
            if (!whole && !mp__cuda_event_done(p->event))
                break;
            release(ctx, p->chunk, p->block);
            mp__ptrmap_remove(&q->index, p->block);
            mp__cuda_event_drop(p->event);
            l->head = (l->head + 1) % l->cap;
            l->count--;
            q->count--;
            q->bytes -= p->bytes;
            if (!all)
                break;
        }
        if (!l->count)
            lane_drop(q, i);
    }
}

size_t mp__stream_steal(mp__stream_queue *q, int device, void *pool_stream, mp__stream_release_fn release, void *ctx)
{
    size_t n = 0;
    for (size_t i = q->nlanes; i-- > 0;) {
        mp__lane *l = &q->lanes[i];
        if (l->stream == pool_stream) /* the pool's stream changed since: its own order holds */
            ;
        else if (mp__cuda_stream_wait(device, pool_stream, l->q[(l->head + l->count - 1) % l->cap].event) != MP_OK)
            continue; /* they wait for their events, as before */
        for (; l->count; l->count--, q->count--, n++) {
            mp__pending *p = &l->q[l->head];
            release(ctx, p->chunk, p->block);
            mp__ptrmap_remove(&q->index, p->block);
            mp__cuda_event_drop(p->event);
            q->bytes -= p->bytes;
            l->head = (l->head + 1) % l->cap;
        }
        lane_drop(q, i);
    }
    return n;
}

mp_status mp__stream_fence(mp__stream_queue *q, int device, void *pool_stream, void *stream, uint64_t epoch)
{
    mp__fence *f = NULL;
    if (!q->fences && !(q->fences = calloc(MP__FENCES, sizeof *q->fences)))
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory to order a stream after the pool's");
    for (unsigned i = 0; i < MP__FENCES; i++)
        if (q->fences[i].used && q->fences[i].stream == stream) {
            if (q->fences[i].epoch == epoch)
                return MP_OK;
            f = &q->fences[i];
        }
    if (!f)
        f = &q->fences[q->next_fence++ % MP__FENCES];
    void *event = NULL;
    mp_status s = mp__cuda_event_record(device, pool_stream, &event);
    if (s == MP_OK) {
        s = mp__cuda_stream_wait(device, stream, event);
        mp__cuda_event_drop(event);
    }
    if (s == MP_OK)
        *f = (mp__fence){stream, epoch, true};
    return s;
}

void mp__stream_forget(mp__stream_queue *q)
{
    for (size_t i = 0; i < q->nlanes; i++) {
        mp__lane *l = &q->lanes[i];
        for (size_t j = 0; j < l->count; j++)
            mp__cuda_event_drop(l->q[(l->head + j) % l->cap].event);
        free(l->q);
    }
    q->nlanes = q->count = q->bytes = 0;
    mp__ptrmap_clear(&q->index);
}

void mp__stream_fini(mp__stream_queue *q)
{
    mp__stream_forget(q);
    free(q->fences);
    free(q->lanes);
    mp__ptrmap_fini(&q->index);
}
