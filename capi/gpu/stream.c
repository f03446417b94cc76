/* Stream-ordered reuse. A pool hands out blocks in the order of its stream:
 * a block freed with mp_pool_deallocate may be reused at once, since later
 * work on that stream runs after the work already queued there. A block
 * that work on another stream may still use is freed with
 * mp_pool_deallocate_on_stream: it waits here, still allocated in the
 * strategy (so its chunk is never trimmed), in its stream's lane, until
 * that stream has passed the free. Meanwhile an allocation on that same
 * stream may take it back at once (mp__stream_find): the stream's own
 * order covers it, as cudaMallocAsync's and RMM's per-stream free lists
 * do. Blocks freed next to each other on one stream join, so that lanes
 * hold long runs, and a run much larger than a request is cut.
 *
 * Each free records the stream's one event again (as RMM does): the event
 * covers every block of the lane, and it is all that is kept of the
 * stream, whose handle the caller may destroy once the call returns. Only
 * when the pool needs the memory elsewhere (before it grows, a trim,
 * statistics) does it query the events: a lane whose event has completed
 * goes back to the strategy whole. Stealing (memory is short) makes the
 * pool's stream wait for the events instead. A slow stream never holds
 * back the frees of a fast one. */
#include "backend/cuda_rt.h"
#include "gpu/stream.h"

#include <stdlib.h>
#include <string.h>

static unsigned bin_of(size_t bytes) { return 63u - (unsigned)__builtin_clzll(bytes | 1); }

/* The map's value for node i of the lane in slot k (never NULL). */
static inline void *ref_of(size_t k, uint32_t i) { return (void *)(((uintptr_t)(k + 1) << 32) | i); }
static inline size_t ref_slot(const void *r) { return (size_t)((uintptr_t)r >> 32) - 1; }
static inline uint32_t ref_node(const void *r) { return (uint32_t)(uintptr_t)r; }

static mp__lane *lane_of(const mp__stream_queue *q, void *stream)
{
    for (size_t k = 0; k < q->nlanes; k++)
        if (q->lanes[k].open && q->lanes[k].stream == stream)
            return &q->lanes[k];
    return NULL;
}

static void lanes_prune(mp__stream_queue *q);

static mp__lane *lane_for(mp__stream_queue *q, void *stream)
{
    mp__lane *l = lane_of(q, stream);
    if (l)
        return l;
    if (q->open >= MP__LANES_KEPT) /* many short-lived streams: their empty lanes go first */
        lanes_prune(q);
    size_t k = 0;
    while (k < q->nlanes && q->lanes[k].open)
        k++;
    if (k == q->nlanes) {
        bool ok;
        q->lanes = mp__grow(q->lanes, &q->lanes_cap, q->nlanes + 1, sizeof *q->lanes, &ok);
        if (!ok)
            return NULL;
        q->nlanes++;
    }
    l = &q->lanes[k];
    *l = (mp__lane){.stream = stream, .open = true, .spare = MP__NIL};
    for (unsigned b = 0; b < MP__BINS; b++)
        l->bin[b] = MP__NIL;
    q->open++;
    return l;
}

/* A spare node of l, or MP__NIL for want of host memory. */
static uint32_t node_new(mp__lane *l)
{
    if (l->spare == MP__NIL) {
        uint32_t ncap = l->cap ? l->cap * 2 : 16;
        mp__pending *nv = ncap > l->cap ? realloc(l->node, (size_t)ncap * sizeof *nv) : NULL;
        if (!nv)
            return MP__NIL;
        for (uint32_t i = l->cap; i < ncap; i++)
            nv[i].next = i + 1 < ncap ? i + 1 : MP__NIL;
        l->node = nv;
        l->spare = l->cap;
        l->cap = ncap;
    }
    uint32_t i = l->spare;
    l->spare = l->node[i].next;
    return i;
}

static void node_spare(mp__lane *l, uint32_t i)
{
    l->node[i].next = l->spare;
    l->spare = i;
}

static void bin_insert(mp__lane *l, uint32_t i)
{
    mp__pending *n = &l->node[i];
    unsigned b = bin_of(n->bytes);
    n->prev = MP__NIL;
    n->next = l->bin[b];
    if (n->next != MP__NIL)
        l->node[n->next].prev = i;
    l->bin[b] = i;
    l->used |= 1ull << b;
}

