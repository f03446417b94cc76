/* Statistics: snapshots, tracking, live-allocation records, leak checks and
 * the text and JSON views. Everything here runs under the pool's lock and
 * off the fast path; the fast path only bumps counters (stats.h). */
#include "core/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void snapshot(mp__pool *pool, mp_stats *st)
{
    size_t free_bytes = 0, largest = 0, live = 0;
    for (int i = 0; i < MP__ARENAS; i++) {
        if (!pool->arena[i].st)
            continue;
        mp__usage u;
        pool->strategy->usage(pool->arena[i].st, &u);
        free_bytes += u.free_bytes;
        live += u.live_blocks;
        if (u.largest_free > largest)
            largest = u.largest_free;
    }
    if (pool->lf) { /* cached blocks are live to the strategy, free to the user */
        size_t blocks, bytes;
        mp__lf_cached(pool, &blocks, &bytes);
        live -= blocks;
        free_bytes += bytes;
    }
    const mp__counters *c = &pool->counters;
    *st = (mp_stats){
        .struct_size = sizeof(mp_stats),
        .total_allocated = c->total,
        .current_used = c->current,
        .peak_usage = c->peak,
        .allocation_count = c->allocs,
        .deallocation_count = c->frees,
        .fragmentation_ratio =
            pool->strategy->uniform || free_bytes == 0 ? 0.0 : 1.0 - (double)largest / (double)free_bytes,
        .reserved_bytes = pool->reserved,
        .chunk_count = pool->nchunks,
        .failed_allocations = c->failed,
        .live_allocations = live - pool->pending.count,
        .pending_frees = pool->pending.count,
    };
}

static mp_status locked_snapshot(const mp_pool *handle, mp_stats *st)
{
    mp__pool *p;
    mp_status s = mp__pool_get(handle, &p);
    if (s != MP_OK)
        return s;
    if (p->lf)
        mp__lf_enter();
    mp__lock_acquire(&p->lock);
    snapshot(p, st);
    mp__lock_release(&p->lock);
    if (p->lf)
        mp__lf_leave();
    return MP_OK;
}

mp_status mp_pool_get_stats(const mp_pool *pool, mp_stats *out_stats)
{
    mp_stats st;
    mp_status s = locked_snapshot(pool, &st);
    return s == MP_OK ? mp__struct_out(out_stats, &st, MP__STATS_SIZE_1_0, sizeof st, "out_stats") : s;
}

mp_status mp_pool_reset_stats(mp_pool *handle)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&pool->lock);
    mp__counters *c = &pool->counters;
    c->total = c->allocs = c->frees = c->failed = 0;
    c->peak = c->current;
    mp__lock_release(&pool->lock);
    return MP_OK;
}

mp_status mp_pool_set_tracking(mp_pool *handle, bool enabled)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    if (enabled && pool->lf)
        return mp__fail(MP_ERR_INVALID_OPERATION, "pool '%s' runs lock-free (MP_SYNC_LOCK_FREE, created with "
                        "track_stats off): tracking needs a record per allocation, kept under the lock; create "
                        "the pool with track_stats on to track it", pool->name);
    mp__lock_acquire(&pool->lock);
    for (int i = 0; s == MP_OK && i < MP__ARENAS; i++)
        if (pool->arena[i].st && pool->strategy->keep_info)
            s = pool->strategy->keep_info(pool->arena[i].st, enabled);
    if (s == MP_OK) {
        pool->tracking = enabled;
        pool->params.keep_info = enabled || pool->debug;
    }
    mp__lock_release(&pool->lock);
    return s;
}

mp_status mp_pool_get_tracking(const mp_pool *handle, bool *out_enabled)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    if (!out_enabled)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_enabled is NULL");
    *out_enabled = pool->tracking;
    return MP_OK;
}

mp_status mp_pool_has_leaks(const mp_pool *pool, bool *out_leaks)
{
    if (!out_leaks && mp__pool_of(pool))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_leaks is NULL");
    mp_stats st;
    mp_status s = locked_snapshot(pool, &st);
    if (s == MP_OK)
        *out_leaks = st.live_allocations > 0;
    return s;
}

/* ---- live allocation records ------------------------------------------ */

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

static int by_sequence(const void *a, const void *b)
{
    uint64_t x = ((const mp_allocation_info *)a)->sequence, y = ((const mp_allocation_info *)b)->sequence;
    return (x > y) - (x < y);
}

