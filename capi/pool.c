/* Pool composition: one strategy carving chunks from one backend per arena,
 * behind one lock, with stats and the debug layer around the fast path.
 *
 * The chunk table (every arena's chunks sorted by address) answers "which
 * chunk holds this pointer" in O(log chunks); growth is geometric, so the
 * table stays short. Every entry point validates all of its input before it
 * changes anything: a rejected call leaves the pool as it was. */
#include "cuda_rt.h"
#include "instrument.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mp_status mp__pool_check_handle(const mp_pool *pool)
{
    if (!pool)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool is NULL");
    if (pool->magic != MP__POOL_MAGIC)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%p is not a live mempool pool handle", (const void *)pool);
    return MP_OK;
}

mp_status mp__check_name(const char *name)
{
    if (!name)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool name is NULL");
    size_t n = strnlen(name, MP_NAME_MAX + 1);
    if (n == 0 || n > MP_NAME_MAX)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool name must be 1 to %d bytes long", MP_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool name has a control character at byte %zu", i);
    return MP_OK;
}

/* ---- tools (instrument.h) ---------------------------------------------- */

/* Whether the tools are told about this arena's blocks. */
static inline bool tooled(const mp_pool *pool, const mp__arena *a)
{
    return !pool->debug && a->backend->host_accessible;
}

static void forget_block(void *ctx, uintptr_t block, size_t block_size, const mp__blockinfo *info)
{
    (void)ctx;
    (void)info;
    mp__tool_free((void *)block, block_size);
}

/* Every live block of the tooled arenas is about to vanish at once. */
static void tools_forget_live(mp_pool *pool)
{
    if (!mp__tool_valgrind())
        return; /* ASan needs no walk: the chunks are poisoned whole */
    for (int i = 0; i < MP__ARENAS; i++)
        if (pool->arena[i].st && tooled(pool, &pool->arena[i]))
            pool->strategy->foreach_live(pool->arena[i].st, forget_block, NULL);
}

/* ---- chunk table ------------------------------------------------------ */

mp__chunk *mp__pool_find_chunk(const mp_pool *pool, uintptr_t a)
{
    size_t lo = 0, hi = pool->nchunks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pool->chunks[mid]->base <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    mp__chunk *c = pool->chunks[lo - 1];
    return a - c->base < c->size ? c : NULL;
}

static bool table_insert(mp_pool *pool, mp__chunk *c)
{
    bool ok;
    pool->chunks = mp__grow(pool->chunks, &pool->chunks_cap, pool->nchunks + 1, sizeof *pool->chunks, &ok);
    if (!ok)
        return false;
    size_t i = pool->nchunks;
    while (i > 0 && pool->chunks[i - 1]->base > c->base) {
        pool->chunks[i] = pool->chunks[i - 1];
        i--;
    }
    pool->chunks[i] = c;
    pool->nchunks++;
    return true;
}

static void table_remove(mp_pool *pool, mp__chunk *c)
{
    for (size_t i = 0; i < pool->nchunks; i++) {
        if (pool->chunks[i] == c) {
            memmove(&pool->chunks[i], &pool->chunks[i + 1], (pool->nchunks - i - 1) * sizeof *pool->chunks);
            pool->nchunks--;
            return;
        }
    }
}

/* ---- growth ----------------------------------------------------------- */

static size_t chunk_alignment(const mp_pool *pool)
{
    size_t a = pool->cfg.alignment;
    return a < MP_DEFAULT_GPU_ALIGNMENT ? MP_DEFAULT_GPU_ALIGNMENT : a;
}

