/* Memory snapshots: where a pool's memory is, now or when an allocation
 * last failed (mp_pool_memory_snapshot and its JSON).
 *
 * The pool fills a view under its lock (mp__pool_view_get: totals, each chunk
 * to a callback, the classes of its strategies and thread caches); this
 * file turns it into the public records. Chunk records go straight into the
 * caller's array (or the JSON text) from the callback, so a snapshot needs
 * no memory of its own and none from the pool. Classes are the strategies'
 * (small-block pages, a fixed pool's one size) merged by block size with
 * the thread caches' (the same spacing, classes.h), listing those with
 * pages or blocks.
 *
 * The last failure's record (oom.c) holds the view and the largest chunks
 * at that moment. */
#include "core/config.h"
#include "core/pool.h"
#include "stats/json_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- from views to the public records --------------------------------------- */

static mp_memory_snapshot snapshot_of(const mp__pool_view *v)
{
    return (mp_memory_snapshot){
        .struct_size = sizeof(mp_memory_snapshot),
        .reserved_bytes = v->reserved,
        .address_space_bytes = v->address_space,
        .idle_bytes = v->idle,
        .peak_reserved_bytes = v->peak_reserved,
        .max_size = v->max_size,
        .in_use_bytes = mp__view_in_use(v),
        .live_blocks = v->live_blocks,
        .free_bytes = v->free_bytes,
        .largest_free_block = v->largest_free,
        .cached_bytes = v->cached_bytes,
        .cached_blocks = v->cached_blocks,
        .pending_bytes = v->pending_bytes,
        .pending_blocks = v->pending_blocks,
        .chunk_count = v->nchunks,
        .memory_type = v->type,
        .backend = v->backend,
    };
}

static mp_chunk_info chunk_of(const mp__chunk_view *c)
{
    return (mp_chunk_info){
        .struct_size = sizeof(mp_chunk_info),
        .base = (void *)c->base,
        .size = c->size,
        .mapped_bytes = c->mapped,
        .idle_bytes = c->idle,
        .free_bytes = c->usage.free_bytes,
        .largest_free_block = c->usage.largest_free,
        .live_blocks = c->usage.live_blocks,
        .page_bytes = c->usage.page_bytes,
        .backend = c->backend,
    };
}

typedef void (*class_fn)(void *ctx, const mp_class_info *c);

/* Each class with pages or blocks, by block size, to fn; returns how many.
 * Both lists ascend: the strategy's by index (slab.c), the caches' too. */
static size_t each_class(const mp__class_views *cv, class_fn fn, void *ctx)
{
    size_t i = 1, j = 1, n = 0;
    for (;;) {
        while (i <= MP__CLASSES_MAX && cv->strategy[i].block_size == 0)
            i++;
        size_t a = i <= MP__CLASSES_MAX ? cv->strategy[i].block_size : SIZE_MAX;
        size_t b = j <= cv->tc_n ? cv->tc_size[j] : SIZE_MAX;
        if (a == SIZE_MAX && b == SIZE_MAX)
            return n;
        mp_class_info c = {.struct_size = sizeof c, .block_size = a < b ? a : b};
        if (a <= b) {
            const mp__class_usage *u = &cv->strategy[i++];
            c.pages = u->pages;
            c.page_bytes = u->page_bytes;
            c.used_blocks = u->used_blocks;
            c.free_blocks = u->free_blocks;
        }
        if (b <= a)
            c.cached_blocks = cv->tc_cached[j++];
        if (c.pages || c.used_blocks || c.free_blocks || c.cached_blocks) {
            fn(ctx, &c);
            n++;
        }
    }
}

/* ---- mp_pool_memory_snapshot ------------------------------------------------------ */

typedef struct records {
    void *array;
    size_t stride, capacity, n;
} records;

static void chunk_to_array(void *ctx, const mp__chunk_view *c)
{
    records *r = ctx;
    mp_chunk_info info = chunk_of(c);
    if (r->n < r->capacity)
        mp__record_out(r->array, r->stride, r->n, &info, sizeof info);
    r->n++;
}

