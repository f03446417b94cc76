/* The pool: one strategy carving chunks from one backend per arena, behind
 * one lock, with the lock-free front, stats and the debug layer around the
 * fast path. This file alone defines and touches struct mp__pool; the rest
 * of the library reaches a pool through pool.h.
 *
 * Arenas. Arena 0 holds the pool's own memory; pinned and managed
 * allocations (mp_pool_allocate_flags) go to side arenas opened on first
 * use. Each arena has its own strategy and backend, and arena_for is the
 * one place that maps a request to an arena: a pool that serves small and
 * large sizes from two strategies (a size split) is an arena table and a
 * line there.
 *
 * The chunk table (every arena's chunks as spans sorted by address,
 * strategy.h) answers "which chunk holds this pointer" in O(log chunks);
 * growth is geometric, so the table stays short. Every entry point
 * validates all of its input before it changes anything: a rejected call
 * leaves the pool as it was.
 *
 * A chunk's state map (one byte per grain, strategy.h) belongs to the pool:
 * the strategy reads and writes it, and the lock-free layer reads it with no
 * lock, so a dropped chunk's map goes to the lock-free layer to be freed
 * once no thread cache can still be reading it.
 *
 * Calls go one way: this file calls the strategies, backends, the
 * lock-free layer, the stream queue, the hooks, the debug layer and the
 * owner table; they call back only through the function tables the pool
 * hands them (mp__lf_source, mp__stream_release_fn). */
#include "backend/cuda_rt.h"
#include "core/backing.h"
#include "core/debug.h"
#include "core/fork.h"
#include "core/instrument.h"
#include "core/owners.h"
#include "core/pool.h"
#include "core/sync.h"
#include "gpu/stream.h"
#include "lockfree/tcache.h"
#include "policy/hooks.h"
#include "strategy/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MP__ARENAS 3 /* the pool's own memory, then pinned and managed side arenas */

typedef struct mp__arena {
    const mp__backend *backend;
    const mp__strategy *strategy;
    void *state;       /* the strategy's state; NULL until the arena is first used */
    size_t last_chunk; /* size of the newest chunk, the base of growth */
    size_t nchunks;
    bool on_demand;    /* chunks are address space, backed granule by granule (core/backing.h) */
} mp__arena;

struct mp__pool {
    /* What every call reads comes first, in three cache lines. */
    mp__slot slot;       /* first: the handle's slot head */
    mp_pool *handle;     /* what callers and hooks hold */
    mp__lf *lf;          /* the lock-free front (tcache.h); NULL: every call takes the lock */
    mp__lf *threads;     /* lf, when each thread has its cache there; else NULL */
    mp__tcache *solo;    /* a pool of one thread at a time: lf's one cache, every thread's (mp__lf_solo) */
    mp__lock lock;
    mp__debug *debug;    /* NULL unless enable_debugging */
    mp__span *chunks;    /* every arena's chunks, sorted by base */
    size_t nchunks;
    uint8_t arena_of_flag[MP__ARENAS]; /* mp_alloc_flags -> arena index */
    bool one_size;       /* the strategy serves cfg.block_size only */
    bool tracking;       /* records: each block allocated meanwhile is counted, and listed */
    bool counting;       /* counters only (cfg.counters_only): every block is counted, none listed */
    bool numbered;       /* blocks get a sequence number (records, debugging) */
    bool tools;          /* ASan or Valgrind watch (instrument.h), as they did when the pool was made */
    size_t plain_max;    /* allocate_plain serves 1..plain_max bytes (0: no request) */
    size_t count_max;    /* counters-only variable pools ask for the class size up to this (counted()) */
    uint64_t next_seq;
    uint64_t ordered; /* blocks freed in the pool stream's order, ever: allocations for other streams fence on it */
    mp__stream_queue pending; /* blocks freed on other streams (stream.c) */
    mp__arena arena[MP__ARENAS];
    /* The rest: slow paths and queries. */
    mp__tcache *bypass;  /* the thread cache handed out when there is no cache to give */
    size_t chunks_cap;
    size_t reserved;      /* bytes of physical memory held from the backends: only reserved_add/_sub change it */
    size_t peak_reserved; /* the highest reserved since creation or mp_pool_reset_stats */
    mp__strategy_params params;
    mp_config cfg; /* normalised */
    mp_memory_type type;
    uint64_t resets; /* mp_pool_reset calls: a reallocate that let go of the lock checks it */
    bool registry_owned;
    bool fork_locked; /* its locks were taken by the fork handlers (pools_prepare) */
    mp__counters counters;
    mp__counters cached_adj; /* counters-only with caches: what resets add to the caches' tally (stats.h) */
    mp__gauge gauge;         /* counters-only with caches: the peak (stats.h) */
    mp__hookset hooks; /* slow-path hooks (hooks.c) */
    mp__backing backing; /* on-demand arenas' granules (core/backing.h) */
    mp_status map_failed; /* why the last take() found no memory to back its block (MP_OK: it did) */
    mp__oom_record *oom; /* the last failed allocation (snapshot.h); made at the first */
    bool oom_lost;       /* one failed since, and no host memory could be had to record it */
    int device;
    void *stream;
    char name[MP_NAME_MAX + 1];
};

_Static_assert(sizeof(mp__pool) <= MP__SLOT_SIZE, "a pool fits its handle slot");
_Static_assert(offsetof(mp__pool, slot) == 0, "the slot head comes first");

/* ---- tools (instrument.h) ---------------------------------------------- */

/* Whether the tools are told about this arena's blocks. */
static inline bool tooled(const mp__pool *pool, const mp__arena *a)
{
    return pool->tools && !pool->debug && a->backend->host_accessible;
}

static void forget_block(void *ctx, uintptr_t block, size_t block_size, const mp__blockinfo *info)
{
    (void)ctx;
    (void)info;
    mp__tool_free((void *)block, block_size);
}

/* Every live block of the tooled arenas is about to vanish at once. */
static void tools_forget_live(mp__pool *pool)
{
    if (!mp__tool_valgrind())
        return; /* ASan needs no walk: the chunks are poisoned whole */
    for (int i = 0; i < MP__ARENAS; i++)
        if (pool->arena[i].state && tooled(pool, &pool->arena[i]))
            pool->arena[i].strategy->foreach_live(pool->arena[i].state, forget_block, NULL);
}

/* ---- chunk table ------------------------------------------------------ */

/* The chunk holding address a, or NULL. Caller holds the lock. */
static inline __attribute__((always_inline)) mp__chunk *find_chunk(const mp__pool *pool, uintptr_t a)
{
    const mp__span *s = mp__span_find(pool->chunks, pool->nchunks, a);
    return s ? s->chunk : NULL;
}

/* Room for one more span. The table is cache-line aligned, one span a
 * line, and starts at 16 spans (1 KiB): a small table that malloc placed
 * among the strategy's hot records cost the locked free path 10% in
 * cpu_bench (bench/RESULTS.md, 2026-11-28). */
static bool table_room(mp__pool *pool)
{
    if (pool->nchunks < pool->chunks_cap)
        return true;
    size_t cap = pool->chunks_cap ? 2 * pool->chunks_cap : 16;
    mp__span *t = aligned_alloc(64, cap * sizeof *t);
    if (!t)
        return false;
    if (pool->nchunks)
        memcpy(t, pool->chunks, pool->nchunks * sizeof *t);
    free(pool->chunks);
    pool->chunks = t;
    pool->chunks_cap = cap;
    return true;
}

static bool table_insert(mp__pool *pool, mp__chunk *c)
{
    if (!table_room(pool))
        return false;
    size_t i = pool->nchunks;
    while (i > 0 && pool->chunks[i - 1].base > c->span.base) {
        pool->chunks[i] = pool->chunks[i - 1];
        i--;
    }
    MP__ASSERT(i == 0 || pool->chunks[i - 1].base + pool->chunks[i - 1].size <= c->span.base); /* sorted, disjoint */
    pool->chunks[i] = c->span;
    pool->nchunks++;
    return true;
}

static void table_remove(mp__pool *pool, const mp__chunk *c)
{
    for (size_t i = 0; i < pool->nchunks; i++) {
        if (pool->chunks[i].chunk == c) {
            memmove(&pool->chunks[i], &pool->chunks[i + 1], (pool->nchunks - i - 1) * sizeof *pool->chunks);
            pool->nchunks--;
            return;
        }
    }
}

/* The caches search a copy of the table. Caller holds the lock. */
static void publish(mp__pool *pool)
{
    if (pool->lf)
        mp__lf_publish(pool->lf, pool->chunks, pool->nchunks);
}

/* ---- growth ----------------------------------------------------------- */

/* Every change of pool->reserved goes through these two, so that the peak
 * follows every way memory comes in: a new chunk, or physical memory mapped
 * into one on demand. Caller holds the lock. */
static void reserved_add(mp__pool *pool, size_t n)
{
    pool->reserved += n;
    if (pool->reserved > pool->peak_reserved)
        pool->peak_reserved = pool->reserved;
}

/* Memory held for a moment beyond reserved (an on-demand mapping that
 * failed part way and gave back what it had mapped): the device's peak
 * saw it, so the pool's does too. Caller holds the lock. */
static void peak_with(mp__pool *pool, size_t transient)
{
    if (pool->reserved + transient > pool->peak_reserved)
        pool->peak_reserved = pool->reserved + transient;
}

static void reserved_sub(mp__pool *pool, size_t n)
{
    MP__ASSERT(n <= pool->reserved);
    pool->reserved -= n;
}

/* The address space an on-demand arena reserves at once: as much as the
 * device has (max_size, where the pool has one), at least need. Address
 * space costs nothing until it is mapped, and one span lets freed blocks
 * coalesce where separate chunks would have kept them apart. */
static size_t space_for(const mp__pool *pool, size_t need)
{
    size_t space = pool->cfg.max_size ? pool->cfg.max_size : mp__cuda_device_memory(pool->device);
    return space > need ? space : need;
}

static size_t chunk_alignment(const mp__pool *pool, const mp__arena *a)
{
    size_t al = pool->cfg.alignment < MP_DEFAULT_GPU_ALIGNMENT ? MP_DEFAULT_GPU_ALIGNMENT : pool->cfg.alignment;
    size_t want = pool->params.small ? a->strategy->chunk_align : 0;
    return want > al ? want : al;
}

/* A chunk record with its state map (when the pool keeps them), or NULL. */
static mp__chunk *chunk_new(const mp__pool *pool, mp__arena *a, const mp__extent *ext, size_t size)
{
    mp__chunk *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    size_t grain = a->strategy->grain(&pool->params);
    c->span = mp__span_make(mp__addr(ext->base), size, grain);
    c->span.chunk = c;
    c->span.arena = a;
    c->span.front = a == &pool->arena[0];
    c->extent = *ext;
    c->arena = a;
    c->mapped = ext->granule ? 0 : size;
    if (ext->granule && !(c->backed = mp__backed_new(size, ext->granule))) {
        free(c);
        return NULL;
    }
    if (pool->params.state_map && !(c->span.smap = mp__smap_new(size / grain + 1))) {
        free(c);
        return NULL;
    }
    return c;
}

static void chunk_free(mp__chunk *c)
{
    mp__backed_free(c->backed);
    mp__smap_free(c->span.smap);
    free(c);
}

static mp_status add_chunk(mp__pool *pool, mp__arena *a, size_t size)
{
    mp__extent ext = {0};
    mp_status s = a->on_demand ? a->backend->reserve_space(pool->device, size, chunk_alignment(pool, a), &ext)
                               : a->backend->reserve(pool->device, size, chunk_alignment(pool, a), &ext);
    size = ext.granule && s == MP_OK ? ext.size : size;
    if (s != MP_OK) { /* the backend's detail, said of this pool */
        return mp__fail_cause(s, "pool '%s'", pool->name);
    }
    mp__chunk *c = chunk_new(pool, a, &ext, size);
    if (!c || !table_insert(pool, c)) { /* the table is sorted by base: set it first */
        if (c)
            chunk_free(c);
        a->backend->release(pool->device, &ext);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory for a chunk record", pool->name);
    }
    s = mp__owners_add(pool->handle, pool->name, c->span.base, size);
    if (s == MP_OK && (s = a->strategy->attach(a->state, c)) != MP_OK)
        mp__owners_remove(c->span.base);
    if (s != MP_OK) {
        table_remove(pool, c);
        a->backend->release(pool->device, &ext);
        chunk_free(c);
        return s;
    }
    reserved_add(pool, c->mapped);
    a->last_chunk = size;
    a->nchunks++;
    if (tooled(pool, a))
        mp__tool_chunk_added(ext.base, size);
    publish(pool);
    return MP_OK;
}