static mp_status add_chunk(mp_pool *pool, mp__arena *a, size_t size)
{
    mp__extent ext;
    mp_status s = a->backend->reserve(pool->device, size, chunk_alignment(pool), &ext);
    if (s != MP_OK)
        return s;
    mp__chunk *c = calloc(1, sizeof *c);
    if (c) {
        c->base = mp__addr(ext.base);
        c->size = size;
        c->extent = ext;
        c->arena = a;
    }
    if (!c || !table_insert(pool, c)) { /* the table is sorted by base: set it first */
        free(c);
        a->backend->release(pool->device, &ext);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory for a chunk record", pool->name);
    }
    s = pool->strategy->attach(a->st, c);
    if (s != MP_OK) {
        table_remove(pool, c);
        a->backend->release(pool->device, &ext);
        free(c);
        return s;
    }
    pool->reserved += size;
    a->last_chunk = size;
    a->nchunks++;
    if (tooled(pool, a))
        mp__tool_chunk_added(ext.base, size);
    if (pool->lf)
        mp__lf_publish(pool);
    return MP_OK;
}

static void drop_chunk(mp_pool *pool, mp__chunk *c)
{
    mp__arena *a = c->arena;
    pool->strategy->detach(a->st, c);
    table_remove(pool, c);
    if (pool->lf)
        mp__lf_publish(pool); /* before the chunk record goes */
    if (tooled(pool, a))
        mp__tool_chunk_removed(c->extent.base, c->size);
    a->backend->release(pool->device, &c->extent);
    pool->reserved -= c->size;
    if (--a->nchunks == 0)
        a->last_chunk = 0;
    free(c);
}