static void class_to_array(void *ctx, const mp_class_info *c)
{
    records *r = ctx;
    if (r->n < r->capacity)
        mp__record_out(r->array, r->stride, r->n, c, sizeof *c);
    r->n++;
}

static mp_status check_kind(mp_snapshot_kind kind)
{
    if (kind != MP_SNAPSHOT_NOW && kind != MP_SNAPSHOT_LAST_OOM)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "kind %d is neither MP_SNAPSHOT_NOW nor MP_SNAPSHOT_LAST_OOM",
                        (int)kind);
    return MP_OK;
}

/* The snapshot of kind, each chunk record to chunk (in address order now;
 * the largest of the last failure) and each class to cls (none for the
 * failure), whatever form the caller writes them in; *r receives the
 * failure's record for MP_SNAPSHOT_LAST_OOM. */
static mp_status gather(mp__pool *pool, mp_snapshot_kind kind, mp__chunk_fn chunk, void *chunk_ctx, class_fn cls,
                        void *cls_ctx, mp_memory_snapshot *snap, mp__oom_record *r)
{
    if (kind == MP_SNAPSHOT_NOW) {
        mp__pool_view v;
        mp__class_views cv;
        mp__pool_view_get(pool, &v, chunk, chunk_ctx, &cv);
        *snap = snapshot_of(&v);
        snap->chunks_listed = v.nchunks;
        snap->class_count = each_class(&cv, cls, cls_ctx);
        return MP_OK;
    }
    mp_status s = mp__pool_last_oom(pool, r);
    if (s != MP_OK)
        return s;
    *snap = snapshot_of(&r->view);
    for (size_t i = 0; i < r->nlisted; i++)
        chunk(chunk_ctx, &r->chunks[i]);
    snap->chunks_listed = r->nlisted;
    snap->request_bytes = r->request;
    snap->request_alignment = r->alignment;
    return MP_OK;
}

mp_status mp_pool_memory_snapshot(const mp_pool *handle, mp_snapshot_kind kind, mp_memory_snapshot *out,
                                  mp_chunk_info *chunks, size_t chunk_capacity, mp_class_info *classes,
                                  size_t class_capacity)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s == MP_OK)
        s = check_kind(kind);
    if (s != MP_OK)
        return s;
    if (!out)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out is NULL");
    if (out->struct_size < MP__SNAPSHOT_SIZE_1_3 || out->struct_size > 4096)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out->struct_size is %zu; set it to sizeof(mp_memory_snapshot) "
                        "(%zu in this library)", out->struct_size, sizeof *out);
    records ch = {chunks, 0, chunk_capacity, 0}, cl = {classes, 0, class_capacity, 0};
    if ((s = mp__records_in(chunks, chunk_capacity, MP__CHUNKINFO_SIZE_1_3, "chunks", "mp_chunk_info",
                            &ch.stride)) != MP_OK ||
        (s = mp__records_in(classes, class_capacity, MP__CLASSINFO_SIZE_1_3, "classes", "mp_class_info",
                            &cl.stride)) != MP_OK)
        return s;

    mp_memory_snapshot snap;
    mp__oom_record r;
    if ((s = gather(pool, kind, chunk_to_array, &ch, class_to_array, &cl, &snap, &r)) != MP_OK)
        return s;
    s = mp__struct_out(out, &snap, MP__SNAPSHOT_SIZE_1_3, sizeof snap, "out");
    if (s == MP_OK && ((chunks && ch.n > chunk_capacity) || (classes && cl.n > class_capacity)))
        s = mp__fail(MP_ERR_BUFFER_TOO_SMALL, "pool '%s': the snapshot has %zu chunk and %zu class records; the "
                     "arrays hold %zu and %zu", mp__pool_name(pool), ch.n, cl.n, chunk_capacity, class_capacity);
    return s;
}

/* ---- its JSON ------------------------------------------------------------------ */

static void chunk_to_json(void *ctx, const mp__chunk_view *c)
{
    mp__text *t = ctx;
    mp_chunk_info info = chunk_of(c);
    mp__text_add(t, t->len ? ",{" : "{");
    mp__json_mp_chunk_info(t, &info);
    mp__text_add(t, "}");
}