static void drop_chunk(mp__pool *pool, mp__chunk *c)
{
    mp__arena *a = c->arena;
    a->strategy->detach(a->state, c);
    table_remove(pool, c);
    mp__owners_remove(c->span.base);
    if (pool->lf) {
        /* Thread caches read state maps with no lock: the new table keeps
         * them off this chunk, and the lock-free layer frees its map once
         * none can still be reading it. */
        mp__lf_retire_map(pool->lf, c->span.smap);
        c->span.smap = NULL;
        publish(pool);
    }
    if (tooled(pool, a))
        mp__tool_chunk_removed(c->extent.base, c->span.size);
    if (c->backed) /* its idle granules go with it (the caller has waited for the stream) */
        pool->backing.idle -= mp__backing_idle_of(c);
    a->backend->release(pool->device, &c->extent);
    reserved_sub(pool, c->mapped);
    a->nchunks--;
    chunk_free(c);
    /* Growth goes on from the largest chunk that stays, not from one that
     * trim gave back: grow/trim cycles would double it each time. */
    a->last_chunk = 0;
    for (size_t i = 0; i < pool->nchunks; i++)
        if (pool->chunks[i].chunk->arena == a && pool->chunks[i].size > a->last_chunk)
            a->last_chunk = pool->chunks[i].size;
}

static size_t mul_sat(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

/* Adds a chunk able to serve `need` bytes: `want` bytes (0: the previous
 * chunk times growth_factor, initial_size first), clipped to max_size; if
 * the backend cannot supply that much, exactly `need`. */
static mp_status grow(mp__pool *pool, mp__arena *a, size_t need, size_t want)
{
    if (a->on_demand) /* address space: one span as large as the device, memory mapped as blocks need it */
        return add_chunk(pool, a, space_for(pool, need));
    /* A pool with small-block pages that starts empty (initial_size 0)
     * grows from a few pages' worth, not from its first request. */
    if (!want && a->last_chunk)
        want = mul_sat(a->last_chunk, pool->cfg.growth_factor);
    else if (!want)
        want = pool->cfg.initial_size ? pool->cfg.initial_size : pool->params.small ? 4 * a->strategy->chunk_align : 0;
    if (want < need)
        want = need;
    if (want > 2 * MP__MAX_REQUEST)
        want = 2 * MP__MAX_REQUEST;
    if (pool->cfg.max_size) {
        size_t room = pool->cfg.max_size > pool->reserved ? pool->cfg.max_size - pool->reserved : 0;
        if (need > room)
            return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': a %zu-byte chunk would pass max_size %zu (%zu reserved)",
                            pool->name, need, pool->cfg.max_size, pool->reserved);
        if (want > room)
            want = room;
    }
    mp_status s = add_chunk(pool, a, want);
    if (s == MP_ERR_OUT_OF_MEMORY && want > need)
        s = add_chunk(pool, a, need);
    return s;
}

/* Blocks freed on other streams (stream.c). */
static void poll_streams(mp__pool *pool);
static bool steal_waiting(mp__pool *pool);

/* ---- on-demand backing (core/backing.h) ------------------------------ */

/* Unmaps idle granules of every on-demand chunk while more than keep idle
 * bytes stay: those idle since an epoch before `before` (all: every one;
 * the caller has waited for the stream). Caller holds the lock. */
static void unmap_idle(mp__pool *pool, bool all, uint32_t before, size_t keep)
{
    for (size_t i = pool->nchunks; i-- > 0 && pool->backing.idle > keep;) {
        mp__chunk *c = pool->chunks[i].chunk;
        if (c->backed)
            reserved_sub(pool, mp__backing_unmap_idle(&pool->backing, c->arena->backend, c, pool->device, all, before,
                                                      keep));
    }
}

/* Waits for the pool's stream, after which no work queued before a free
 * can still use an idle granule, and unmaps idle granules down to keep. */
static mp_status reclaim_idle(mp__pool *pool, size_t keep)
{
    if (pool->backing.idle <= keep)
        return MP_OK;
    mp_status s = mp__cuda_stream_sync(pool->device, pool->stream);
    if (s == MP_OK)
        unmap_idle(pool, true, 0, keep);
    return s;
}

static void drop_marks(mp__backing *bk, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (bk->mark[i].event)
            mp__cuda_event_drop(bk->mark[i].event);
    memmove(bk->mark, bk->mark + n, (bk->nmarks - n) * sizeof *bk->mark);
    bk->nmarks -= n;
}

/* After a free left idle memory above the release threshold (backing.h):
 * unmaps what has been idle for a decay, past a boundary whose event has
 * completed, and marks a new boundary every half decay. Never waits. */
static void auto_release(mp__pool *pool)
{
    mp__backing *bk = &pool->backing;
    if (bk->idle <= bk->threshold || ((++bk->tick & 31) && bk->nmarks))
        return; /* the clock, every 32nd time: decay counts in seconds */
    uint64_t now = mp__cuda_clock_ns();
    unsigned k = 0; /* boundaries a decay old whose events have completed: the newest goes */
    while (k < bk->nmarks && now - bk->mark[k].t >= MP__DECAY_NS && mp__cuda_event_done(bk->mark[k].event))
        k++;
    if (k) {
        unmap_idle(pool, false, bk->mark[k - 1].epoch, bk->threshold);
        drop_marks(bk, k); /* what stays idle stays for the threshold: a later boundary covers it too */
    }
    if (bk->nmarks && now - bk->mark[bk->nmarks - 1].t < MP__DECAY_NS / 2)
        return;
    if (bk->nmarks == MP__MARKS)
        drop_marks(bk, 1);
    void *ev;
    if (mp__cuda_event_record(pool->device, pool->stream, &ev) == MP_OK)
        bk->mark[bk->nmarks++] = (mp__epoch_mark){++bk->epoch, now, ev};
}

/* Backs block p, which arena a's strategy just handed out, with device
 * memory; NULL when none can be had (p goes back to the strategy, and
 * pool->map_failed says why). Idle granules go first when memory runs
 * short, or max_size would be passed. Caller holds the lock. */
static __attribute__((noinline)) void *back_block(mp__pool *pool, const mp__arena *a, void *p, size_t size,
                                                  size_t want, size_t align, const mp__blockinfo *info)
{
    mp__chunk *c = find_chunk(pool, mp__addr(p));
    if (MP__LIKELY(!pool->pending.count && !pool->cfg.max_size) &&
        mp__backing_count_mapped(&pool->backing, c, mp__addr(p), size))
        return p; /* the memory is there: nothing to map, no cap to mind */
    size_t mapped = 0, need = 0, max = pool->cfg.max_size;
    mp__blockinfo rec;
    /* What must be mapped, where it matters before mapping (acquire finds
     * it anyway): with frees waiting on streams, or a cap. */
    if (pool->pending.count || max)
        need = mp__backing_unbacked(c, mp__addr(p), size);
    if (need && pool->pending.count) {
        /* Blocks waiting on other streams first: the memory is there.
         * All of them go back, the pool's stream made to wait for their
         * streams (stream.c): a poll would cost a query a stream, and
         * leave out the busy streams' blocks, which then could not join
         * their free neighbours. */
        a->strategy->release(a->state, c, mp__addr(p), &rec, NULL);
        steal_waiting(pool);
        p = align ? a->strategy->alloc_aligned(a->state, want, align, info, &size)
                  : a->strategy->alloc(a->state, want, info, &size);
        if (!p)
            return NULL; /* no room: the pool grows (map_failed stays MP_OK) */
        c = find_chunk(pool, mp__addr(p));
        need = mp__backing_unbacked(c, mp__addr(p), size);
    }
    mp_status s = MP_OK;
    if (need && max && pool->reserved + need > max) {
        size_t over = pool->reserved + need - max;
        reclaim_idle(pool, pool->backing.idle > over ? pool->backing.idle - over : 0);
        /* Idle granules under p are idle too, and may have gone first:
         * count again, and give back all idle memory if that is short. */
        need = mp__backing_unbacked(c, mp__addr(p), size);
        if (pool->reserved + need > max && pool->backing.idle) {
            reclaim_idle(pool, 0);
            need = mp__backing_unbacked(c, mp__addr(p), size);
        }
        if (pool->reserved + need > max)
            s = mp__fail(MP_ERR_OUT_OF_MEMORY, "mapping %zu bytes would pass max_size %zu", need, max);
    }
    if (s == MP_OK) {
        s = mp__backing_acquire(&pool->backing, a->backend, c, pool->device, mp__addr(p), size, &mapped);
        if (s != MP_OK)
            peak_with(pool, mapped); /* what the device gave for a moment counts in the peak */
        if (s == MP_ERR_OUT_OF_MEMORY && pool->backing.idle) { /* the device is full: idle memory first */
            reclaim_idle(pool, 0);
            s = mp__backing_acquire(&pool->backing, a->backend, c, pool->device, mp__addr(p), size, &mapped);
            if (s != MP_OK)
                peak_with(pool, mapped);
        }
    }
    if (s == MP_OK) {
        reserved_add(pool, mapped);
        return p;
    }
    need = mp__backing_unbacked(c, mp__addr(p), size);
    pool->map_failed = mp__fail_cause(s, "pool '%s': no device memory for a %zu-byte block (%zu bytes to map, %zu "
                                      "reserved, %zu of them idle)", pool->name, size, need, pool->reserved,
                                      pool->backing.idle);
    a->strategy->release(a->state, c, mp__addr(p), &rec, NULL);
    return NULL;
}

/* Releases block of c (live) in an on-demand arena: its granules count
 * one block less. */
static __attribute__((noinline)) mp_status give_backed(mp__pool *pool, const mp__arena *a, mp__chunk *c,
                                                       uintptr_t block, mp__blockinfo *info)
{
    size_t size;
    mp_status s = a->strategy->release(a->state, c, block, info, &size);
    if (s == MP_OK) {
        mp__backing_release(&pool->backing, c, block, size);
        auto_release(pool);
    }
    return s;
}

/* The strategy's release, and the granules' count where the arena maps
 * on demand. A caller whose block was freed in the pool stream's order
 * (not one whose event has completed) moves pool->ordered on. Caller holds
 * the lock. */
static inline mp_status give(mp__pool *pool, const mp__arena *a, mp__chunk *c, uintptr_t block, mp__blockinfo *info)
{
    if (MP__LIKELY(!a->on_demand))
        return a->strategy->release(a->state, c, block, info, NULL);
    return give_backed(pool, a, c, block, info);
}

/* Blocks waiting on one stream join (stream.c): next, right after p,
 * becomes part of p. */
static bool merge_waiting(void *ctx, mp__chunk *c, uintptr_t p, uintptr_t next)
{
    mp__pool *pool = ctx;
    const mp__arena *a = c->arena;
    if (!a->strategy->merge || !a->strategy->merge(a->state, c, p, next))
        return false;
    if (a->on_demand)
        mp__backing_merge(&pool->backing, c, next);
    return true;
}

static uintptr_t before_waiting(void *ctx, mp__chunk *c, uintptr_t p)
{
    (void)ctx;
    const mp__arena *a = c->arena;
    return a->strategy->before ? a->strategy->before(a->state, c, p) : 0;
}

/* How a pool's waiting blocks join: not in debug pools, which keep each
 * freed block's record. */
static const mp__stream_joins *joins_of(mp__pool *pool, mp__stream_joins *j)
{
    *j = (mp__stream_joins){merge_waiting, before_waiting, pool};
    return pool->debug ? NULL : j;
}

/* A block freed on a stream whose event has completed (stream.c). */
static void release_waiting(void *ctx, mp__chunk *c, uintptr_t block)
{
    mp__blockinfo info;
    give(ctx, c->arena, c, block, &info);
}

static void poll_streams(mp__pool *pool)
{
    if (pool->pending.count)
        mp__stream_poll(&pool->pending, release_waiting, pool);
}

/* Every block waiting on another stream's event goes back now, the pool's
 * stream made to wait for those events (stream.c): reuse rather than more
 * memory. Returns whether any did. Caller holds the lock. */
static bool steal_waiting(mp__pool *pool)
{
    if (!pool->pending.count || !mp__stream_steal(&pool->pending, pool->device, pool->stream, release_waiting, pool))
        return false;
    pool->ordered++; /* the pool's stream now waits for those events: other streams must wait for it */
    return true;
}

/* A block of need bytes from arena a, starting at a multiple of align
 * (0: the pool's alignment), or NULL: the strategy has no room, or (where
 * the arena maps on demand) no memory could back it (pool->map_failed). */
static inline void *alloc_in(mp__pool *pool, const mp__arena *a, size_t need, size_t align, const mp__blockinfo *info)
{
    if (MP__LIKELY(!a->on_demand))
        return align ? a->strategy->alloc_aligned(a->state, need, align, info, NULL)
                     : a->strategy->alloc(a->state, need, info, NULL);
    size_t size;
    void *p = align ? a->strategy->alloc_aligned(a->state, need, align, info, &size)
                    : a->strategy->alloc(a->state, need, info, &size);
    return p ? back_block(pool, a, p, size, need, align, info) : NULL;
}

/* The slow path of an allocation: grow (by what the policy's grow hook
 * says, else by growth_factor) and, if that fails, let the on_oom hook make
 * room once. Hooks run with the lock released, holding a reference to the
 * policy (hooks.c) that the caller drops (*hooks) once it has unlocked; a
 * slow path nested in one of the pool's own hooks runs without them.
 * Called and returns with the lock held. */