static size_t mul_sat(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

/* Adds a chunk able to serve `need` bytes: `want` bytes (0: the previous
 * chunk times growth_factor, initial_size first), clipped to max_size; if
 * the backend cannot supply that much, exactly `need`. */
static mp_status grow(mp_pool *pool, mp__arena *a, size_t need, size_t want)
{
    if (!want)
        want = a->last_chunk ? mul_sat(a->last_chunk, pool->cfg.growth_factor) : pool->cfg.initial_size;
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

/* The slow path of an allocation: grow (by what the policy's grow hook
 * says, else by growth_factor) and, if that fails, let the on_oom hook make
 * room once. Hooks run with the lock released, on a copy of the policy.
 * Called and returns with the lock held. */
static mp_status allocate_slow(mp_pool *pool, mp__arena *a, size_t need, size_t size, const mp__blockinfo *info,
                               void **out)
{
    size_t chunk = pool->strategy->chunk_size_for(a->st, need), want = 0;
    char detail[256] = "";
    mp_policy pol = pool->policy;
    mp_status s = MP_OK;
    if (pol.grow) {
        mp__lock_release(&pool->lock);
        s = pol.grow(pol.user, pool, chunk, &want, detail, sizeof detail);
        mp__lock_acquire(&pool->lock);
        if ((*out = pool->strategy->alloc(a->st, need, info)))
            return MP_OK; /* another thread freed room meanwhile */
        if (s != MP_OK)
            s = mp__fail(s, "pool '%s': the growth policy refused %zu bytes: %s", pool->name, chunk, detail);
        else if (want < chunk)
            s = mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': the growth policy offered %zu bytes, %zu are needed",
                         pool->name, want, chunk);
    }
    if (s == MP_OK)
        s = grow(pool, a, chunk, want);
    if (s == MP_OK && (*out = pool->strategy->alloc(a->st, need, info)))
        return MP_OK;
    if (s == MP_OK)
        s = mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory for bookkeeping", pool->name);
    if (pol.on_oom) {
        char last_detail[512];
        snprintf(last_detail, sizeof last_detail, "%s", mp_last_error_message());
        detail[0] = 0;
        mp__lock_release(&pool->lock);
        mp_status h = pol.on_oom(pol.user, pool, size, detail, sizeof detail);
        mp__lock_acquire(&pool->lock);
        if (h == MP_ERR_OUT_OF_MEMORY) /* declined: the first failure stands */
            return mp__fail(s, "%s", last_detail);
        if (h != MP_OK)
            return mp__fail(h, "pool '%s': %zu bytes failed and the out-of-memory policy failed: %s", pool->name,
                            size, detail);
        if ((*out = pool->strategy->alloc(a->st, need, info)) ||
            (grow(pool, a, chunk, 0) == MP_OK && (*out = pool->strategy->alloc(a->st, need, info))))
            return MP_OK;
    }
    return s;
}

/* ---- arenas ----------------------------------------------------------- */

static mp_status arena_open(mp_pool *pool, mp__arena *a, mp_backend_kind kind)
{
    a->backend = mp__backend_get(kind);
    a->st = pool->strategy->create(&pool->params);
    if (!a->st)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory for allocator state", pool->name);
    return MP_OK;
}

/* The arena serving flags, opened on first use. Caller holds the lock. */
static mp_status arena_for(mp_pool *pool, mp_alloc_flags flags, mp__arena **out)
{
    mp__arena *a = &pool->arena[pool->arena_of_flag[flags]];
    if (MP__LIKELY(a->st != NULL)) {
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

/* ---- life cycle ------------------------------------------------------- */

mp_status mp__pool_new(const char *name, mp_memory_type type, const mp_config *config, bool registry_owned,
                       mp_pool **out)
{
    mp_config cfg;
    mp_status s = mp__check_name(name);
    if (s == MP_OK)
        s = mp__config_read(config, &cfg);
    if (s == MP_OK)
        s = mp__config_check(&cfg, type);
    if (s != MP_OK)
        return s;
    mp_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for pool '%s'", name);
    strcpy(pool->name, name);
    pool->type = type;
    pool->registry_owned = registry_owned;
    pool->device = cfg.device_id;
    pool->tracking = cfg.track_stats;
    pool->strategy = cfg.allocator_type == MP_ALLOCATOR_FIXED_SIZE ? &mp__strategy_fixed : &mp__strategy_tlsf;
    mp_backend_kind kind = own_backend(&cfg, type);
    if (cfg.enable_debugging &&
        !(pool->debug = mp__debug_new(mp__backend_get(kind)->host_accessible, cfg.alignment))) {
        free(pool);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for the debug state of pool '%s'", name);
    }
    if (cfg.allocator_type == MP_ALLOCATOR_FIXED_SIZE)
        cfg.block_size = mp__align_up(cfg.block_size, cfg.alignment);
    size_t overhead = pool->debug ? mp__debug_overhead(pool->debug) : 0;
    pool->params.unit = cfg.alignment < 16 ? 16 : cfg.alignment;
    pool->params.stride = mp__align_up(cfg.block_size + overhead, cfg.alignment);
    pool->params.keep_info = cfg.track_stats || cfg.enable_debugging;
    pool->cfg = cfg;
    /* Lock-free: per-thread caches, when nothing needs a per-allocation
     * record (tracking and debugging keep one under the lock). */
    if (cfg.thread_safe && cfg.sync_type == MP_SYNC_LOCK_FREE && !cfg.track_stats && !pool->debug) {
        bool fixed = cfg.allocator_type == MP_ALLOCATOR_FIXED_SIZE;
        if (!(pool->lf = mp__lf_new(pool, fixed, pool->params.unit, pool->params.stride,
                                    mp__backend_get(kind)->host_accessible && mp__tools_on()))) {
            free(pool);
            return mp__fail(MP_ERR_OUT_OF_MEMORY, "no host memory for the thread caches of pool '%s'", name);
        }
        pool->params.state_map = true;
    }
    /* Flags pick an arena; a flag naming the pool's own kind uses its own. */
    pool->arena_of_flag[MP_ALLOC_NONE] = 0;
    pool->arena_of_flag[MP_ALLOC_PINNED] = kind == MP_BACKEND_CUDA_PINNED ? 0 : 1;
    pool->arena_of_flag[MP_ALLOC_MANAGED] = kind == MP_BACKEND_CUDA_MANAGED ? 0 : 2;
    s = mp__lock_init(&pool->lock, cfg.thread_safe, cfg.sync_type);
    if (s != MP_OK) {
        if (pool->lf)
            mp__lf_free(pool);
        free(pool->debug);
        free(pool);
        return s;
    }
    pool->magic = MP__POOL_MAGIC;
    s = arena_open(pool, &pool->arena[0], kind);
    if (s == MP_OK && cfg.initial_size > 0) {
        size_t least = pool->strategy->chunk_size_for(pool->arena[0].st, 1);
        s = add_chunk(pool, &pool->arena[0], cfg.initial_size > least ? cfg.initial_size : least);
    }
    if (s != MP_OK) {
        mp__pool_free(pool);
        return s;
    }
    mp__pools_track(pool);
    *out = pool;
    return MP_OK;
}

void mp__pool_free(mp_pool *pool)
{
    mp__pools_untrack(pool);
    if (pool->lf)
        mp__lf_free(pool);
    if (pool->policy.release)
        pool->policy.release(pool->policy.user);
    mp__stream_fini(&pool->pending);
    tools_forget_live(pool);
    while (pool->nchunks)
        drop_chunk(pool, pool->chunks[pool->nchunks - 1]);
    for (int i = 0; i < MP__ARENAS; i++)
        if (pool->arena[i].st)
            pool->strategy->destroy(pool->arena[i].st);
    free(pool->chunks);
    free(pool->debug);
    if (pool->bypass)
        pool->bypass->pub.magic = 0;
    free(pool->bypass);
    mp__lock_fini(&pool->lock);
    pool->magic = 0;
    free(pool);
}

mp_status mp_pool_create(const char *name, mp_memory_type memory_type, const mp_config *config, mp_pool **out_pool)
{
    if (!out_pool)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_pool is NULL");
    *out_pool = NULL;
    return mp__pool_new(name, memory_type, config, false, out_pool);
}

mp_status mp_pool_destroy(mp_pool *pool)
{
    mp_status s = mp__pool_check_handle(pool);
    if (s != MP_OK)
        return s;
    if (pool->registry_owned)
        return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' belongs to the registry; use mp_registry_destroy",
                        pool->name);
    mp__pool_free(pool);
    return MP_OK;
}

/* ---- allocate and free ------------------------------------------------ */

/* Everything but the lock-free fast path: every check with its message,
 * then the strategy under the lock. Kept out of line so that the fast path
 * pays no stack frame for it. */
static __attribute__((noinline)) mp_status allocate_locked(mp_pool *pool, size_t size, mp_alloc_flags flags,
                                                           void **out_ptr)
{
    mp_status s = mp__pool_check_handle(pool);
    if (MP__UNLIKELY(s != MP_OK))
        return s;
    if (MP__UNLIKELY(!out_ptr))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_ptr is NULL");
    *out_ptr = NULL;
    if (MP__UNLIKELY(size == 0))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': size 0 requested", pool->name);
    if (MP__UNLIKELY((unsigned)flags > MP_ALLOC_MANAGED))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': allocation flags %d are unknown", pool->name, (int)flags);
    if (MP__UNLIKELY(pool->cfg.allocator_type == MP_ALLOCATOR_FIXED_SIZE && size > pool->cfg.block_size))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool '%s': %zu bytes requested from a fixed pool of %zu-byte blocks",
                        pool->name, size, pool->cfg.block_size);
    if (MP__UNLIKELY(size > MP__MAX_REQUEST))
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': %zu bytes requested, beyond the 2^48-byte limit",
                        pool->name, size);

    mp__lock_acquire(&pool->lock);
    mp__arena *a;
    s = arena_for(pool, flags, &a);
    if (MP__UNLIKELY(s != MP_OK)) {
        mp__lock_release(&pool->lock);
        return s;
    }
    if (MP__UNLIKELY(pool->pending.count))
        mp__stream_poll(pool, false);
    size_t need = pool->debug ? size + mp__debug_overhead(pool->debug) : size;
    mp__blockinfo info = {size, ++pool->next_seq, pool->tracking};
    void *block = pool->strategy->alloc(a->st, need, &info);
    if (MP__UNLIKELY(!block) && pool->pending.count) {
        mp__stream_poll(pool, true); /* completed stream frees first, growth second */
        block = pool->strategy->alloc(a->st, need, &info);
    }
    if (MP__UNLIKELY(!block)) {
        s = allocate_slow(pool, a, need, size, &info, &block);
        if (s != MP_OK) {
            pool->counters.failed++;
            mp__lock_release(&pool->lock);
            return s;
        }
    }
    if (info.tracked)
        mp__stats_on_alloc(&pool->counters, size);
    if (pool->debug)
        block = mp__debug_on_alloc(pool->debug, mp__addr(block), size);
    else if (tooled(pool, a))
        mp__tool_alloc(block, size);
    mp__lock_release(&pool->lock);
    *out_ptr = block;
    return MP_OK;
}