mp_status mp_pool_get_allocations(const mp_pool *handle, mp_allocation_info *out, size_t capacity, size_t *out_count)
{
    mp__pool *p;
    mp_status s = mp__pool_get(handle, &p);
    if (s != MP_OK)
        return s;
    if (!out_count)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_count is NULL");
    if (!out && capacity > 0)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out is NULL but capacity is %zu", capacity);
    size_t stride = out ? out->struct_size : 0;
    if (out && (stride < MP__ALLOCINFO_SIZE_1_0 || stride > 4096))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out->struct_size is %zu; set it to sizeof(mp_allocation_info)", stride);

    mp__lock_acquire(&p->lock);
    collect c = {NULL, 0, p->counters.tracked_live, p->debug ? mp__debug_front(p->debug) : 0, &p->pending};
    if (c.cap && !(c.recs = malloc(c.cap * sizeof *c.recs))) {
        mp__lock_release(&p->lock);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory to list %zu allocations", p->name, c.cap);
    }
    mp__pool_foreach_live(p, collect_one, &c);
    mp__lock_release(&p->lock);

    qsort(c.recs, c.n, sizeof *c.recs, by_sequence);
    size_t n = c.n < capacity ? c.n : capacity;
    for (size_t i = 0; i < n; i++) {
        char *dst = (char *)out + i * stride;
        memcpy(dst, &c.recs[i], stride < sizeof *c.recs ? stride : sizeof *c.recs);
        if (stride > sizeof *c.recs)
            memset(dst + sizeof *c.recs, 0, stride - sizeof *c.recs);
        *(size_t *)dst = stride;
    }
    free(c.recs);
    *out_count = c.n;
    if (c.n > capacity && out)
        return mp__fail(MP_ERR_BUFFER_TOO_SMALL, "pool '%s' has %zu live allocations; out holds %zu", p->name, c.n,
                        capacity);
    return MP_OK;
}

/* ---- text and JSON ---------------------------------------------------- */

static const char *sync_name(const mp__pool *p)
{
    if (!p->cfg.thread_safe)
        return "none";
    return p->cfg.sync_type == MP_SYNC_LOCK_FREE ? "lock-free" : "mutex";
}

/* A ratio in [0, 1] as "0.123456", whatever LC_NUMERIC says. */
static void ratio_text(char buf[32], double r)
{
    unsigned long long m = (unsigned long long)(r * 1e6 + 0.5);
    snprintf(buf, 32, "%llu.%06llu", m / 1000000, m % 1000000);
}

/* Writes name as a JSON string body (quotes and backslashes escaped). */
void mp__json_name(char *dst, const char *name)
{
    for (; *name; name++) {
        if (*name == '"' || *name == '\\')
            *dst++ = '\\';
        *dst++ = *name;
    }
    *dst = 0;
}

typedef unsigned long long ull;

static int format_text(char **out, const mp__pool *p, const mp_stats *st, const char *ratio)
{
    return asprintf(out,
                    "pool '%s': %s, %s-size, %s memory, sync %s, tracking %s%s\n"
                    "  in use:        %llu bytes in %llu allocations (peak %llu)\n"
                    "  lifetime:      %llu allocations, %llu deallocations, %llu bytes, %llu failed\n"
                    "  reserved:      %llu bytes in %llu chunks\n"
                    "  fragmentation: %s\n",
                    p->name, p->type == MP_MEMORY_GPU ? "gpu" : "cpu", p->strategy->name, p->arena[0].backend->name,
                    sync_name(p), p->tracking ? "on" : "off", p->debug ? ", debug" : "", (ull)st->current_used,
                    (ull)st->live_allocations, (ull)st->peak_usage, (ull)st->allocation_count,
                    (ull)st->deallocation_count, (ull)st->total_allocated, (ull)st->failed_allocations,
                    (ull)st->reserved_bytes, (ull)st->chunk_count, ratio);
}

static int format_json(char **out, const mp__pool *p, const mp_stats *st, const char *ratio)
{
    char name[2 * MP_NAME_MAX + 1];
    mp__json_name(name, p->name);
    return asprintf(out,
                    "{\"name\":\"%s\",\"memory_type\":\"%s\",\"allocator\":\"%s\",\"backend\":\"%s\","
                    "\"sync\":\"%s\",\"tracking\":%s,\"debug\":%s,\"total_allocated\":%llu,"
                    "\"current_used\":%llu,\"peak_usage\":%llu,\"allocation_count\":%llu,"
                    "\"deallocation_count\":%llu,\"fragmentation_ratio\":%s,\"reserved_bytes\":%llu,"
                    "\"chunk_count\":%llu,\"failed_allocations\":%llu,\"live_allocations\":%llu}",
                    name, p->type == MP_MEMORY_GPU ? "gpu" : "cpu", p->strategy->name, p->arena[0].backend->name,
                    sync_name(p), p->tracking ? "true" : "false", p->debug ? "true" : "false",
                    (ull)st->total_allocated, (ull)st->current_used, (ull)st->peak_usage, (ull)st->allocation_count,
                    (ull)st->deallocation_count, ratio, (ull)st->reserved_bytes, (ull)st->chunk_count,
                    (ull)st->failed_allocations, (ull)st->live_allocations);
}

static mp_status render(const mp_pool *handle, char **out, const char *out_name,
                        int (*format)(char **, const mp__pool *, const mp_stats *, const char *))
{
    mp__pool *pool = mp__pool_of(handle);
    if (!out && pool)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s is NULL", out_name);
    mp_stats st;
    mp_status s = locked_snapshot(handle, &st);
    if (s != MP_OK)
        return s;
    char ratio[32];
    ratio_text(ratio, st.fragmentation_ratio);
    char *text;
    if (format(&text, pool, &st, ratio) < 0) /* asprintf leaves text undefined then */
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory for its stats text", pool->name);
    *out = text;
    return MP_OK;
}

mp_status mp_pool_stats_string(const mp_pool *pool, char **out_string)
{
    return render(pool, out_string, "out_string", format_text);
}

mp_status mp_pool_stats_json(const mp_pool *pool, char **out_json)
{
    return render(pool, out_json, "out_json", format_json);
}