static mp_status allocate_slow(mp__pool *pool, mp__arena *a, size_t need, size_t align, size_t size,
                               const mp__blockinfo *info, void **out, mp__hooks **hooks)
{
    static const mp_policy none;
    const mp__strategy *strat = a->strategy;
    size_t chunk = strat->chunk_size_for(a->state, need + (align ? align : 0)), want = 0;
    char detail[256] = "";
    *hooks = mp__hooks_enter(&pool->hooks);
    const mp_policy pol = *hooks ? *mp__hooks_policy(*hooks) : none;
    mp_status s = pool->map_failed; /* memory, not room, ran short: growing would not help */
    if (s == MP_OK && steal_waiting(pool) && (*out = alloc_in(pool, a, need, align, info)))
        return MP_OK; /* blocks waiting on other streams, reused rather than more memory */
    if (s == MP_OK && pol.grow) {
        mp__lock_release(&pool->lock);
        s = pol.grow(pol.user, pool->handle, chunk, &want, detail, sizeof detail);
        mp__lock_acquire(&pool->lock);
        if ((*out = alloc_in(pool, a, need, align, info)))
            return MP_OK; /* another thread freed room meanwhile */
        if (s != MP_OK)
            s = mp__fail(s, "pool '%s': the growth policy refused %zu bytes: %s", pool->name, chunk, detail);
        else if (want < chunk)
            s = mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': the growth policy offered %zu bytes, %zu are needed",
                         pool->name, want, chunk);
    }
    if (s == MP_OK)
        s = grow(pool, a, chunk, want);
    if (s == MP_OK && (*out = alloc_in(pool, a, need, align, info)))
        return MP_OK;
    if (s == MP_OK)
        s = pool->map_failed != MP_OK ? pool->map_failed
                                      : mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory for bookkeeping",
                                                 pool->name);
    if (pol.on_oom) {
        char last_detail[512];
        snprintf(last_detail, sizeof last_detail, "%s", mp_last_error_message());
        detail[0] = 0;
        mp__lock_release(&pool->lock);
        mp_status h = pol.on_oom(pol.user, pool->handle, size, detail, sizeof detail);
        mp__lock_acquire(&pool->lock);
        if (h == MP_ERR_OUT_OF_MEMORY) /* declined: the first failure stands */
            return mp__fail(s, "%s", last_detail);
        if (h != MP_OK)
            return mp__fail(h, "pool '%s': %zu bytes failed and the out-of-memory policy failed: %s", pool->name,
                            size, detail);
        pool->map_failed = MP_OK;
        if ((*out = alloc_in(pool, a, need, align, info)))
            return MP_OK;
        /* Growing helps where room ran short, not memory (an on-demand
         * span as large as the device each time, else). */
        if (pool->map_failed == MP_OK && grow(pool, a, chunk, 0) == MP_OK &&
            (*out = alloc_in(pool, a, need, align, info)))
            return MP_OK;
    }
    return s;
}

/* ---- arenas ----------------------------------------------------------- */

/* Whether arena a's chunks are address space mapped on demand: where the
 * backend and the pool's device can, and the pool is not capped so low
 * that whole granules would matter (a max_size under 16 granules, 32 MiB
 * on an H200, is served exactly, from cudaMalloc'd chunks). The granule is
 * a power of two (CUDA's are), so that granule arithmetic shifts. */
static bool on_demand(const mp__pool *pool, const mp__arena *a)
{
    size_t g = a->backend->reserve_space ? mp__cuda_vmm_granule(pool->device) : 0;
    return g && !(g & (g - 1)) && (!pool->cfg.max_size || pool->cfg.max_size / 16 >= g);
}

static mp_status arena_open(mp__pool *pool, mp__arena *a, mp_backend_kind kind)
{
    a->backend = mp__backend_get(kind);
    a->strategy = mp__strategy_for(pool->cfg.allocator_type);
    a->state = a->strategy->create(&pool->params);
    if (!a->state)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory for allocator state", pool->name);
    a->on_demand = on_demand(pool, a);
    return MP_OK;
}

/* The arena serving a request with flags, opened on first use. Caller
 * holds the lock. */
static mp_status arena_for(mp__pool *pool, mp_alloc_flags flags, mp__arena **out)
{
    mp__arena *a = &pool->arena[pool->arena_of_flag[flags]];
    if (MP__LIKELY(a->state != NULL)) {
        *out = a;
        return MP_OK;
    }
    mp_status s = flags == MP_ALLOC_MANAGED ? mp__cuda_check_device(pool->device)
                  : mp__cuda_device_count() ? MP_OK
                                            : mp__cuda_check_device(0);
    if (s != MP_OK)
        return s;
    s = arena_open(pool, a, flags == MP_ALLOC_MANAGED ? MP_BACKEND_CUDA_MANAGED : MP_BACKEND_CUDA_PINNED);
    *out = a;
    return s;
}

static mp_backend_kind own_backend(const mp_config *c, mp_memory_type type)
{
    if (c->use_managed_memory)
        return MP_BACKEND_CUDA_MANAGED;
    if (c->use_pinned_memory)
        return MP_BACKEND_CUDA_PINNED;
    return type == MP_MEMORY_GPU ? MP_BACKEND_CUDA_DEVICE : MP_BACKEND_HOST;
}

/* ---- the lock-free layer's batches (mp__lf_source) ---------------------- */

static uint32_t carve_batch(void *ctx, size_t size, uint32_t n, mp__tentry *out, uint8_t state)
{
    mp__pool *pool = ctx;
    mp__arena *a = &pool->arena[0];
    mp__blockinfo info = {size, 0, false};
    uint32_t k = 0;
    mp__lock_acquire(&pool->lock);
    for (; k < n; k++) {
        void *p = alloc_in(pool, a, size, 0, &info);
        if (!p)
            break;
        uint8_t *byte = mp__span_state(&find_chunk(pool, (uintptr_t)p)->span, (uintptr_t)p);
        __atomic_store_n(byte, state, __ATOMIC_RELAXED);
        out[k] = (mp__tentry){p, byte};
    }
    mp__lock_release(&pool->lock);
    return k;
}

static void give_back_batch(void *ctx, const mp__tentry *e, uint32_t n)
{
    mp__pool *pool = ctx;
    mp__blockinfo info;
    mp__lock_acquire(&pool->lock);
    for (uint32_t j = 0; j < n; j++) {
        mp__chunk *c = find_chunk(pool, (uintptr_t)e[j].p);
        __atomic_store_n(e[j].state, MP__ST_LIVE, __ATOMIC_RELAXED); /* live again, never a cache class (tcache.h) */
        give(pool, c->arena, c, (uintptr_t)e[j].p, &info);
    }
    pool->ordered++; /* freed into the caches in the pool stream's order */
    mp__lock_release(&pool->lock);
}

/* ---- fork (core/fork.h) -------------------------------------------------- */

/* Every pool's locks, in the order every path takes them; a pool that
 * became live after prepare (its slot published meanwhile) was not locked,
 * and the parent leaves it alone. Called with the slot table locked. */
static void lock_pool(mp__slot *slot, void *ctx)
{
    (void)ctx;
    mp__pool *pool = (mp__pool *)(void *)slot;
    mp__lock_acquire(&pool->lock);
    if (pool->lf)
        mp__lf_fork_lock(pool->lf);
    pool->fork_locked = true;
}

static void unlock_pool(mp__slot *slot, void *ctx)
{
    (void)ctx;
    mp__pool *pool = (mp__pool *)(void *)slot;
    if (!pool->fork_locked)
        return;
    pool->fork_locked = false;
    if (pool->lf)
        mp__lf_fork_unlock(pool->lf);
    mp__lock_release(&pool->lock);
}

/* The child: fresh locks (a lock may record waiters that do not exist
 * here), and only the forking thread's hooks running. */
static void reset_pool(mp__slot *slot, void *ctx)
{
    (void)ctx;
    mp__pool *pool = (mp__pool *)(void *)slot;
    /* The magazine mutex that prepare took is this thread's: unlocked, as
     * initialising a locked mutex again is undefined (ThreadSanitizer
     * reports its destroy). Not taken, a thread that is gone may hold it. */
    if (pool->lf && pool->fork_locked)
        mp__lf_fork_unlock(pool->lf);
    else if (pool->lf)
        mp__lf_fork_child(pool->lf);
    pool->fork_locked = false;
    mp__lock_init(&pool->lock, pool->cfg.thread_safe);
    mp__hooks_after_fork(&pool->hooks);
}

static void pools_prepare(void) { mp__slots_foreach(MP__SLOT_POOL, lock_pool, NULL); }
static void pools_parent(void) { mp__slots_foreach(MP__SLOT_POOL, unlock_pool, NULL); }
static void pools_child(void) { mp__slots_foreach(MP__SLOT_POOL, reset_pool, NULL); }

/* ---- life cycle ------------------------------------------------------- */

/* The first chunk: initial_size, at least what one block needs; within
 * max_size, or the configuration cannot work. */
static mp_status first_chunk(mp__pool *pool)
{
    mp__arena *a = &pool->arena[0];
    size_t least = a->strategy->chunk_size_for(a->state, 1), want = pool->cfg.initial_size;
    if (pool->cfg.max_size && least > pool->cfg.max_size)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': max_size %zu is below the smallest chunk (%zu bytes, "
                        "one block)", pool->name, pool->cfg.max_size, least);
    if (a->on_demand) /* address space now, memory as blocks need it */
        return add_chunk(pool, a, space_for(pool, want > least ? want : least));
    if (want == 0)
        return MP_OK;
    return add_chunk(pool, a, want > least ? want : least);
}

/* The lock-free front, when nothing needs a per-allocation record
 * (records and debugging keep one under the lock); counters-only pools
 * count in its caches' bins too. A fixed pool that one thread at a time
 * uses (thread_safe off) gets the front too, with one solo cache for
 * whichever thread calls: its blocks are all alike, so a cached one serves
 * any request (a variable pool's cached blocks would be rounded up to
 * their classes and miss TLSF's coalescing). */
static mp_status open_lock_free(mp__pool *pool, const mp__strategy *strategy, mp_backend_kind kind)
{
    const mp_config *cfg = &pool->cfg;
    bool solo = !cfg->thread_safe && strategy->one_size;
    if ((!solo && (!cfg->thread_safe || cfg->sync_type != MP_SYNC_LOCK_FREE)) || pool->tracking || pool->debug)
        return MP_OK;
    const mp__lf_source src = {pool, carve_batch, give_back_batch};
    if (!(pool->lf = mp__lf_new(pool->handle, &src, strategy->one_size, pool->params.unit, pool->params.stride,
                                mp__backend_get(kind)->host_accessible && pool->tools,
                                pool->counting ? &pool->gauge : NULL)))
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for the thread caches of pool '%s'", pool->name);
    pool->params.state_map = true;
    if (solo && !(pool->solo = mp__lf_solo(pool->lf)))
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for the cache of pool '%s'", pool->name);
    pool->threads = solo ? NULL : pool->lf;
    return MP_OK;
}