/* The lock-free path (tcache.h), for plainly valid requests of a cached
 * class; errors and everything else take the locked path. The inline fast
 * half makes no call, so the common case costs no stack frame. */
static inline bool lock_free_request(const mp_pool *pool, size_t size, mp_alloc_flags flags, void **out_ptr)
{
    return MP__LIKELY(pool && out_ptr && flags == MP_ALLOC_NONE) && pool->magic == MP__POOL_MAGIC && pool->lf &&
           size - 1 < pool->lf->max_cached;
}

static __attribute__((noinline)) mp_status allocate_slow_half(mp_pool *pool, size_t size, mp_alloc_flags flags,
                                                              void **out_ptr)
{
    void *p = lock_free_request(pool, size, flags, out_ptr) ? mp__tc_alloc(pool, size) : NULL;
    if (p) {
        *out_ptr = p;
        return MP_OK;
    }
    return allocate_locked(pool, size, flags, out_ptr);
}

static inline mp_status allocate(mp_pool *pool, size_t size, mp_alloc_flags flags, void **out_ptr)
{
    if (lock_free_request(pool, size, flags, out_ptr)) {
        void *p = mp__tc_pop(pool->lf, size);
        if (MP__LIKELY(p != NULL)) {
            *out_ptr = p;
            return MP_OK;
        }
    }
    return allocate_slow_half(pool, size, flags, out_ptr);
}