static void bin_remove(mp__lane *l, uint32_t i)
{
    mp__pending *n = &l->node[i];
    unsigned b = bin_of(n->bytes);
    if (n->prev != MP__NIL)
        l->node[n->prev].next = n->next;
    else if ((l->bin[b] = n->next) == MP__NIL)
        l->used &= ~(1ull << b);
    if (n->next != MP__NIL)
        l->node[n->next].prev = n->prev;
}

/* Queues node i (filled in) in its bin and in the map, which has room. */
static void node_link(mp__stream_queue *q, mp__lane *l, uint32_t i)
{
    mp__pending *n = &l->node[i];
    bin_insert(l, i);
    l->count++;
    q->count++;
    q->bytes += n->bytes;
    mp__ptrmap_put(&q->index, n->block, ref_of((size_t)(l - q->lanes), i));
}

/* Node i of l leaves the queue and becomes spare. */
static void node_drop(mp__stream_queue *q, mp__lane *l, uint32_t i)
{
    mp__pending *n = &l->node[i];
    bin_remove(l, i);
    mp__ptrmap_remove(&q->index, n->block);
    l->count--;
    q->count--;
    q->bytes -= n->bytes;
    node_spare(l, i);
}

/* Empty lanes stay open for their stream's next frees, up to
 * MP__LANES_KEPT; no map names a node of an empty lane. */
static void lanes_prune(mp__stream_queue *q)
{
    for (size_t k = q->nlanes; k-- > 0 && q->open > MP__LANES_KEPT;)
        if (q->lanes[k].open && !q->lanes[k].count) {
            if (q->lanes[k].event)
                mp__cuda_event_drop(q->lanes[k].event);
            free(q->lanes[k].node);
            q->lanes[k].open = false;
            q->open--;
        }
    while (q->nlanes && !q->lanes[q->nlanes - 1].open)
        q->nlanes--;
}

/* The node of l that the map entry r names, if r names one of l. */
static mp__pending *in_lane(const mp__stream_queue *q, const mp__lane *l, const void *r)
{
    return r && ref_slot(r) == (size_t)(l - q->lanes) ? &l->node[ref_node(r)] : NULL;
}

/* Queues block (live in chunk) in l, joined with neighbours waiting in l;
 * node i is spare and the map has room. */
static void lane_add(mp__stream_queue *q, mp__lane *l, uint32_t i, mp__chunk *chunk, uintptr_t block, size_t bytes,
                     const mp__stream_joins *j)
{
    uintptr_t at = j ? j->before(j->ctx, chunk, block) : 0;
    mp__pending *prev = at ? in_lane(q, l, mp__ptrmap_get(&q->index, at)) : NULL;
    if (prev && prev->block + prev->bytes == block && j->merge(j->ctx, chunk, at, block)) {
        bytes += prev->bytes;
        node_drop(q, l, (uint32_t)(prev - l->node));
        block = at;
    }
    mp__pending *next = j ? in_lane(q, l, mp__ptrmap_get(&q->index, block + bytes)) : NULL;
    if (next && next->chunk == chunk && j->merge(j->ctx, chunk, block, next->block)) {
        bytes += next->bytes;
        node_drop(q, l, (uint32_t)(next - l->node));
    }
    l->node[i] = (mp__pending){.block = block, .bytes = bytes, .chunk = chunk};
    node_link(q, l, i);
}

mp_status mp__stream_defer(mp__stream_queue *q, int device, void *stream, mp__chunk *chunk, uintptr_t block,
                           size_t bytes, const mp__stream_joins *joins, const char *pool_name)
{
    mp__lane *l = lane_for(q, stream);
    uint32_t i = l ? node_new(l) : MP__NIL;
    if (i == MP__NIL || !mp__ptrmap_reserve(&q->index)) {
        if (i != MP__NIL)
            node_spare(l, i);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory to queue a stream free", pool_name);
    }
    mp_status s = l->event ? mp__cuda_event_rerecord(device, stream, l->event)
                           : mp__cuda_event_record(device, stream, &l->event);
    if (s != MP_OK) {
        node_spare(l, i);
        return s; /* the lane's event still covers its other blocks */
    }
    lane_add(q, l, i, chunk, block, bytes, joins);
    return MP_OK;
}

static void release_all(mp__stream_queue *q, mp__lane *l, mp__stream_release_fn release, void *ctx)
{
    while (l->used) {
        uint32_t i = l->bin[__builtin_ctzll(l->used)];
        release(ctx, l->node[i].chunk, l->node[i].block);
        node_drop(q, l, i);
    }
}