mp_status mp__pool_new(const char *name, mp_memory_type type, const mp_config *config, bool registry_owned,
                       mp__pool **out)
{
    mp_config cfg;
    mp_status s = mp__check_name(name);
    if (s == MP_OK)
        s = mp__config_read(config, &cfg);
    if (s == MP_OK)
        s = mp__config_check(&cfg, type);
    if (s != MP_OK)
        return s;
    static const mp__fork_pools fork_pools = {pools_prepare, pools_parent, pools_child};
    mp__fork_init(&fork_pools);
    mp__show_stats_init();
    mp__slot *slot;
    void *handle;
    if ((s = mp__slot_take(&slot, &handle)) != MP_OK)
        return s;
    mp__pool *pool = (mp__pool *)(void *)slot;
    pool->handle = handle;
    strcpy(pool->name, name);
    pool->type = type;
    pool->registry_owned = registry_owned;
    pool->device = cfg.device_id;
    pool->backing.threshold = MP_DEFAULT_RELEASE_THRESHOLD;
    pool->counting = cfg.track_stats && cfg.counters_only;
    pool->tracking = cfg.track_stats && !pool->counting;
    pool->numbered = pool->tracking || cfg.enable_debugging;
    const mp__strategy *strategy = mp__strategy_for(cfg.allocator_type);
    mp_backend_kind kind = own_backend(&cfg, type);
    if (cfg.enable_debugging &&
        !(pool->debug = mp__debug_new(mp__backend_get(kind)->host_accessible, cfg.alignment))) {
        mp__slot_give_back(slot);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for the debug state of pool '%s'", name);
    }
    pool->one_size = strategy->one_size;
    pool->tools = mp__tools_on(); /* a client request per call costs more than the flag */
    if (strategy->one_size)
        cfg.block_size = mp__align_up(cfg.block_size, cfg.alignment);
    pool->plain_max = pool->debug ? 0 : strategy->one_size ? cfg.block_size : MP__MAX_REQUEST;
    size_t overhead = pool->debug ? mp__debug_overhead(pool->debug) : 0;
    pool->params.unit = cfg.alignment < 16 ? 16 : cfg.alignment;
    if (pool->counting && !strategy->one_size && !pool->debug) { /* the thread caches' classes: 4096 units, <= 1 MiB */
        size_t top = pool->params.unit << 12 < ((size_t)1 << 20) ? pool->params.unit << 12 : (size_t)1 << 20;
        pool->count_max = top < pool->params.unit ? pool->params.unit : top;
    }
    pool->params.stride = mp__align_up(cfg.block_size + overhead, cfg.alignment);
    /* A counters-only free counts what the block's record says was asked
     * (counted()): a strategy that keeps records only when asked must keep
     * them then, unless the pool's one block size says it all. */
    pool->params.keep_info = pool->tracking || cfg.enable_debugging ||
                             (pool->counting && !strategy->one_size && strategy->keep_info);
    pool->params.state_map = strategy->state_map;
    /* Small blocks from size-class pages: CPU memory, and not under the
     * debug layer, which keeps a record and guards per block. */
    pool->params.small = type == MP_MEMORY_CPU && !pool->debug;
    pool->params.best_fit = type == MP_MEMORY_GPU;
    pool->cfg = cfg;
    /* Flags pick an arena; a flag naming the pool's own kind uses its own. */
    pool->arena_of_flag[MP_ALLOC_NONE] = 0;
    pool->arena_of_flag[MP_ALLOC_PINNED] = kind == MP_BACKEND_CUDA_PINNED ? 0 : 1;
    pool->arena_of_flag[MP_ALLOC_MANAGED] = kind == MP_BACKEND_CUDA_MANAGED ? 0 : 2;
    mp__lock_init(&pool->lock, cfg.thread_safe);
    s = open_lock_free(pool, strategy, kind);
    if (s == MP_OK)
        s = arena_open(pool, &pool->arena[0], kind);
    if (s == MP_OK)
        s = first_chunk(pool);
    if (s != MP_OK) {
        mp__pool_free(pool);
        return s;
    }
    mp__slot_publish(slot, MP__SLOT_POOL);
    *out = pool;
    return MP_OK;
}

void mp__pool_free(mp__pool *pool)
{
    mp__slots_lock(); /* mp__pools_foreach may be reading the pool */
    mp__slot_revoke(&pool->slot);
    mp__slots_unlock();
    mp__hooks_drop(&pool->hooks); /* the policy's release may call back in: it gets "destroyed" */
    if (pool->lf)
        mp__lf_free(pool->lf);
    pool->lf = pool->threads = NULL;
    mp__stream_fini(&pool->pending);
    tools_forget_live(pool);
    drop_marks(&pool->backing, pool->backing.nmarks);
    for (size_t i = 0; i < pool->nchunks; i++)
        if (pool->chunks[i].chunk->mapped && pool->chunks[i].chunk->backed) {
            /* Unmapping does not wait for the device as cudaFree does: wait here. */
            mp__cuda_device_sync(pool->device);
            break;
        }
    while (pool->nchunks)
        drop_chunk(pool, pool->chunks[pool->nchunks - 1].chunk);
    for (int i = 0; i < MP__ARENAS; i++)
        if (pool->arena[i].state)
            pool->arena[i].strategy->destroy(pool->arena[i].state);
    free(pool->chunks);
    free(pool->debug);
    free(pool->oom);
    mp__tc_bypass_free(pool->bypass);
    mp__slot_give_back(&pool->slot);
}

bool mp__pool_registry_owned(const mp__pool *pool) { return pool->registry_owned; }

typedef struct each_pool {
    void (*fn)(mp__pool *pool, void *ctx);
    void *ctx;
} each_pool;

static void each_pool_slot(mp__slot *s, void *ctx)
{
    each_pool *e = ctx;
    e->fn((mp__pool *)(void *)s, e->ctx);
}

void mp__pools_foreach(void (*fn)(mp__pool *pool, void *ctx), void *ctx)
{
    each_pool e = {fn, ctx};
    mp__slots_lock();
    mp__slots_foreach(MP__SLOT_POOL, each_pool_slot, &e);
    mp__slots_unlock();
}

mp_status mp__pool_idle(mp__pool *pool, const char *what) { return mp__hooks_idle(&pool->hooks, pool->name, what); }

mp_status mp_pool_create(const char *name, mp_memory_type memory_type, const mp_config *config, mp_pool **out_pool)
{
    if (!out_pool)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_pool is NULL");
    *out_pool = NULL;
    mp__pool *p;
    mp_status s = mp__pool_new(name, memory_type, config, false, &p);
    if (s == MP_OK)
        *out_pool = p->handle;
    return s;
}

mp_status mp_pool_destroy(mp_pool *handle)
{
    mp__pool *p;
    mp_status s = mp__pool_get(handle, &p);
    if (s != MP_OK)
        return s;
    if (p->registry_owned)
        return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' belongs to the registry; use mp_registry_destroy",
                        p->name);
    if ((s = mp__pool_idle(p, "mp_pool_destroy")) != MP_OK)
        return s;
    mp__pool_free(p);
    return MP_OK;
}

/* ---- allocate and free ------------------------------------------------ */

/* The bytes a counters-only pool counts for a block, at its allocation
 * and at its free: no record says which block was asked for what, so a
 * fixed pool counts its block size, and a variable pool the requested size
 * that the strategy's record of the block gives back at its free. That is
 * the size it was asked for, except that a small-block page keeps no
 * record of an untracked block and says its class size: so a counters-only
 * variable pool asks for the class size of every request up to count_max
 * (classes.h's spacing, as its thread caches and its pages have it), on
 * every path, and counts that; an over-aligned request, which a page may
 * serve from a larger class, counts what the strategy recorded (lookup).
 * keep_info asks a strategy that keeps no record of its own to keep one. */
static inline size_t counted(const mp__pool *pool, size_t requested)
{
    return pool->one_size ? pool->cfg.block_size : requested;
}

/* The class size of a request of 1..count_max bytes: classes.h's spacing,
 * in closed form (steps of the unit up to 8 units, then four classes per
 * power of two). */
static inline size_t count_class(const mp__pool *pool, size_t size)
{
    size_t step = size > 1 ? ((size_t)1 << mp__fls(size - 1)) / 4 : 0;
    return mp__align_up(size, step > pool->params.unit ? step : pool->params.unit);
}

/* What the strategy recorded as block's requested size (an over-aligned
 * block of a counters-only pool). Caller holds the lock. */
static void count_recorded(const mp__pool *pool, mp__blockinfo *info, const void *block)
{
    size_t size;
    mp__blockinfo rec;
    const mp__span *s = mp__span_find(pool->chunks, pool->nchunks, mp__addr(block));
    if (s && s->arena->strategy->lookup(s->arena->state, s->chunk, mp__addr(block), &size, &rec))
        info->requested = rec.requested;
}

static void count_alloc(mp__pool *pool, size_t bytes)
{
    mp__stats_on_alloc(&pool->counters, bytes);
    if (pool->lf)
        mp__gauge_add(&pool->gauge, bytes);
}

static void count_free(mp__pool *pool, size_t bytes)
{
    mp__stats_on_free(&pool->counters, bytes);
    if (pool->lf)
        mp__gauge_add(&pool->gauge, 0 - (uint64_t)bytes);
}

/* Counts a new block and lays out its guards (debug) or opens it to the
 * tools. Caller holds the lock. */
static void on_allocated(mp__pool *pool, const mp__arena *a, const mp__blockinfo *info, size_t size, void **block)
{
    if (info->tracked)
        mp__stats_on_alloc(&pool->counters, size);
    else if (pool->counting)
        count_alloc(pool, counted(pool, info->requested));
    if (pool->debug)
        *block = mp__debug_on_alloc(pool->debug, mp__addr(*block), size);
    else if (tooled(pool, a))
        mp__tool_alloc(*block, size);
}

/* Whether the pool can place a block at a multiple of align, a power of
 * two beyond its own alignment; else the reason. */
static mp_status check_alignment(const mp__pool *pool, size_t align)
{
    if (align > MP__MAX_REQUEST)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': alignment %zu is beyond the 2^48-byte limit",
                        pool->name, align);
    if (pool->one_size)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': a fixed pool's blocks all start at multiples of its "
                        "alignment %zu; %zu cannot be had", pool->name, pool->cfg.alignment, align);
    if (pool->debug)
        return mp__fail(MP_ERR_UNSUPPORTED, "pool '%s': debug pools place a guard before each block, so only "
                        "their own alignment %zu is served, not %zu", pool->name, pool->cfg.alignment, align);
    return MP_OK;
}

static void view_locked(mp__pool *pool, mp__pool_view *v, mp__chunk_fn each_chunk, void *ctx,
                        mp__class_views *classes);

/* An allocation of size bytes (at a multiple of align; 0: the pool's
 * alignment) failed on the slow path: the backend, max_size, the growth
 * policy or the out-of-memory hook left it without memory. Counted, its
 * detail extended by the pool's state (oom.c), which the pool keeps as its
 * last failure. The caches are read without mp__lf_enter, which may not be
 * taken under the lock: exact but for blocks that other threads' caches
 * move meanwhile. Caller holds the lock. */
static __attribute__((noinline, cold)) mp_status failed_locked(mp__pool *pool, mp_status s, size_t size, size_t align)
{
    mp__oom_record r = {.request = size, .alignment = align ? align : pool->cfg.alignment, .status = s};
    pool->counters.failed++;
    view_locked(pool, &r.view, mp__oom_keep_chunk, &r, NULL);
    mp__oom_describe(&r, mp_last_error_message());
    if (!pool->oom)
        pool->oom = malloc(sizeof *pool->oom);
    if (pool->oom)
        *pool->oom = r;
    pool->oom_lost = !pool->oom;
    return mp__fail(s, "%s", r.detail);
}

/* Everything but the lock-free fast path: every check with its message,
 * then the strategy under the lock. Kept out of line so that the fast path
 * pays no stack frame for it. */
static __attribute__((noinline)) mp_status allocate_locked(mp_pool *handle, mp__pool *pool, size_t size,
                                                           size_t align, mp_alloc_flags flags, void **out_ptr)
{
    if (MP__UNLIKELY(!pool))
        return mp__slot_refuse(handle, MP__SLOT_POOL);
    mp_status s;
    if (MP__UNLIKELY(!out_ptr))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_ptr is NULL");
    *out_ptr = NULL;
    if (MP__UNLIKELY(size == 0))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': size 0 requested", pool->name);
    if (MP__UNLIKELY((unsigned)flags > MP_ALLOC_MANAGED))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': allocation flags %d are unknown", pool->name, (int)flags);
    if (MP__UNLIKELY(pool->one_size && size > pool->cfg.block_size))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': %zu bytes requested from a fixed pool of %zu-byte blocks",
                        pool->name, size, pool->cfg.block_size);
    if (MP__UNLIKELY(size > MP__MAX_REQUEST))
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': %zu bytes requested, beyond the 2^48-byte limit",
                        pool->name, size);
    if (MP__UNLIKELY(align) && (s = check_alignment(pool, align)) != MP_OK)
        return s;

    mp__lock_acquire(&pool->lock);
    mp__arena *a;
    s = arena_for(pool, flags, &a);
    if (MP__UNLIKELY(s != MP_OK)) {
        mp__lock_release(&pool->lock);
        return s;
    }
    pool->map_failed = MP_OK;
    size_t need = pool->debug ? size + mp__debug_overhead(pool->debug) : size;
    mp__blockinfo info = {size, pool->numbered ? ++pool->next_seq : 0, pool->tracking};
    if (size - 1 < pool->count_max && !align)
        need = info.requested = count_class(pool, size); /* counted(); no debug layout here */
    void *block = alloc_in(pool, a, need, align, &info);
    if (MP__UNLIKELY(!block) && pool->pending.count) {
        poll_streams(pool); /* completed stream frees first, growth second */
        block = alloc_in(pool, a, need, align, &info);
    }
    if (MP__UNLIKELY(!block)) {
        mp__hooks *hooks;
        s = allocate_slow(pool, a, need, align, size, &info, &block, &hooks);
        if (s != MP_OK)
            s = failed_locked(pool, s, size, align);
        else if (align && pool->count_max)
            count_recorded(pool, &info, block);
        if (s == MP_OK)
            on_allocated(pool, a, &info, size, &block);
        mp__lock_release(&pool->lock);
        mp__hooks_leave(&pool->hooks, hooks);
        *out_ptr = block;
        return s;
    }
    if (MP__UNLIKELY(align) && pool->count_max)
        count_recorded(pool, &info, block);
    on_allocated(pool, a, &info, size, &block);
    mp__lock_release(&pool->lock);
    *out_ptr = block;
    return MP_OK;
}

/* The record of a plain request of size bytes (no alignment, no debug
 * layout), its sequence number still to draw: a counting pool's small
 * requests are recorded as their class (counted()). */