mp_status mp_pool_allocate_flags(mp_pool *pool, size_t size, mp_alloc_flags flags, void **out_ptr)
{
    return allocate(pool, size, flags, out_ptr);
}

mp_status mp_pool_allocate(mp_pool *pool, size_t size, void **out_ptr)
{
    return allocate(pool, size, MP_ALLOC_NONE, out_ptr);
}

/* Says as precisely as it can why ptr is not a live block of pool. */
static mp_status bad_pointer(const mp_pool *pool, const void *ptr, bool inside, const mp__freed *freed)
{
    char owner[MP_NAME_MAX + 1];
    if (freed)
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': double free of %p (allocation #%llu, %zu bytes)",
                        pool->name, ptr, (unsigned long long)freed->seq, freed->size);
    if (inside)
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': %p is not the start of a live block (double free or "
                        "interior pointer)", pool->name, ptr);
    if (mp__pools_owner_of(pool, mp__addr(ptr), owner, sizeof owner))
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': %p belongs to pool '%s'", pool->name, ptr, owner);
    return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': %p was not allocated by this pool", pool->name, ptr);
}

mp_status mp__pool_free_block(mp_pool *pool, void *ptr, bool deferred, void *stream)
{
    mp_status s = mp__pool_check_handle(pool);
    if (MP__UNLIKELY(s != MP_OK))
        return s;
    if (MP__UNLIKELY(!ptr))
        return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': ptr is NULL", pool->name);
    uintptr_t block = mp__addr(ptr) - (pool->debug ? mp__debug_front(pool->debug) : 0);
    mp__blockinfo info;
    size_t block_size;

    mp__lock_acquire(&pool->lock);
    mp__chunk *c = mp__pool_find_chunk(pool, block);
    bool waiting = c && mp__stream_waiting(&pool->pending, block);
    bool live = c && !waiting &&
                (deferred ? pool->strategy->lookup(c->arena->st, c, block, &block_size, &info)
                          : pool->strategy->release(c->arena->st, c, block, &info) == MP_OK);
    if (MP__UNLIKELY(!live)) {
        mp__freed freed, *fp = NULL;
        if (pool->debug && mp__debug_find_freed(pool->debug, mp__addr(ptr))) {
            freed = *mp__debug_find_freed(pool->debug, mp__addr(ptr));
            fp = &freed;
        }
        bool inside = mp__pool_find_chunk(pool, mp__addr(ptr)) != NULL;
        mp__lock_release(&pool->lock);
        if (waiting)
            return mp__fail(MP_ERR_INVALID_POINTER, "pool '%s': double free of %p, already freed on a stream",
                            pool->name, ptr);
        return bad_pointer(pool, ptr, inside, fp);
    }
    if (deferred && (s = mp__stream_defer(pool, c, block, stream)) != MP_OK) {
        mp__lock_release(&pool->lock);
        return s; /* the block stays allocated */
    }
    uint8_t *st = deferred ? mp__chunk_state(c, block) : NULL;
    if (st) /* live, but off the thread caches' fast free while it waits */
        __atomic_store_n(st, MP__ST_LIVE, __ATOMIC_RELAXED);
    if (info.tracked)
        mp__stats_on_free(&pool->counters, info.requested);
    if (pool->debug)
        s = mp__debug_on_free(pool->debug, pool->name, block, &info);
    else if (tooled(pool, c->arena))
        mp__tool_free((void *)block, info.requested ? info.requested : pool->params.stride);
    mp__lock_release(&pool->lock);
    return s;
}