void mp__stream_poll(mp__stream_queue *q, mp__stream_release_fn release, void *ctx)
{
    for (size_t k = q->nlanes; k-- > 0;) {
        mp__lane *l = &q->lanes[k];
        if (l->open && l->count && mp__cuda_event_done(l->event))
            release_all(q, l, release, ctx);
    }
    lanes_prune(q);
}

size_t mp__stream_steal(mp__stream_queue *q, int device, void *pool_stream, mp__stream_release_fn release, void *ctx)
{
    size_t n = 0;
    for (size_t k = q->nlanes; k-- > 0;) {
        mp__lane *l = &q->lanes[k];
        if (!l->open || !l->count)
            continue;
        if (l->stream != pool_stream && /* the pool's stream changed since: its own order holds */
            mp__cuda_stream_wait(device, pool_stream, l->event) != MP_OK)
            continue; /* they wait for their stream, as before */
        n += l->count;
        release_all(q, l, release, ctx);
    }
    lanes_prune(q);
    return n;
}

const mp__pending *mp__stream_find(const mp__stream_queue *q, void *stream, const void *arena, size_t need)
{
    const mp__lane *l = lane_of(q, stream);
    if (!l || !l->count || !need)
        return NULL;
    /* need's own bin b, whose blocks may be too small, then the first
     * non-empty bin above, whose blocks all fit: a few of each looked at,
     * the smallest that fits wins. */
    uint64_t bins = l->used & (~0ull << bin_of(need));
    const mp__pending *best = NULL;
    while (bins && !best) {
        unsigned k = (unsigned)__builtin_ctzll(bins);
        bins &= bins - 1;
        unsigned looked = 0;
        for (uint32_t i = l->bin[k]; i != MP__NIL && looked < 8; i = l->node[i].next, looked++) {
            const mp__pending *n = &l->node[i];
            if (n->bytes >= need && (const void *)n->chunk->arena == arena && (!best || n->bytes < best->bytes))
                best = n;
        }
    }
    return best;
}

void mp__stream_take(mp__stream_queue *q, void *stream, const mp__pending *p, size_t bytes)
{
    mp__lane *l = lane_of(q, stream);
    uint32_t i = (uint32_t)(p - l->node);
    if (bytes >= p->bytes) {
        node_drop(q, l, i);
        return;
    }
    /* The rest waits on, in the bin of its size now (mostly the same). */
    mp__pending *n = &l->node[i];
    bool rebin = bin_of(n->bytes - bytes) != bin_of(n->bytes);
    if (rebin)
        bin_remove(l, i);
    mp__ptrmap_remove(&q->index, n->block);
    n->block += bytes;
    n->bytes -= bytes;
    q->bytes -= bytes;
    mp__ptrmap_put(&q->index, n->block, ref_of((size_t)(l - q->lanes), i));
    if (rebin)
        bin_insert(l, i);
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
    /* One record on the pool's stream per epoch serves every stream's
     * fence. The queue's one event is recorded again (waits already queued
     * keep the record they were queued behind): a new event from the spare
     * list cost 740-790 ns on an H200, a record again 380-420. */
    mp_status s = MP_OK;
    if (!q->fence_event || q->fence_epoch != epoch || q->fence_stream != pool_stream) {
        s = q->fence_event ? mp__cuda_event_rerecord(device, pool_stream, q->fence_event)
                           : mp__cuda_event_record(device, pool_stream, &q->fence_event);
        if (s != MP_OK) {
            q->fence_epoch = UINT64_MAX; /* what the event holds now fences no epoch (the stream may be NULL) */
            return s;
        }
        q->fence_epoch = epoch;
        q->fence_stream = pool_stream;
    }
    if ((s = mp__cuda_stream_wait(device, stream, q->fence_event)) == MP_OK)
        *f = (mp__fence){stream, epoch, true};
    return s;
}

void mp__stream_forget(mp__stream_queue *q)
{
    for (size_t k = 0; k < q->nlanes; k++) {
        mp__lane *l = &q->lanes[k];
        if (!l->open)
            continue;
        if (l->event)
            mp__cuda_event_drop(l->event);
        free(l->node);
    }
    if (q->fence_event)
        mp__cuda_event_drop(q->fence_event);
    q->fence_event = NULL;
    q->nlanes = q->open = q->count = q->bytes = 0;
    mp__ptrmap_clear(&q->index);
}

void mp__stream_fini(mp__stream_queue *q)
{
    mp__stream_forget(q);
    free(q->fences);
    free(q->lanes);
    mp__ptrmap_fini(&q->index);
}