static inline mp__blockinfo plain_info(const mp__pool *pool, size_t size)
{
    mp__blockinfo info = {size, 0, pool->tracking};
    if (MP__UNLIKELY(size - 1 < pool->count_max))
        info.requested = count_class(pool, size);
    return info;
}

/* A plainly valid request (allocate checked it) of a pool without the
 * lock-free layer or debugging: the strategy under the lock, and nothing
 * else unless the pool counts or the tools watch. Whatever it cannot do at
 * once (growth, with a stream's frees polled first) goes to
 * allocate_locked, which checks and does everything. */
/* A plainly valid request's block from the strategy as it stands, or NULL
 * (growth, with a stream's frees polled first, is allocate_locked's).
 * Caller holds the lock. */
static inline void *plain_locked(mp__pool *pool, size_t size)
{
    mp__arena *a = &pool->arena[0];
    mp__blockinfo info = plain_info(pool, size);
    info.seq = pool->numbered ? ++pool->next_seq : 0;
    void *block = alloc_in(pool, a, info.requested, 0, &info);
    if (MP__LIKELY(block != NULL) && MP__UNLIKELY(info.tracked | pool->counting | pool->tools))
        on_allocated(pool, a, &info, size, &block);
    return block;
}

static __attribute__((noinline)) MP__HOT_ENTRY mp_status allocate_plain(mp_pool *handle, mp__pool *pool, size_t size,
                                                          void **out_ptr)
{
    mp__lock_acquire(&pool->lock);
    void *block = plain_locked(pool, size);
    mp__lock_release(&pool->lock);
    if (MP__LIKELY(block != NULL)) {
        *out_ptr = block;
        return MP_OK;
    }
    return allocate_locked(handle, pool, size, 0, MP_ALLOC_NONE, out_ptr);
}

/* The lock-free layer's slow half (tcache.c): a refill, or a first call on
 * this thread; what it cannot serve takes the locked path. */
static __attribute__((noinline)) mp_status allocate_cached(mp_pool *handle, mp__pool *pool, size_t size,
                                                           void **out_ptr)
{
    void *p = pool->solo ? mp__tc_alloc_in(pool->solo, size) : mp__tc_alloc(pool->lf, size);
    if (p) {
        *out_ptr = p;
        return MP_OK;
    }
    return allocate_locked(handle, pool, size, 0, MP_ALLOC_NONE, out_ptr);
}

/* Every request passes here: plainly valid ones of a cached class come off
 * the thread's cache (tcache.h) with no call, so the common case costs no
 * stack frame; other plainly valid ones take one of the two lean paths
 * above; errors and everything else take allocate_locked. */
static inline __attribute__((always_inline)) mp_status allocate(mp_pool *handle, size_t size, mp_alloc_flags flags,
                                                                void **out_ptr)
{
    mp__pool *pool = mp__pool_of(handle);
    if (MP__LIKELY(pool && out_ptr && flags == MP_ALLOC_NONE)) {
        if (pool->threads) {
            if (MP__LIKELY(size - 1 < pool->threads->max_cached)) {
                void *p = mp__tc_pop(pool->threads, size);
                if (MP__LIKELY(p != NULL)) {
                    *out_ptr = p;
                    return MP_OK;
                }
                return allocate_cached(handle, pool, size, out_ptr);
            }
        } else if (pool->solo) {
            if (MP__LIKELY(size - 1 < pool->lf->max_cached)) {
                void *p = mp__tc_solo_pop(pool->solo, size);
                if (MP__LIKELY(p != NULL)) {
                    *out_ptr = p;
                    return MP_OK;
                }
                return allocate_cached(handle, pool, size, out_ptr);
            }
        } else if (MP__LIKELY(size - 1 < pool->plain_max)) {
            return allocate_plain(handle, pool, size, out_ptr);
        }
    }
    return allocate_locked(handle, pool, size, 0, flags, out_ptr);
}

mp_status mp_pool_allocate_flags(mp_pool *pool, size_t size, mp_alloc_flags flags, void **out_ptr)
{
    return allocate(pool, size, flags, out_ptr);
}

/* The two hottest entry points start on a cache line of their own, so that
 * their speed does not move with the size of unrelated code before them
 * (a shift of 0x70 bytes cost the inline fixed pool's pair 0.7 ns). */
MP__HOT_ENTRY mp_status mp_pool_allocate(mp_pool *pool, size_t size, void **out_ptr)
{
    return allocate(pool, size, MP_ALLOC_NONE, out_ptr);
}

mp_status mp_pool_allocate_aligned(mp_pool *handle, size_t size, size_t alignment, void **out_ptr)
{
    mp__pool *pool = mp__pool_of(handle);
    if (pool && !mp__is_pow2(alignment)) {
        if (out_ptr)
            *out_ptr = NULL;
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': alignment %zu is not a power of two", pool->name,
                        alignment);
    }
    if (pool && alignment <= pool->cfg.alignment)
        return allocate(handle, size, MP_ALLOC_NONE, out_ptr); /* every block is that aligned */
    return allocate_locked(handle, pool, size, alignment, MP_ALLOC_NONE, out_ptr);
}

/* Says as precisely as it can why ptr is not a live block of pool. */
static mp_status bad_pointer(const mp__pool *pool, const void *ptr, bool inside, const mp__freed *freed)
{
    char owner[MP_NAME_MAX + 1];
    if (freed)
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': double free of %p (allocation #%llu, %zu bytes)",
                        pool->name, ptr, (unsigned long long)freed->seq, freed->size);
    if (inside)
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': %p is not the start of a live block (double free or "
                        "interior pointer)", pool->name, ptr);
    if (mp__owners_find(mp__addr(ptr), owner, sizeof owner))
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': %p belongs to pool '%s'", pool->name, ptr, owner);
    return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': %p was not allocated by this pool", pool->name, ptr);
}

/* The same for a pointer that names no live block (waiting: one freed on
 * a stream, whose event is pending). Called with the lock held; releases
 * it. */
static __attribute__((noinline)) mp_status refuse_locked(mp__pool *pool, const void *ptr, bool waiting)
{
    mp__freed freed, *fp = NULL;
    if (pool->debug && mp__debug_find_freed(pool->debug, mp__addr(ptr))) {
        freed = *mp__debug_find_freed(pool->debug, mp__addr(ptr));
        fp = &freed;
    }
    bool inside = find_chunk(pool, mp__addr(ptr)) != NULL;
    mp__lock_release(&pool->lock);
    if (waiting)
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': double free of %p, already freed on a stream",
                        pool->name, ptr);
    return bad_pointer(pool, ptr, inside, fp);
}

/* Frees ptr; with deferred, behind an event on stream (stream.c). */
static mp_status free_block(mp__pool *pool, void *ptr, bool deferred, void *stream)
{
    mp_status s = MP_OK;
    if (MP__UNLIKELY(!ptr))
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': ptr is NULL", pool->name);
    uintptr_t block = mp__addr(ptr) - (pool->debug ? mp__debug_front(pool->debug) : 0);
    mp__blockinfo info;
    size_t block_size;
    mp__stream_joins joins;

    mp__lock_acquire(&pool->lock);
    const mp__span *span = mp__span_find(pool->chunks, pool->nchunks, block);
    mp__chunk *c = span ? span->chunk : NULL;
    const mp__arena *a = span ? span->arena : NULL;
    bool waiting = c && mp__stream_waiting(&pool->pending, block);
    bool live = c && !waiting &&
                (deferred ? a->strategy->lookup(a->state, c, block, &block_size, &info)
                          : give(pool, a, c, block, &info) == MP_OK);
    pool->ordered += !deferred;
    if (MP__UNLIKELY(!live))
        return refuse_locked(pool, ptr, waiting);
    if (deferred) {
        /* Live, but off the thread caches' fast free while it waits; set
         * first, since a block it joins (stream.c) clears the byte. */
        uint8_t *state = mp__span_state(&c->span, block);
        uint8_t was = state ? __atomic_load_n(state, __ATOMIC_RELAXED) : 0;
        if (state)
            __atomic_store_n(state, MP__ST_LIVE, __ATOMIC_RELAXED);
        s = mp__stream_defer(&pool->pending, pool->device, stream, c, block, block_size, joins_of(pool, &joins),
                             pool->name);
        if (s != MP_OK) {
            if (state)
                __atomic_store_n(state, was, __ATOMIC_RELAXED);
            mp__lock_release(&pool->lock);
            return s; /* the block stays allocated */
        }
    }
    if (info.tracked)
        mp__stats_on_free(&pool->counters, info.requested);
    else if (pool->counting)
        count_free(pool, counted(pool, info.requested));
    if (pool->debug)
        s = mp__debug_on_free(pool->debug, pool->name, block, &info, !deferred);
    else if (tooled(pool, a))
        mp__tool_free((void *)block, info.requested ? info.requested : pool->params.stride);
    mp__lock_release(&pool->lock);
    return s;
}

/* The free of a pool that allocate_plain serves (no lock-free layer, no
 * debugging): one chunk search and the strategy under the lock. Anything
 * it does not free at once (a pointer the strategy refuses, or one that
 * waits on a stream) goes to free_block, which says why. */
static __attribute__((noinline)) MP__HOT_ENTRY mp_status free_plain(mp__pool *pool, void *ptr)
{
    uintptr_t block = mp__addr(ptr);
    mp__blockinfo info;
    mp__lock_acquire(&pool->lock);
    const mp__span *span = mp__span_find(pool->chunks, pool->nchunks, block);
    if (MP__LIKELY(span && !(pool->pending.count && mp__stream_waiting(&pool->pending, block)))) {
        const mp__arena *a = span->arena;
        if (MP__LIKELY(give(pool, a, span->chunk, block, &info) == MP_OK)) {
            pool->ordered++;
            if (MP__UNLIKELY(info.tracked | pool->counting | pool->tools)) {
                if (info.tracked)
                    mp__stats_on_free(&pool->counters, info.requested);
                else if (pool->counting)
                    count_free(pool, counted(pool, info.requested));
                if (tooled(pool, a))
                    mp__tool_free((void *)block, info.requested ? info.requested : pool->params.stride);
            }
            mp__lock_release(&pool->lock);
            return MP_OK;
        }
    }
    mp__lock_release(&pool->lock);
    return free_block(pool, ptr, false, NULL); /* refused again, with the reason */
}

static __attribute__((noinline)) mp_status deallocate_slow_half(mp_pool *handle, mp__pool *pool, void *ptr)
{
    if (!pool)
        return mp__slot_refuse(handle, MP__SLOT_POOL);
    if (ptr && pool->lf && (pool->solo ? mp__tc_free_in(pool->solo, ptr) : mp__tc_free(pool->lf, ptr)))
        return MP_OK;
    return free_block(pool, ptr, false, NULL);
}

MP__HOT_ENTRY mp_status mp_pool_deallocate(mp_pool *handle, void *ptr)
{
    mp__pool *pool = mp__pool_of(handle);
    if (MP__LIKELY(pool && ptr)) {
        if (pool->threads) {
            if (mp__tc_push(pool->threads, ptr))
                return MP_OK;
        } else if (pool->solo) {
            if (mp__tc_solo_push(pool->solo, ptr))
                return MP_OK;
        } else if (MP__LIKELY(pool->plain_max)) {
            return free_plain(pool, ptr);
        }
    }
    return deallocate_slow_half(handle, pool, ptr);
}

/* ---- reallocate and usable size ------------------------------------------ */

/* A live block as the pool sees it. room: the bytes an in-place resize can
 * give the caller (the block less the debug guards); usable: those the
 * caller may use now (room, but with guards only what it asked for, which
 * the back guard follows). */
typedef struct live_ref {
    mp__chunk *chunk;
    mp__arena *arena;
    uintptr_t block;
    size_t room, usable;
    mp__blockinfo info;
} live_ref;

/* Whether ptr is a live block of pool (not a thread cache's, not waiting
 * on a stream), and which: mp_pool_owns, mp_pool_usable_size and
 * mp_pool_reallocate ask here. Caller holds the lock. */
static bool find_live(const mp__pool *pool, const void *ptr, live_ref *r, bool *waiting)
{
    size_t size;
    r->block = mp__addr(ptr) - (pool->debug ? mp__debug_front(pool->debug) : 0);
    const mp__span *span = ptr ? mp__span_find(pool->chunks, pool->nchunks, r->block) : NULL;
    *waiting = span && mp__stream_waiting(&pool->pending, r->block);
    if (!span || *waiting || !span->arena->strategy->lookup(span->arena->state, span->chunk, r->block, &size, &r->info))
        return false;
    r->chunk = span->chunk;
    r->arena = span->arena;
    r->room = size - (pool->debug ? mp__debug_overhead(pool->debug) : 0);
    r->usable = pool->debug && pool->debug->guards ? r->info.requested : r->room;
    return true;
}