static __attribute__((noinline)) mp_status deallocate_slow_half(mp_pool *pool, void *ptr)
{
    if (pool && ptr && pool->magic == MP__POOL_MAGIC && pool->lf && mp__tc_free(pool, ptr))
        return MP_OK;
    return mp__pool_free_block(pool, ptr, false, NULL);
}

mp_status mp_pool_deallocate(mp_pool *pool, void *ptr)
{
    if (MP__LIKELY(pool && ptr) && pool->magic == MP__POOL_MAGIC && pool->lf && mp__tc_push(pool->lf, ptr))
        return MP_OK;
    return deallocate_slow_half(pool, ptr);
}

/* ---- whole-pool operations -------------------------------------------- */

mp_status mp_pool_reset(mp_pool *pool)
{
    mp_status s = mp__pool_check_handle(pool);
    if (s != MP_OK)
        return s;
    if (pool->lf)
        mp__lf_enter();
    mp__lock_acquire(&pool->lock);
    if (pool->lf)
        mp__lf_reset(pool);
    mp__stream_forget(&pool->pending);
    tools_forget_live(pool);
    for (int i = 0; i < MP__ARENAS; i++)
        if (pool->arena[i].st)
            pool->strategy->reset(pool->arena[i].st);
    for (size_t i = 0; i < pool->nchunks; i++)
        if (tooled(pool, pool->chunks[i]->arena))
            mp__tool_chunk_added(pool->chunks[i]->extent.base, pool->chunks[i]->size);
    mp__stats_on_reset(&pool->counters);
    mp__lock_release(&pool->lock);
    if (pool->lf)
        mp__lf_leave();
    return MP_OK;
}

void mp__pool_trim_locked(mp_pool *pool, size_t keep)
{
    mp__stream_poll(pool, true);
    if (pool->lf)
        mp__lf_drain(pool); /* the caller's cache and the magazines: other threads' caches stay */
    for (size_t i = pool->nchunks; i-- > 0 && pool->reserved > keep;) {
        mp__chunk *c = pool->chunks[i];
        if (pool->reserved - c->size >= keep && pool->strategy->idle(c->arena->st, c))
            drop_chunk(pool, c);
    }
}

mp_status mp_pool_trim(mp_pool *pool, size_t keep_bytes)
{
    mp_status s = mp__pool_check_handle(pool);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&pool->lock);
    mp__pool_trim_locked(pool, keep_bytes);
    mp__lock_release(&pool->lock);
    return MP_OK;
}

void mp__pool_foreach_live(mp_pool *pool, mp__live_fn fn, void *ctx)
{
    for (int i = 0; i < MP__ARENAS; i++)
        if (pool->arena[i].st)
            pool->strategy->foreach_live(pool->arena[i].st, fn, ctx);
}