static void class_to_json(void *ctx, const mp_class_info *c)
{
    mp__text *t = ctx;
    mp__text_add(t, t->len ? ",{" : "{");
    mp__json_mp_class_info(t, c);
    mp__text_add(t, "}");
}

mp_status mp_pool_memory_snapshot_json(const mp_pool *handle, mp_snapshot_kind kind, char **out_json)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s == MP_OK)
        s = check_kind(kind);
    if (s != MP_OK)
        return s;
    if (!out_json)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "out_json is NULL");
    mp__text t = {0}, chunks = {0}, classes = {0};
    mp_memory_snapshot snap;
    mp__oom_record r;
    if ((s = gather(pool, kind, chunk_to_json, &chunks, class_to_json, &classes, &snap, &r)) != MP_OK)
        return s;
    mp__text_add(&t, "{\"pool\":");
    mp__text_json_string(&t, mp__pool_name(pool));
    mp__text_add(&t, kind == MP_SNAPSHOT_NOW ? ",\"kind\":\"now\"," : ",\"kind\":\"last_oom\",");
    if (kind == MP_SNAPSHOT_LAST_OOM) {
        mp__text_addf(&t, "\"status\":\"%s\",\"detail\":", mp_status_name(r.status));
        mp__text_json_string(&t, r.detail);
        mp__text_add(&t, ",");
    }
    mp__json_mp_memory_snapshot(&t, &snap);
    char *c = mp__text_take(&chunks), *k = mp__text_take(&classes);
    mp__text_addf(&t, ",\"chunks\":[%s],\"classes\":[%s]}", c ? c : "", k ? k : "");
    char *json = mp__text_take(&t);
    bool ok = json && c && k;
    free(c);
    free(k);
    if (!ok) {
        free(json);
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no host memory for the snapshot's JSON", mp__pool_name(pool));
    }
    *out_json = json;
    return MP_OK;
}

/* ---- as text (mp_stats_print) ----------------------------------------------------- */

typedef struct text_lists {
    mp__text chunks, classes;
} text_lists;

static void chunk_to_text(void *ctx, const mp__chunk_view *c)
{
    text_lists *l = ctx;
    mp_chunk_info i = chunk_of(c);
    mp__text_addf(&l->chunks, "    chunk 0x%llx: %llu bytes, %llu mapped, %llu idle, %llu free (largest %llu), "
                  "%llu live blocks, %llu in pages\n", (unsigned long long)(uintptr_t)i.base,
                  (unsigned long long)i.size, (unsigned long long)i.mapped_bytes, (unsigned long long)i.idle_bytes,
                  (unsigned long long)i.free_bytes, (unsigned long long)i.largest_free_block,
                  (unsigned long long)i.live_blocks, (unsigned long long)i.page_bytes);
}

static void class_to_text(void *ctx, const mp_class_info *c)
{
    text_lists *l = ctx;
    mp__text_addf(&l->classes, "    class %llu: %llu pages (%llu bytes), %llu used, %llu free, %llu cached\n",
                  (unsigned long long)c->block_size, (unsigned long long)c->pages,
                  (unsigned long long)c->page_bytes, (unsigned long long)c->used_blocks,
                  (unsigned long long)c->free_blocks, (unsigned long long)c->cached_blocks);
}

void mp__snapshot_text(mp__pool *pool, mp__text *t)
{
    text_lists l = {{0}, {0}};
    mp__pool_view v;
    mp__class_views cv;
    mp__pool_view_get(pool, &v, chunk_to_text, &l, &cv);
    size_t nclasses = each_class(&cv, class_to_text, &l);
    char *chunks = mp__text_take(&l.chunks), *classes = mp__text_take(&l.classes);
    mp__text_addf(t, "  size classes:  %zu\n%s  chunks:        %zu\n%s", nclasses, classes ? classes : "",
                  (size_t)v.nchunks, chunks ? chunks : "");
    if (!chunks || !classes) /* want of memory: the whole text fails */
        { free(t->s); *t = (mp__text){.failed = true}; }
    free(chunks);
    free(classes);
}