mp_status mp_pool_usable_size(const mp_pool *handle, const void *ptr, size_t *out_size)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    if (!out_size)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_size is NULL");
    if (!ptr)
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': ptr is NULL", pool->name);
    live_ref r;
    bool waiting;
    mp__lock_acquire(&pool->lock);
    if (!find_live(pool, ptr, &r, &waiting))
        return refuse_locked(pool, ptr, waiting);
    mp__lock_release(&pool->lock);
    *out_size = r.usable;
    return MP_OK;
}

/* The flags that allocate from arena a. */
static mp_alloc_flags flags_of(const mp__pool *pool, const mp__arena *a)
{
    for (int f = MP_ALLOC_NONE; f <= MP_ALLOC_MANAGED; f++)
        if (&pool->arena[pool->arena_of_flag[f]] == a)
            return (mp_alloc_flags)f;
    return MP_ALLOC_NONE; /* every arena in use has a flag */
}

/* Copies n bytes between blocks of arena a: on the host, or on the pool's
 * stream (after the work queued there), waiting for it. */
static mp_status copy_between(const mp__arena *a, int device, void *stream, void *dst, void *src, size_t n)
{
    if (!a->backend->host_accessible)
        return mp__cuda_copy(device, stream, dst, src, n, MP__D2D);
    memmove(dst, src, n);
    return MP_OK;
}

/* A tracked block now holds size bytes, not old: the same allocation, so
 * nothing is counted but the bytes, which move by the difference. */
static void count_resize(mp__pool *pool, size_t old, size_t size)
{
    mp__counters *c = &pool->counters;
    c->current = c->current - old + size;
    if (size > old)
        c->total += size - old;
    if (c->current > c->peak)
        c->peak = c->current;
}

/* Resizes r's block to size bytes where it lies, if the pool can; false
 * has it moved. A block whose record holds no size that changes (neither
 * tracked nor debugged, or resized to the size recorded) just takes the
 * new size. Otherwise the record must be rewritten: by the strategy's
 * retag (variable pools; false for want of memory: the block moves), else
 * as a release and an alloc, which is safe when the strategy is uniform
 * (any free block serves any request, so the alloc cannot fail once one is
 * free) and its free stack LIFO (fixed.c: the block just released comes
 * back; test_realloc checks it). A debug pool's guards are re-laid either
 * way. Caller holds the lock. */
static bool resize_in_place(mp__pool *pool, const live_ref *r, size_t size, void **out)
{
    mp__arena *a = r->arena;
    const mp__strategy *st = a->strategy;
    size_t front = pool->debug ? mp__debug_front(pool->debug) : 0;
    if (size > r->room)
        return false;
    bool recorded = r->info.tracked || pool->debug; /* the record holds the size asked for */
    if (!recorded || size == r->info.requested) {
        if (tooled(pool, a) && !recorded)
            mp__tool_resize((void *)r->block, r->room, size);
        *out = (void *)(r->block + front);
        return true;
    }
    mp__blockinfo old = r->info, info = {size, r->info.seq, r->info.tracked};
    if (st->retag) {
        if (!st->retag(a->state, r->chunk, r->block, &info))
            return false; /* no memory for the record: moving may still work */
    } else if (st->uniform) {
        st->release(a->state, r->chunk, r->block, &old, NULL);
        void *block = st->alloc(a->state, size + (pool->debug ? mp__debug_overhead(pool->debug) : 0), &info, NULL);
        MP__ASSERT(mp__addr(block) == r->block); /* uniform and LIFO */
        (void)block;
    } else {
        return false;
    }
    if (old.tracked)
        count_resize(pool, old.requested, size);
    if (pool->debug)
        mp__debug_on_resize(pool->debug, r->block, old.requested, size);
    else if (tooled(pool, a))
        mp__tool_resize((void *)r->block, r->room, size);
    *out = (void *)(r->block + front);
    return true;
}

mp_status mp_pool_reallocate(mp_pool *handle, void *ptr, size_t new_size, void **out_ptr)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    if (!out_ptr)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_ptr is NULL");
    void *p;
    if (!ptr) {
        if ((s = allocate(handle, new_size, MP_ALLOC_NONE, &p)) == MP_OK)
            *out_ptr = p;
        return s;
    }
    if (new_size == 0)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': reallocating %p to 0 bytes; free it with "
                        "mp_pool_deallocate", pool->name, ptr);
    live_ref r;
    bool waiting;
    mp__lock_acquire(&pool->lock);
    if (!find_live(pool, ptr, &r, &waiting))
        return refuse_locked(pool, ptr, waiting);
    if (pool->debug && (s = mp__debug_check_block(pool->debug, pool->name, r.block, &r.info)) != MP_OK) {
        mp__lock_release(&pool->lock);
        return s;
    }
    if (resize_in_place(pool, &r, new_size, &p)) {
        mp__lock_release(&pool->lock);
        *out_ptr = p;
        return MP_OK;
    }
    /* Moving: the bytes the caller may have written are the usable size
     * it could read (mp_pool_usable_size; SQLite's xSize writes up to
     * it), not only those it asked for. */
    size_t n = r.usable < new_size ? r.usable : new_size;
    bool tools = tooled(pool, r.arena);
    uint64_t resets = pool->resets;
    mp__lock_release(&pool->lock);
    if ((s = allocate(handle, new_size, flags_of(pool, r.arena), &p)) != MP_OK)
        return s; /* the old block as it was */
    /* The allocation may have run the pool's hooks, which may call back in:
     * the old block must still be the same live allocation (no reset; for
     * a tracked block, the same sequence number) before it is read. */
    live_ref now;
    mp__lock_acquire(&pool->lock);
    if (pool->resets != resets || !find_live(pool, ptr, &now, &waiting) || now.info.seq != r.info.seq ||
        now.info.tracked != r.info.tracked) {
        mp__lock_release(&pool->lock);
        mp_pool_deallocate(handle, p);
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': %p was freed, or the pool reset, by a hook that ran "
                        "while reallocating it; nothing was copied", pool->name, ptr);
    }
    if (tools)
        mp__tool_read_begin(ptr, n);
    s = copy_between(r.arena, pool->device, pool->stream, p, ptr, n);
    if (tools)
        mp__tool_read_end(ptr, n);
    mp__lock_release(&pool->lock);
    /* The old block passed every check above: its free fails only if
     * another thread freed it meanwhile, a race of the caller's. */
    if (s == MP_OK)
        s = mp_pool_deallocate(handle, ptr);
    if (s != MP_OK) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", mp_last_error_message());
        mp_pool_deallocate(handle, p);
        return mp__fail(s, "%s", detail);
    }
    *out_ptr = p;
    return MP_OK;
}

/* ---- whole-pool operations -------------------------------------------- */

mp_status mp_pool_reset(mp_pool *handle)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    if (pool->lf)
        mp__lf_enter();
    mp__lock_acquire(&pool->lock);
    /* Blocks freed on other streams go back first, the pool's stream made
     * to wait for that work (stream.c's steal). Where a wait fails the host
     * waits for the device; where that fails too, those blocks may still be
     * in use, and the reset stops here: live blocks stay live. */
    if (pool->pending.count)
        steal_waiting(pool);
    if (pool->pending.count && (s = mp__cuda_device_sync(pool->device)) != MP_OK) {
        mp__lock_release(&pool->lock);
        if (pool->lf)
            mp__lf_leave();
        return mp__fail_cause(s, "pool '%s' was not reset: blocks freed on streams whose work the pool could not "
                                 "wait for may still be in use there", pool->name);
    }
    pool->resets++;
    if (pool->lf)
        mp__lf_reset(pool->lf);
    /* Every block is free from here in the pool stream's order (the
     * strategy's reset below frees them); other streams order after it at
     * their next allocation. */
    mp__stream_forget(&pool->pending);
    pool->ordered++;
    tools_forget_live(pool);
    for (int i = 0; i < MP__ARENAS; i++)
        if (pool->arena[i].state)
            pool->arena[i].strategy->reset(pool->arena[i].state);
    for (size_t i = 0; i < pool->nchunks; i++)
        if (pool->chunks[i].chunk->backed) /* mapped and idle, for reuse or the next release */
            mp__backing_forget(&pool->backing, pool->chunks[i].chunk);
    for (size_t i = 0; i < pool->nchunks; i++)
        if (tooled(pool, pool->chunks[i].chunk->arena))
            mp__tool_chunk_added(pool->chunks[i].chunk->extent.base, pool->chunks[i].size);
    mp__stats_on_reset(&pool->counters);
    if (pool->lf && pool->counting) { /* the caches' part: no call runs (the reset's contract) */
        mp__tally t;
        mp__lf_tally(pool->lf, &t);
        mp__stats_on_reset_cached(&pool->cached_adj, &t);
        atomic_store_explicit(&pool->gauge.now, 0, memory_order_relaxed); /* mp__lf_reset marked the bins */
    }
    mp__lock_release(&pool->lock);
    if (pool->lf)
        mp__lf_leave();
    return MP_OK;
}

/* Releases idle chunks while more than keep bytes stay reserved (keep 0:
 * all idle chunks); returns why idle memory could not be unmapped, if it
 * could not. Caller holds the lock. */
static mp_status trim_locked(mp__pool *pool, size_t keep)
{
    mp_status s = MP_OK;
    poll_streams(pool);
    for (int i = 0; i < MP__ARENAS; i++)
        if (pool->arena[i].state && pool->arena[i].strategy->flush)
            pool->arena[i].strategy->flush(pool->arena[i].state);
    if (pool->backing.idle && pool->reserved > keep) { /* memory behind no block first, address space second */
        size_t over = pool->reserved - keep;
        s = reclaim_idle(pool, pool->backing.idle > over ? pool->backing.idle - over : 0);
    }
    for (size_t i = pool->nchunks; i-- > 0 && (pool->reserved > keep || keep == 0);) {
        mp__chunk *c = pool->chunks[i].chunk;
        /* an on-demand chunk goes once nothing in it is mapped (reclaim_idle waited for the stream) */
        if (pool->reserved - c->mapped >= keep && !(c->backed && c->mapped) &&
            c->arena->strategy->idle(c->arena->state, c))
            drop_chunk(pool, c);
    }
    return s;
}

mp_status mp_pool_trim(mp_pool *handle, size_t keep_bytes)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    if (pool->lf) { /* the caller's cache and the magazines: other threads' caches stay */
        mp__lf_enter(); /* stats wait for the whole drain: never half-counted blocks */
        mp__lf_drain(pool->lf);
        mp__lf_leave();
    }
    mp__lock_acquire(&pool->lock);
    s = trim_locked(pool, keep_bytes); /* a failed wait for the device: the idle memory stays mapped */
    mp__lock_release(&pool->lock);
    return s;
}

static void foreach_live(mp__pool *pool, mp__live_fn fn, void *ctx)
{
    for (int i = 0; i < MP__ARENAS; i++)
        if (pool->arena[i].state)
            pool->arena[i].strategy->foreach_live(pool->arena[i].state, fn, ctx);
}

/* What the strategies of every arena say, summed (largest_free: the
 * largest of any). Caller holds the lock. */
static mp__usage usage_locked(mp__pool *pool)
{
    mp__usage sum = {0};
    for (int i = 0; i < MP__ARENAS; i++) {
        mp__usage u = {0};
        if (!pool->arena[i].state)
            continue;
        pool->arena[i].strategy->usage(pool->arena[i].state, &u);
        sum.free_bytes += u.free_bytes;
        sum.class_free += u.class_free;
        sum.live_blocks += u.live_blocks;
        if (u.largest_free > sum.largest_free)
            sum.largest_free = u.largest_free;
    }
    return sum;
}

/* The pool's counters: with caches counting, the sum of every part
 * (stats.h). Caller holds the lock (and mp__lf_enter when lf). */
static mp__counters counters_locked(mp__pool *pool)
{
    if (!pool->lf || !pool->counting)
        return pool->counters;
    mp__tally t;
    mp__lf_tally(pool->lf, &t);
    mp__counters c = mp__stats_sum(&pool->counters, &t, &pool->cached_adj, &pool->gauge);
    mp__gauge_raise(&pool->gauge, c.current); /* the peak is never below a current seen */
    return c;
}

/* mp_stats.fragmentation_ratio (its doc): 1 - largest / open free bytes
 * over the chunks that hold a block, 0 while the user holds none. u sums
 * every chunk; only when some chunks are wholly free and others not are
 * the others walked one by one (chunk_usage: O(blocks in them)). Caller
 * holds the lock. */
static double fragmentation_locked(mp__pool *pool, const mp__usage *u, size_t user_live)
{
    if (!user_live || pool->arena[0].strategy->uniform)
        return 0.0;
    size_t open = u->free_bytes - u->class_free, largest = u->largest_free, idle = 0;
    for (size_t i = 0; i < pool->nchunks; i++) {
        const mp__chunk *c = pool->chunks[i].chunk;
        idle += c->arena->strategy->idle(c->arena->state, c);
    }
    if (idle && idle < pool->nchunks) {
        mp__class_usage classes[MP__CLASSES_MAX + 1];
        memset(classes, 0, sizeof classes);
        open = largest = 0;
        for (size_t i = 0; i < pool->nchunks; i++) {
            const mp__chunk *c = pool->chunks[i].chunk;
            mp__chunk_usage cu;
            if (c->arena->strategy->idle(c->arena->state, c))
                continue;
            c->arena->strategy->chunk_usage(c->arena->state, c, &cu, classes);
            open += cu.free_bytes;
            if (cu.largest_free > largest)
                largest = cu.largest_free;
        }
    }
    return open ? 1.0 - (double)largest / (double)open : 0.0;
}