/* ---- queries ---------------------------------------------------------- */

#define QUERY(pool, out, what)                                                                     \
    mp_status s_ = mp__pool_check_handle(pool);                                                    \
    if (s_ != MP_OK)                                                                               \
        return s_;                                                                                 \
    if (!(out))                                                                                    \
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s is NULL", what)

mp_status mp_pool_get_memory_type(const mp_pool *pool, mp_memory_type *out_type)
{
    QUERY(pool, out_type, "out_type");
    *out_type = pool->type;
    return MP_OK;
}

mp_status mp_pool_get_backend(const mp_pool *pool, mp_backend_kind *out_kind)
{
    QUERY(pool, out_kind, "out_kind");
    *out_kind = pool->arena[0].backend->kind;
    return MP_OK;
}

mp_status mp_pool_get_name(const mp_pool *pool, const char **out_name)
{
    QUERY(pool, out_name, "out_name");
    *out_name = pool->name;
    return MP_OK;
}

mp_status mp_pool_get_config(const mp_pool *pool, mp_config *config)
{
    mp_status s = mp__pool_check_handle(pool);
    if (s != MP_OK)
        return s;
    mp_pool *p = (mp_pool *)pool;
    mp__lock_acquire(&p->lock); /* the device may be changing */
    mp_config c = p->cfg;
    c.device_id = p->device;
    mp__lock_release(&p->lock);
    return mp__struct_out(config, &c, MP__CONFIG_SIZE_1_0, sizeof c, "config");
}

mp_status mp_pool_owns(const mp_pool *pool, const void *ptr, bool *out_owned)
{
    QUERY(pool, out_owned, "out_owned");
    mp_pool *p = (mp_pool *)pool;
    uintptr_t block = mp__addr(ptr) - (p->debug ? mp__debug_front(p->debug) : 0);
    size_t size;
    mp__blockinfo info;
    mp__lock_acquire(&p->lock);
    mp__chunk *c = ptr ? mp__pool_find_chunk(p, block) : NULL;
    *out_owned = c && !mp__stream_waiting(&p->pending, block) && p->strategy->lookup(c->arena->st, c, block, &size, &info);
    mp__lock_release(&p->lock);
    return MP_OK;
}

typedef struct guard_scan {
    const mp_pool *pool;
    mp_status status;
} guard_scan;

static void scan_guards(void *ctx, uintptr_t block, size_t block_size, const mp__blockinfo *info)
{
    (void)block_size;
    guard_scan *g = ctx;
    if (g->status == MP_OK)
        g->status = mp__debug_check_block(g->pool->debug, g->pool->name, block, info);
}

mp_status mp_pool_check(const mp_pool *pool)
{
    mp_status s = mp__pool_check_handle(pool);
    if (s != MP_OK)
        return s;
    mp_pool *p = (mp_pool *)pool;
    mp__lock_acquire(&p->lock);
    size_t sum = 0;
    for (size_t i = 0; s == MP_OK && i < p->nchunks; i++) {
        const mp__chunk *c = p->chunks[i];
        sum += c->size;
        if (i > 0 && p->chunks[i - 1]->base + p->chunks[i - 1]->size > c->base)
            s = mp__fail(MP_ERR_CORRUPTION, "pool '%s': chunks %zu and %zu overlap", p->name, i - 1, i);
    }
    if (s == MP_OK && sum != p->reserved)
        s = mp__fail(MP_ERR_CORRUPTION, "pool '%s': chunks hold %zu bytes but %zu are counted", p->name, sum,
                     p->reserved);
    for (int i = 0; s == MP_OK && i < MP__ARENAS; i++)
        if (p->arena[i].st)
            s = p->strategy->check(p->arena[i].st);
    if (s == MP_OK && p->debug) {
        guard_scan g = {p, MP_OK};
        mp__pool_foreach_live(p, scan_guards, &g);
        s = g.status;
    }
    mp__lock_release(&p->lock);
    return s;
}
