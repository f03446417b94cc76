/* Statistics: snapshots, tracking, live-allocation records, leak checks and
 * the text and JSON views. Everything here runs under the pool's lock and
 * off the fast path; the fast path only bumps counters (stats.h). */
#include "core/pool.h"
#include "stats/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void from_totals(const mp__pool_totals *tp, mp_stats *stats)
{
    const mp__pool_totals t = *tp;
    const mp__counters *c = &t.counters;
    *stats = (mp_stats){
        .struct_size = sizeof(mp_stats),
        .total_allocated = c->total,
        .current_used = c->current,
        .peak_usage = c->peak,
        .allocation_count = c->allocs,
        .deallocation_count = c->frees,
        .fragmentation_ratio = t.fragmentation,
        .reserved_bytes = t.reserved,
        .chunk_count = t.chunks,
        .failed_allocations = c->failed,
        .live_allocations = t.live_blocks,
        .pending_frees = t.pending,
        .peak_reserved_bytes = t.peak_reserved,
    };
}

static void snapshot(mp__pool *pool, mp_stats *stats)
{
    mp__pool_totals t;
    mp__pool_totals_get(pool, &t);
    from_totals(&t, stats);
}

mp_status mp__pool_copy_stats(mp__pool *pool, mp_stats *stats, uint64_t *tracked_live, bool *tracking,
                              mp_allocation_info **recs, size_t *count)
{
    mp__pool_totals t;
    mp_status s = mp__pool_totals_and_tracked(pool, &t, tracking, recs, count);
    if (s == MP_OK) {
        from_totals(&t, stats);
        *tracked_live = t.counters.tracked_live;
    }
    return s;
}

static mp_status locked_snapshot(const mp_pool *handle, mp_stats *stats)
{
    mp__pool *p;
    mp_status s = mp__pool_get(handle, &p);
    if (s == MP_OK)
        snapshot(p, stats);
    return s;
}

mp_status mp_pool_get_stats(const mp_pool *pool, mp_stats *out_stats)
{
    mp_stats stats;
    mp_status s = locked_snapshot(pool, &stats);
    return s == MP_OK ? mp__struct_out(out_stats, &stats, MP__STATS_SIZE_1_0, sizeof stats, "out_stats") : s;
}

mp_status mp_pool_reset_stats(mp_pool *handle)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s == MP_OK)
        mp__pool_reset_counters(pool);
    return s;
}

mp_status mp_pool_set_tracking(mp_pool *handle, bool enabled)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    return s == MP_OK ? mp__pool_set_tracking(pool, enabled) : s;
}

mp_status mp_pool_get_tracking(const mp_pool *handle, bool *out_enabled)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    if (!out_enabled)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_enabled is NULL");
    *out_enabled = mp__pool_tracking(pool);
    return MP_OK;
}

mp_status mp_pool_has_leaks(const mp_pool *pool, bool *out_leaks)
{
    if (!out_leaks && mp__pool_of(pool))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_leaks is NULL");
    mp_stats stats;
    mp_status s = locked_snapshot(pool, &stats);
    if (s == MP_OK)
        *out_leaks = stats.live_allocations > 0;
    return s;
}

/* ---- live allocation records ------------------------------------------ */

static int by_sequence(const void *a, const void *b)
{
    uint64_t x = ((const mp_allocation_info *)a)->sequence, y = ((const mp_allocation_info *)b)->sequence;
    return (x > y) - (x < y);
}

mp_status mp__allocations_out(const char *owner, mp_allocation_info *recs, size_t count, mp_allocation_info *out,
                              size_t capacity, size_t *out_count)
{
    size_t stride;
    mp_status s = mp__records_in(out, capacity, MP__ALLOCINFO_SIZE_1_0, "out", "mp_allocation_info", &stride);
    if (s == MP_OK) {
        if (count > 1) /* (qsort takes no NULL array, even empty) */
            qsort(recs, count, sizeof *recs, by_sequence);
        size_t n = count < capacity ? count : capacity;
        for (size_t i = 0; i < n; i++)
            mp__record_out(out, stride, i, &recs[i], sizeof *recs);
        *out_count = count;
        if (count > capacity && out)
            s = mp__fail(MP_ERR_BUFFER_TOO_SMALL, "%s has %zu live allocations; out holds %zu", owner, count,
                         capacity);
    }
    free(recs);
    return s;
}

mp_status mp_pool_get_allocations(const mp_pool *handle, mp_allocation_info *out, size_t capacity, size_t *out_count)
{
    mp__pool *p;
    mp_status s = mp__pool_get(handle, &p);
    if (s != MP_OK)
        return s;
    if (!out_count)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_count is NULL");
    if ((s = mp__records_in(out, capacity, MP__ALLOCINFO_SIZE_1_0, "out", "mp_allocation_info", &(size_t){0})) != MP_OK)
        return s; /* before the records are gathered */
    mp_allocation_info *recs;
    size_t count;
    if ((s = mp__pool_tracked(p, &recs, &count)) != MP_OK)
        return s;
    char owner[MP_NAME_MAX + 8];
    snprintf(owner, sizeof owner, "pool '%s'", mp__pool_name(p));
    return mp__allocations_out(owner, recs, count, out, capacity, out_count);
}

/* ---- text and JSON ---------------------------------------------------- */

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

int mp__pool_head(char **out, const mp__pool_desc *a, bool json)
{
    if (!json)
        return asprintf(out, "pool '%s': %s, %s-size, %s memory, sync %s, tracking %s%s\n", a->name,
                        a->type == MP_MEMORY_GPU ? "gpu" : "cpu", a->strategy, a->backend, a->sync,
                        a->counters_only ? "on (counters only)" : a->tracking ? "on" : "off", a->debug ? ", debug" : "");
    char name[2 * MP_NAME_MAX + 1];
    mp__json_name(name, a->name);
    return asprintf(out,
                    "\"name\":\"%s\",\"memory_type\":\"%s\",\"allocator\":\"%s\",\"backend\":\"%s\","
                    "\"sync\":\"%s\",\"tracking\":%s,\"counters_only\":%s,\"debug\":%s",
                    name, a->type == MP_MEMORY_GPU ? "gpu" : "cpu", a->strategy, a->backend, a->sync,
                    a->tracking ? "true" : "false", a->counters_only ? "true" : "false", a->debug ? "true" : "false");
}

/* The pool's own part of both forms (mp__pool_head); the counters' part is
 * generated from mp_stats' description (format.h). */
static int format_with(char **out, const mp__pool_desc *a, const mp_stats *stats, bool json)
{
    char *head;
    if (mp__pool_head(&head, a, json) < 0)
        return -1;
    int n = json ? mp__stats_json(out, head, stats) : mp__stats_text(out, head, stats);
    free(head);
    return n;
}

static int format_text(char **out, const mp__pool_desc *a, const mp_stats *stats)
{
    return format_with(out, a, stats, false);
}

static int format_json(char **out, const mp__pool_desc *a, const mp_stats *stats)
{
    return format_with(out, a, stats, true);
}

static mp_status render(const mp_pool *handle, char **out, const char *out_name,
                        int (*format)(char **, const mp__pool_desc *, const mp_stats *))
{
    mp__pool *pool = mp__pool_of(handle);
    if (!out && pool)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s is NULL", out_name);
    mp_stats stats;
    mp_status s = locked_snapshot(handle, &stats);
    if (s != MP_OK)
        return s;
    mp__pool_desc desc;
    mp__pool_describe(pool, &desc);
    char *text;
    if (format(&text, &desc, &stats) < 0) /* asprintf leaves text undefined then */
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory for its stats text", desc.name);
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