/* The pool's totals. Caller holds the lock (and mp__lf_enter when lf). */
static void totals_locked(mp__pool *pool, mp__pool_totals *t)
{
    mp__usage u = usage_locked(pool);
    size_t free_bytes = u.free_bytes, largest = u.largest_free, live = u.live_blocks;
    if (pool->lf) { /* cached blocks are live to the strategy, free to the user */
        size_t blocks, bytes;
        mp__lf_cached(pool->lf, &blocks, &bytes);
        /* Exact when no other thread is inside the pool; a cache moving a
         * batch meanwhile may be counted on both sides: never below zero. */
        live = live > blocks ? live - blocks : 0;
        free_bytes += bytes;
    }
    if (free_bytes > pool->reserved)
        free_bytes = pool->reserved;
    bool uniform = pool->arena[0].strategy->uniform;
    *t = (mp__pool_totals){
        .counters = counters_locked(pool),
        .reserved = pool->reserved,
        .peak_reserved = pool->peak_reserved,
        .chunks = pool->nchunks,
        .free_bytes = free_bytes,
        .largest_free = uniform ? free_bytes : largest,
        .live_blocks = live > pool->pending.count ? live - pool->pending.count : 0,
        .in_use = pool->reserved - free_bytes,
        .pending = pool->pending.count,
        .initial_size = pool->cfg.initial_size,
    };
    t->fragmentation = fragmentation_locked(pool, &u, t->live_blocks);
}

void mp__pool_totals_get(mp__pool *pool, mp__pool_totals *t)
{
    if (pool->lf)
        mp__lf_enter();
    mp__lock_acquire(&pool->lock);
    poll_streams(pool); /* stream frees wait until the pool looks: the figures say what is pending now */
    totals_locked(pool, t);
    mp__lock_release(&pool->lock);
    if (pool->lf)
        mp__lf_leave();
}

/* ---- memory snapshots (snapshot.h) ---------------------------------------- */

/* The pool's memory (mp__pool_view_get). Caller holds the lock; mp__lf_enter
 * too, for exact thread-cache counts. */
static void view_locked(mp__pool *pool, mp__pool_view *v, mp__chunk_fn each_chunk, void *ctx,
                        mp__class_views *classes)
{
    mp__usage u = usage_locked(pool);
    size_t cached_blocks = 0, cached_bytes = 0, strategy_live = u.live_blocks;
    if (pool->lf)
        mp__lf_cached(pool->lf, &cached_blocks, &cached_bytes);
    *v = (mp__pool_view){
        .type = pool->type,
        .backend = pool->arena[0].backend->kind,
        .reserved = pool->reserved,
        .peak_reserved = pool->peak_reserved,
        .idle = pool->backing.idle,
        .max_size = pool->cfg.max_size,
        .nchunks = pool->nchunks,
        .free_bytes = u.free_bytes,
        .cached_blocks = cached_blocks,
        .cached_bytes = cached_bytes,
        .pending_blocks = pool->pending.count,
        .pending_bytes = pool->pending.bytes,
    };
    /* Cached and waiting blocks are live to the strategy; a cache moving
     * a batch meanwhile may be counted on both sides: never below zero. */
    v->live_blocks = strategy_live > cached_blocks + v->pending_blocks ? strategy_live - cached_blocks - v->pending_blocks
                                                                       : 0;
    if (classes)
        memset(classes, 0, sizeof *classes);
    for (size_t i = 0; i < pool->nchunks; i++) {
        const mp__chunk *c = pool->chunks[i].chunk;
        mp__chunk_view cv = {.base = c->span.base, .size = c->span.size, .mapped = c->mapped,
                             .idle = c->backed ? mp__backing_idle_of(c) : 0, .backend = c->arena->backend->kind};
        c->arena->strategy->chunk_usage(c->arena->state, c, &cv.usage, classes ? classes->strategy : NULL);
        v->address_space += cv.size;
        if (cv.usage.largest_free > v->largest_free)
            v->largest_free = cv.usage.largest_free;
        if (each_chunk)
            each_chunk(ctx, &cv);
    }
    if (classes && pool->lf) {
        _Static_assert(MP__VIEW_TC_CLASSES == MP__TC_CLASSES_MAX + 1, "a view holds every cache class");
        classes->tc_n = pool->lf->nclasses;
        memcpy(classes->tc_size, pool->lf->cls_size, sizeof classes->tc_size);
        mp__lf_cached_classes(pool->lf, classes->tc_cached);
    }
}

void mp__pool_view_get(mp__pool *pool, mp__pool_view *v, mp__chunk_fn each_chunk, void *ctx, mp__class_views *classes)
{
    if (pool->lf)
        mp__lf_enter();
    mp__lock_acquire(&pool->lock);
    poll_streams(pool); /* as the totals: what waits is what may still be in use now */
    view_locked(pool, v, each_chunk, ctx, classes);
    mp__lock_release(&pool->lock);
    if (pool->lf)
        mp__lf_leave();
}

mp_status mp__pool_last_oom(mp__pool *pool, mp__oom_record *out)
{
    mp_status s = MP_OK;
    mp__lock_acquire(&pool->lock);
    if (pool->oom_lost)
        s = mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': an allocation failed, but no host memory could be had to "
                     "record the pool's state then", pool->name);
    else if (!pool->oom)
        s = mp__fail(MP_ERR_NOT_FOUND, "pool '%s': no allocation has failed since it was created or its stats "
                     "were reset", pool->name);
    else
        *out = *pool->oom;
    mp__lock_release(&pool->lock);
    return s;
}

/* ---- what the pool's clients read and set (pool.h) ----------------------- */

mp_pool *mp__pool_handle(const mp__pool *pool) { return pool->handle; }
const char *mp__pool_name(const mp__pool *pool) { return pool->name; }
mp_memory_type mp__pool_type(const mp__pool *pool) { return pool->type; }
mp_backend_kind mp__pool_backend(const mp__pool *pool) { return pool->arena[0].backend->kind; }
bool mp__pool_tracking(mp__pool *pool) { return pool->tracking || pool->counting; }
struct mp__lf *mp__pool_lf(const mp__pool *pool) { return pool->solo ? NULL : pool->lf; } /* solo: no thread's */

void mp__pool_describe(mp__pool *pool, mp__pool_desc *d)
{
    mp__lock_acquire(&pool->lock);
    *d = (mp__pool_desc){
        .name = pool->name,
        .type = pool->type,
        .strategy = pool->arena[0].strategy->name,
        .backend = pool->arena[0].backend->name,
        /* The mode in force: a LOCK_FREE pool with records or debugging runs under its lock. */
        .sync = !pool->cfg.thread_safe ? "none" : pool->lf ? "lock-free" : "mutex",
        .tracking = pool->tracking || pool->counting,
        .counters_only = pool->counting,
        .debug = pool->debug != NULL,
    };
    mp__lock_release(&pool->lock);
}

void mp__pool_reset_counters(mp__pool *pool)
{
    bool cached = pool->lf && pool->counting;
    if (cached)
        mp__lf_enter();
    mp__lock_acquire(&pool->lock);
    mp__counters *c = &pool->counters;
    if (cached) {
        mp__tally t;
        mp__lf_tally(pool->lf, &t);
        uint64_t now = mp__stats_sum(c, &t, &pool->cached_adj, &pool->gauge).current;
        mp__stats_restart_cached(&pool->cached_adj, &t);
        atomic_store_explicit(&pool->gauge.peak, now, memory_order_relaxed);
    }
    mp__stats_restart(c);
    pool->peak_reserved = pool->reserved;
    free(pool->oom);
    pool->oom = NULL;
    pool->oom_lost = false;
    mp__lock_release(&pool->lock);
    if (cached)
        mp__lf_leave();
}

mp_status mp__pool_set_tracking(mp__pool *pool, bool on)
{
    if (pool->counting)
        return on ? MP_OK : mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' keeps counters only (counters_only): "
                                     "it counts every block, and with no record per allocation it could not tell "
                                     "the counted ones apart, so tracking stays on", pool->name);
    if (on && pool->solo) { /* records are kept under the pool: its one thread's cache goes (thread_safe off: */
        mp__lf_drain(pool->lf); /* no other call runs) and its blocks go back to the strategy */
        mp__lf_free(pool->lf);
        pool->lf = NULL;
        pool->solo = NULL;
    }
    if (on && pool->lf)
        return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' runs lock-free (MP_SYNC_LOCK_FREE, created with "
                        "track_stats off): tracking needs a record per allocation, kept under the lock; create "
                        "the pool with track_stats on to track it (or counters_only for counters alone)",
                        pool->name);
    mp_status s = MP_OK;
    mp__lock_acquire(&pool->lock);
    for (int i = 0; s == MP_OK && i < MP__ARENAS; i++)
        if (pool->arena[i].state && pool->arena[i].strategy->keep_info)
            s = pool->arena[i].strategy->keep_info(pool->arena[i].state, on);
    if (s == MP_OK) {
        pool->tracking = on;
        pool->numbered = on || pool->debug;
        pool->params.keep_info = on || pool->debug;
    }
    mp__lock_release(&pool->lock);
    return s;
}

typedef struct collect {
    mp_allocation_info *recs;
    size_t n, cap;
    size_t front;
    const mp__stream_queue *pending;
} collect;

static void collect_one(void *ctx, uintptr_t block, size_t block_size, const mp__blockinfo *info)
{
    (void)block_size;
    collect *c = ctx;
    if (info->tracked && c->n < c->cap && !mp__stream_waiting(c->pending, block))
        c->recs[c->n++] = (mp_allocation_info){sizeof(mp_allocation_info), (void *)(block + c->front),
                                               info->requested, info->seq};
}

/* The tracked live blocks as records (mp__pool_tracked). Caller holds the
 * lock. */
static mp_status tracked_locked(mp__pool *pool, mp_allocation_info **out, size_t *count)
{
    collect c = {NULL, 0, pool->counters.tracked_live, pool->debug ? mp__debug_front(pool->debug) : 0,
                 &pool->pending};
    if (c.cap && !(c.recs = malloc(c.cap * sizeof *c.recs)))
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory to list %zu allocations", pool->name, c.cap);
    foreach_live(pool, collect_one, &c);
    *out = c.recs;
    *count = c.n;
    return MP_OK;
}

mp_status mp__pool_tracked(mp__pool *pool, mp_allocation_info **out, size_t *count)
{
    if (pool->counting)
        return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' keeps counters only (counters_only): it has no "
                        "record per allocation to list; create it with counters_only off to list its "
                        "allocations", pool->name);
    mp__lock_acquire(&pool->lock);
    mp_status s = tracked_locked(pool, out, count);
    mp__lock_release(&pool->lock);
    return s;
}

mp_status mp__pool_totals_and_tracked(mp__pool *pool, mp__pool_totals *t, bool *tracking, mp_allocation_info **out,
                                      size_t *count)
{
    mp_status s = MP_OK;
    *out = NULL;
    *count = 0;
    if (pool->lf)
        mp__lf_enter();
    mp__lock_acquire(&pool->lock);
    poll_streams(pool);
    totals_locked(pool, t);
    *tracking = pool->tracking || pool->counting;
    if (!pool->counting) /* a counters-only pool keeps no record */
        s = tracked_locked(pool, out, count);
    mp__lock_release(&pool->lock);
    if (pool->lf)
        mp__lf_leave();
    return s;
}

mp_status mp__pool_set_device(mp__pool *pool, int device)
{
    /* Blocks the user freed into the caller's cache and the magazines are
     * free to the user and live to the strategy: back to it first, as a
     * trim does. Other threads' caches stay (their blocks are named below). */
    size_t cached = 0, cached_bytes = 0;
    if (pool->lf) {
        mp__lf_enter();
        mp__lf_drain(pool->lf);
        mp__lf_cached(pool->lf, &cached, &cached_bytes);
        mp__lf_leave();
    }
    mp__lock_acquire(&pool->lock);
    poll_streams(pool); /* stream frees wait until the pool looks: which have their streams passed? */
    size_t live = usage_locked(pool).live_blocks; /* cached and waiting blocks too: they sit on the device */
    if (live > 0) {
        size_t waiting = pool->pending.count;
        mp__lock_release(&pool->lock);
        if (waiting)
            return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' has %zu live blocks on device %d, %zu of them "
                            "freed on streams still busy; synchronise those streams (or free the rest) first",
                            pool->name, live, pool->device, waiting);
        if (cached)
            return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' has %zu live blocks on device %d, %zu of them "
                            "freed into other threads' caches; call mp_pool_trim on those threads, or "
                            "mp_pool_reset (a forked child: those threads are gone), first",
                            pool->name, live, pool->device, cached);
        return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' has %zu live blocks on device %d; free them first",
                        pool->name, live, pool->device);
    }
    mp_status s = trim_locked(pool, 0);
    if (pool->nchunks) { /* memory still mapped: the wait for the pool's stream before unmapping failed */
        char why[300];
        snprintf(why, sizeof why, "%s", s != MP_OK ? mp_last_error_message() : "no chunk went idle");
        size_t left = pool->reserved;
        mp__lock_release(&pool->lock);
        return mp__fail(s != MP_OK ? s : MP_ERR_INVALID_OPERATION, "pool '%s' could not give back device %d's "
                        "memory (%zu bytes still reserved: %s); it stays there", pool->name, pool->device, left, why);
    }
    mp__stream_forget(&pool->pending); /* no block waits (none is live), but the streams' events are the old device's */
    drop_marks(&pool->backing, pool->backing.nmarks); /* so are the idle-memory boundaries' */
    pool->device = device;
    if (!pool->arena[0].nchunks) /* the new device may map on demand where the old could not, or not */
        pool->arena[0].on_demand = on_demand(pool, &pool->arena[0]);
    mp__lock_release(&pool->lock);
    return MP_OK;
}

void mp__pool_placement(mp__pool *pool, int *device, void **stream)
{
    mp__lock_acquire(&pool->lock);
    if (device)
        *device = pool->device;
    if (stream)
        *stream = pool->stream;
    mp__lock_release(&pool->lock);
}

/* A block freed on stream and waiting there (stream.c), taken back by an
 * allocation of size bytes on the same stream: the stream's own order
 * covers it, so no CUDA call and no fence. A block much larger than asked
 * for is cut, the rest waiting on in its place. Not in debug pools, whose
 * guards a free rewrites. NULL when no waiting block fits. Caller holds the
 * lock. */
static void *reuse_on_stream(mp__pool *pool, size_t size, void *stream)
{
    mp__arena *a = &pool->arena[pool->arena_of_flag[MP_ALLOC_NONE]];
    mp__blockinfo info = plain_info(pool, size);
    const mp__pending *p = mp__stream_find(&pool->pending, stream, a, info.requested);
    if (!p)
        return NULL;
    info.seq = pool->numbered ? ++pool->next_seq : 0;
    /* The front of the run (blocks pack towards low addresses, as the
     * strategy's best fit does); a rest worth keeping waits on. */
    size_t take = mp__align_up(info.requested, pool->params.unit);
    const mp__blockinfo rest = {p->bytes - take, 0, false};
    if (p->bytes - take > take / 8 && a->strategy->split &&
        a->strategy->split(a->state, p->chunk, p->block, take, &info, &rest)) {
        if (a->on_demand)
            mp__backing_split(&pool->backing, p->chunk, p->block + take);
    } else if (a->strategy->retag(a->state, p->chunk, p->block, &info)) {
        take = p->bytes;
    } else {
        return NULL; /* no memory for the record: the block waits for its stream */
    }
    void *out = (void *)p->block;
    mp__stream_take(&pool->pending, stream, p, take);
    on_allocated(pool, a, &info, size, &out);
    return out;
}

/* A block for stream that the pool could not order after its own stream
 * goes back: the caller gets the reason. */
static mp_status unordered(mp_pool *handle, mp__pool *pool, void *block, mp_status s)
{
    char detail[400];
    snprintf(detail, sizeof detail, "%s", mp_last_error_message());
    mp_pool_deallocate(handle, block);
    return mp__fail(s, "pool '%s': the block could not be ordered after the pool's stream: %s", pool->name, detail);
}

mp_status mp__pool_allocate_on_stream(mp_pool *handle, mp__pool *pool, size_t size, void *stream, void **out_ptr)
{
    mp_status s = MP_OK;
    /* A plainly valid request of a pool without guards, while blocks wait
     * on its stream: one of those first, as cudaMallocAsync does. None
     * fits: every waiting block goes back (the pool's stream made to wait
     * for their streams), so that they join their free neighbours before
     * the strategy places this one. Left in their lanes until memory ran
     * short, they split the free space, and a training loop's pool crept
     * up a step at a time (the multi-stream trace: 138 MiB after the first
     * pass, 162 after four; 124 and 124 this way, for a wait a steal).
     * Then the strategy, and the fence, under the same lock. */
    if (out_ptr && size - 1 < MP__MAX_REQUEST && !pool->debug && !(pool->one_size && size > pool->cfg.block_size)) {
        mp__lock_acquire(&pool->lock);
        void *block = NULL;
        bool mine = stream == pool->stream;
        if (pool->pending.count && !mine && !(block = reuse_on_stream(pool, size, stream)))
            steal_waiting(pool);
        else if (block)
            mine = true; /* its own stream's order covers it */
        if (!block && size - 1 < pool->plain_max)
            block = plain_locked(pool, size);
        if (block && !mine)
            s = mp__stream_fence(&pool->pending, pool->device, pool->stream, stream, pool->ordered);
        mp__lock_release(&pool->lock);
        if (block) {
            if (s != MP_OK)
                return unordered(handle, pool, block, s);
            *out_ptr = block;
            return MP_OK;
        }
    }
    /* Past the thread caches: a cached block's free was counted nowhere.
     * Then the fence, taken after the allocation: the epoch can only have
     * moved on since the block's own free, so a fence skipped at the
     * current epoch was made after it (stream.c). */
    s = allocate_locked(handle, pool, size, 0, MP_ALLOC_NONE, out_ptr);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&pool->lock);
    if (stream != pool->stream)
        s = mp__stream_fence(&pool->pending, pool->device, pool->stream, stream, pool->ordered);
    mp__lock_release(&pool->lock);
    if (s != MP_OK) {
        void *block = *out_ptr;
        *out_ptr = NULL;
        return unordered(handle, pool, block, s);
    }
    return MP_OK;
}

void mp__pool_set_release_threshold(mp__pool *pool, size_t bytes)
{
    mp__lock_acquire(&pool->lock);
    pool->backing.threshold = bytes;
    if (pool->backing.idle > bytes)
        auto_release(pool);
    mp__lock_release(&pool->lock);
}

size_t mp__pool_release_threshold(mp__pool *pool)
{
    mp__lock_acquire(&pool->lock);
    size_t t = pool->backing.threshold;
    mp__lock_release(&pool->lock);
    return t;
}

/* Blocks freed in the old stream's order are free in the new one's only
 * behind the old stream's work: the new stream waits for it (or, where no
 * event can be had, the host does), and the ordered-free epoch moves, so
 * other streams wait for the new one at their next allocation. */
mp_status mp__pool_set_stream(mp__pool *pool, void *stream)
{
    mp_status s = MP_OK;
    mp__lock_acquire(&pool->lock);
    if (stream != pool->stream) {
        void *ev = NULL;
        s = mp__cuda_event_record(pool->device, pool->stream, &ev);
        if (s == MP_OK) {
            s = mp__cuda_stream_wait(pool->device, stream, ev);
            mp__cuda_event_drop(ev);
        }
        if (s != MP_OK)
            s = mp__cuda_stream_sync(pool->device, pool->stream);
        if (s == MP_OK) {
            pool->ordered++;
            pool->stream = stream;
        } else { /* nothing orders the new stream after the old one's work: the old stream stays */
            s = mp__fail_cause(s, "pool '%s' keeps its stream: the new one could not be ordered after the old one's "
                                  "work", pool->name);
        }
    }
    mp__lock_release(&pool->lock);
    return s;
}

mp_status mp__pool_free_on_stream(mp__pool *pool, void *ptr, void *stream)
{
    mp__lock_acquire(&pool->lock);
    bool own = stream == pool->stream;
    mp__lock_release(&pool->lock);
    return free_block(pool, ptr, !own, stream);
}

mp__hooks *mp__pool_swap_hooks(mp__pool *pool, mp__hooks *next)
{
    mp__lock_acquire(&pool->lock);
    mp__hooks *old = mp__hooks_swap(&pool->hooks, next);
    mp__lock_release(&pool->lock);
    return old;
}

mp__hooks *mp__pool_hooks_enter(mp__pool *pool, mp__pool_totals *t)
{
    if (pool->lf)
        mp__lf_enter();
    mp__lock_acquire(&pool->lock);
    totals_locked(pool, t);
    mp__hooks *h = mp__hooks_enter(&pool->hooks);
    mp__lock_release(&pool->lock);
    if (pool->lf)
        mp__lf_leave();
    return h;
}

void mp__pool_hooks_leave(mp__pool *pool, mp__hooks *hooks) { mp__hooks_leave(&pool->hooks, hooks); }

struct mp__tcache *mp__pool_bypass(mp__pool *pool)
{
    mp__lock_acquire(&pool->lock);
    if (!pool->bypass)
        pool->bypass = mp__tc_bypass_new(pool->handle);
    mp__tcache *tc = pool->bypass;
    mp__lock_release(&pool->lock);
    return tc;
}

/* ---- queries ---------------------------------------------------------- */

#define QUERY(handle, pool, out, what)                                                             \
    mp__pool *pool;                                                                                \
    mp_status s_ = mp__pool_get(handle, &pool);                                                    \
    if (s_ != MP_OK)                                                                               \
        return s_;                                                                                 \
    if (!(out))                                                                                    \
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s is NULL", what)

mp_status mp_pool_get_memory_type(const mp_pool *handle, mp_memory_type *out_type)
{
    QUERY(handle, pool, out_type, "out_type");
    *out_type = pool->type;
    return MP_OK;
}

mp_status mp_pool_get_backend(const mp_pool *handle, mp_backend_kind *out_kind)
{
    QUERY(handle, pool, out_kind, "out_kind");
    *out_kind = pool->arena[0].backend->kind;
    return MP_OK;
}

mp_status mp_pool_get_name(const mp_pool *handle, const char **out_name)
{
    QUERY(handle, pool, out_name, "out_name");
    *out_name = pool->name;
    return MP_OK;
}

mp_status mp_pool_get_config(const mp_pool *handle, mp_config *config)
{
    mp__pool *p;
    mp_status s = mp__pool_get(handle, &p);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&p->lock); /* the device may be changing */
    mp_config c = p->cfg;
    c.device_id = p->device;
    mp__lock_release(&p->lock);
    return mp__struct_out(config, &c, MP__CONFIG_SIZE_1_0, sizeof c, "config");
}

mp_status mp_pool_owns(const mp_pool *handle, const void *ptr, bool *out_owned)
{
    QUERY(handle, p, out_owned, "out_owned");
    live_ref r;
    bool waiting;
    mp__lock_acquire(&p->lock);
    *out_owned = find_live(p, ptr, &r, &waiting);
    mp__lock_release(&p->lock);
    return MP_OK;
}

typedef struct guard_scan {
    const mp__pool *pool;
    mp_status status;
} guard_scan;

static void scan_guards(void *ctx, uintptr_t block, size_t block_size, const mp__blockinfo *info)
{
    (void)block_size;
    guard_scan *g = ctx;
    if (g->status == MP_OK)
        g->status = mp__debug_check_block(g->pool->debug, g->pool->name, block, info);
}

mp_status mp_pool_check(const mp_pool *handle)
{
    mp__pool *p;
    mp_status s = mp__pool_get(handle, &p);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&p->lock);
    size_t sum = 0, idle = 0;
    for (size_t i = 0; s == MP_OK && i < p->nchunks; i++) {
        const mp__span *c = &p->chunks[i];
        sum += c->chunk->mapped;
        if (i > 0 && c[-1].base + c[-1].size > c->base)
            s = mp__fail(MP_ERR_CORRUPTION, "pool '%s': chunks %zu and %zu overlap", p->name, i - 1, i);
        else if (c->chunk->backed && !mp__backed_check(c->chunk, &idle))
            s = mp__fail(MP_ERR_CORRUPTION, "pool '%s': chunk %zu counts %zu mapped bytes, its granules say otherwise",
                         p->name, i, c->chunk->mapped);
    }
    if (s == MP_OK && idle != p->backing.idle)
        s = mp__fail(MP_ERR_CORRUPTION, "pool '%s': %zu idle mapped bytes counted, %zu found", p->name,
                     p->backing.idle, idle);
    if (s == MP_OK && sum != p->reserved)
        s = mp__fail(MP_ERR_CORRUPTION, "pool '%s': chunks hold %zu bytes but %zu are counted", p->name, sum,
                     p->reserved);
    for (int i = 0; s == MP_OK && i < MP__ARENAS; i++)
        if (p->arena[i].state)
            s = p->arena[i].strategy->check(p->arena[i].state);
    if (s == MP_OK && p->debug) {
        guard_scan g = {p, MP_OK};
        foreach_live(p, scan_guards, &g);
        s = g.status;
    }
    mp__lock_release(&p->lock);
    return s;
}
