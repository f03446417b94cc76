/* Memory snapshots (mp_pool_memory_snapshot, its JSON) and the diagnostics
 * of a failed allocation: refused input changes nothing, records and counts
 * follow mp_pool_get_allocations' rules, totals agree with mp_pool_get_stats
 * and with the records on every kind of pool, an allocation past max_size
 * says and keeps the real numbers, the JSON parses and says what the structs
 * say, and a thread may take snapshots while others allocate. */
#define _POSIX_C_SOURCE 200809L /* rand_r */
#include "mp_json.h"
#include "mp_test.h"

#include <pthread.h>
#include <stddef.h>

#define CHUNKS_MAX 64
#define CLASSES_MAX 256

/* A snapshot with every record, and the call's status. */
typedef struct snap {
    mp_memory_snapshot s;
    mp_chunk_info chunks[CHUNKS_MAX];
    mp_class_info classes[CLASSES_MAX];
} snap;

static mp_status take(const mp_pool *p, mp_snapshot_kind kind, snap *out)
{
    memset(out, 0xA5, sizeof *out);
    out->s.struct_size = sizeof out->s;
    out->chunks[0].struct_size = sizeof out->chunks[0];
    out->classes[0].struct_size = sizeof out->classes[0];
    return mp_pool_memory_snapshot(p, kind, &out->s, out->chunks, CHUNKS_MAX, out->classes, CLASSES_MAX);
}

static snap *now_of(const mp_pool *p)
{
    snap *sn = malloc(sizeof *sn);
    ck_ok(take(p, MP_SNAPSHOT_NOW, sn));
    return sn;
}

static mp_config cfg_general(size_t initial)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_general_purpose_cpu(&c));
    c.initial_size = initial;
    return c;
}

static bool same_stats(mp_stats a, mp_stats b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ---- bad input ------------------------------------------------------------------ */

START_TEST(bad_input_is_refused_with_a_reason_and_changes_nothing)
{
    mp_pool *p = new_pool("snap-bad", cfg_variable(1 << 16));
    void *a = alloc_ok(p, 100);
    mp_stats before = stats_of(p);
    snap sn;
    memset(&sn, 0, sizeof sn);
    sn.s.struct_size = sizeof sn.s;
    sn.chunks[0].struct_size = sizeof sn.chunks[0];
    sn.classes[0].struct_size = sizeof sn.classes[0];

    ck_status(mp_pool_memory_snapshot(NULL, MP_SNAPSHOT_NOW, &sn.s, NULL, 0, NULL, 0), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, NULL, NULL, 0, NULL, 0), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("out is NULL");
    ck_status(mp_pool_memory_snapshot(p, (mp_snapshot_kind)7, &sn.s, NULL, 0, NULL, 0), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("kind 7");
    size_t sizes[] = {0, sizeof(size_t), offsetof(mp_memory_snapshot, backend), 4097};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        sn.s.struct_size = sizes[i];
        ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &sn.s, NULL, 0, NULL, 0), MP_ERR_INVALID_ARGUMENT);
        ck_detail_has("out->struct_size");
        ck_assert_uint_eq(sn.s.struct_size, sizes[i]); /* nothing written */
        ck_assert_uint_eq(sn.s.reserved_bytes, 0);
    }
    sn.s.struct_size = sizeof sn.s;
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &sn.s, NULL, 3, NULL, 0), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("chunks is NULL but its capacity is 3");
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &sn.s, NULL, 0, NULL, 2), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("classes is NULL but its capacity is 2");
    sn.chunks[0].struct_size = offsetof(mp_chunk_info, backend);
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &sn.s, sn.chunks, 4, NULL, 0), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("chunks->struct_size");
    sn.chunks[0].struct_size = sizeof sn.chunks[0];
    sn.classes[0].struct_size = 8;
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &sn.s, NULL, 0, sn.classes, 4), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("classes->struct_size");
    ck_assert_uint_eq(sn.s.reserved_bytes, 0); /* refused before anything was written */

    char *json = (char *)"untouched";
    ck_status(mp_pool_memory_snapshot_json(p, MP_SNAPSHOT_NOW, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_memory_snapshot_json(NULL, MP_SNAPSHOT_NOW, &json), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_memory_snapshot_json(p, (mp_snapshot_kind)-1, &json), MP_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(json, "untouched");

    /* No allocation has failed: there is no last failure to show. */
    sn.classes[0].struct_size = sizeof sn.classes[0];
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_LAST_OOM, &sn.s, NULL, 0, NULL, 0), MP_ERR_NOT_FOUND);
    ck_detail_has("no allocation has failed");
    ck_status(mp_pool_memory_snapshot_json(p, MP_SNAPSHOT_LAST_OOM, &json), MP_ERR_NOT_FOUND);

    ck_assert(same_stats(before, stats_of(p)));
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, a));
    mp_pool_destroy(p);
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &sn.s, NULL, 0, NULL, 0), MP_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- counting and arrays too small ------------------------------------------------ */

START_TEST(null_arrays_count_and_too_small_ones_get_the_first_records_and_the_counts)
{
    mp_config c = cfg_variable(1 << 20);
    c.growth_factor = 1;
    mp_pool *p = new_pool("snap-count", c);
    void *small[3], *big[3];
    for (int i = 0; i < 3; i++)
        small[i] = alloc_ok(p, 24 + 100 * (size_t)i); /* three small-block classes, a page each */
    for (int i = 0; i < 3; i++)
        big[i] = alloc_ok(p, 900000); /* a chunk each */
    mp_stats before = stats_of(p);
    mp_memory_snapshot s = {.struct_size = sizeof s};
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &s, NULL, 0, NULL, 0)); /* counting */
    ck_assert_uint_eq(s.chunk_count, before.chunk_count);
    ck_assert_uint_eq(s.chunk_count, 4);
    ck_assert_uint_eq(s.chunks_listed, s.chunk_count);
    ck_assert_uint_eq(s.class_count, 3);

    /* Exactly enough room. */
    size_t nc = s.chunk_count, nk = s.class_count;
    mp_chunk_info *ch = calloc(nc + 1, sizeof *ch);
    mp_class_info *cl = calloc(nk + 1, sizeof *cl);
    ch[0].struct_size = sizeof *ch;
    cl[0].struct_size = sizeof *cl;
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &s, ch, nc, cl, nk));
    for (size_t i = 0; i < nc; i++)
        ck_assert_uint_eq(ch[i].struct_size, sizeof *ch);
    ck_assert_uint_eq(cl[0].block_size, 32); /* 24 bytes: the 32-byte class */
    ck_assert_uint_eq(cl[0].used_blocks, 1);

    /* One short of each: the first records, the counts, and nothing past the room. */
    mp_chunk_info first = ch[0];
    memset(ch, 0xEE, (nc + 1) * sizeof *ch);
    memset(cl, 0xEE, (nk + 1) * sizeof *cl);
    ch[0].struct_size = sizeof *ch;
    cl[0].struct_size = sizeof *cl;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &s, ch, nc - 1, cl, nk - 1), MP_ERR_BUFFER_TOO_SMALL);
    ck_detail_has("the arrays hold");
    ck_assert_uint_eq(s.chunk_count, nc);
    ck_assert_uint_eq(s.chunks_listed, nc);
    ck_assert_uint_eq(s.class_count, nk);
    ck_assert_uint_eq(s.reserved_bytes, before.reserved_bytes);
    ck_assert_mem_eq(&ch[0], &first, sizeof first);
    ck_assert_uint_eq(ch[nc - 1].struct_size, 0xEEEEEEEEEEEEEEEEull); /* past the room: untouched */
    ck_assert_uint_eq(cl[nk - 1].struct_size, 0xEEEEEEEEEEEEEEEEull);
    /* Room for the chunks but not the classes is too small all the same. */
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &s, ch, nc, cl, nk - 1), MP_ERR_BUFFER_TOO_SMALL);
    /* A NULL array with capacity 0 is simply not wanted. */
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &s, ch, nc, NULL, 0));

    /* A record larger than this library's: zeros past ours; a smaller one
     * (a future library's older caller) only as far as it reaches. */
    struct {
        mp_chunk_info c;
        uint64_t future;
    } wide[CHUNKS_MAX];
    memset(wide, 0xEE, sizeof wide);
    wide[0].c.struct_size = sizeof wide[0];
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &s, &wide[0].c, CHUNKS_MAX, NULL, 0));
    ck_assert_uint_eq(wide[1].c.struct_size, sizeof wide[0]);
    ck_assert_uint_eq(wide[1].future, 0);
    ck_assert_ptr_eq(wide[0].c.base, first.base);

    ck_assert(same_stats(before, stats_of(p)));
    ck_intact(p);
    for (int i = 0; i < 3; i++) {
        ck_ok(mp_pool_deallocate(p, small[i]));
        ck_ok(mp_pool_deallocate(p, big[i]));
    }
    free(ch);
    free(cl);
    mp_pool_destroy(p);
}
END_TEST

/* ---- consistency --------------------------------------------------------------------- */

/* What every snapshot must satisfy, quiescent: the totals are the stats',
 * the records add up to the totals, chunks are in address order. */
static void check_consistent(const mp_pool *p)
{
    mp_stats st = stats_of(p);
    snap *sn = now_of(p);
    const mp_memory_snapshot *s = &sn->s;
    ck_assert_uint_eq(s->reserved_bytes, st.reserved_bytes);
    ck_assert_uint_eq(s->peak_reserved_bytes, st.peak_reserved_bytes);
    ck_assert_uint_eq(s->chunk_count, st.chunk_count);
    ck_assert_uint_eq(s->chunks_listed, st.chunk_count);
    ck_assert_uint_eq(s->live_blocks, st.live_allocations);
    ck_assert_uint_eq(s->pending_blocks, st.pending_frees);
    ck_assert_uint_eq(s->request_bytes, 0);
    ck_assert_uint_eq(s->in_use_bytes + s->free_bytes + s->cached_bytes + s->pending_bytes, s->address_space_bytes);
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_pool_get_config(p, &c));
    ck_assert_uint_eq(s->max_size, c.max_size);

    uint64_t space = 0, mapped = 0, idle = 0, chunk_free = 0, chunk_live = 0, pages = 0, largest = 0;
    for (size_t i = 0; i < s->chunks_listed; i++) {
        const mp_chunk_info *k = &sn->chunks[i];
        ck_assert_uint_eq(k->struct_size, sizeof *k);
        if (i)
            ck_assert_uint_le((uintptr_t)sn->chunks[i - 1].base + sn->chunks[i - 1].size, (uintptr_t)k->base);
        ck_assert_uint_le(k->free_bytes + k->page_bytes, k->size);
        ck_assert_uint_le(k->largest_free_block, k->free_bytes);
        space += k->size;
        mapped += k->mapped_bytes;
        idle += k->idle_bytes;
        chunk_free += k->free_bytes;
        chunk_live += k->live_blocks;
        pages += k->page_bytes;
        largest = k->largest_free_block > largest ? k->largest_free_block : largest;
    }
    ck_assert_uint_eq(space, s->address_space_bytes);
    ck_assert_uint_eq(mapped, s->reserved_bytes);
    ck_assert_uint_eq(idle, s->idle_bytes);
    ck_assert_uint_eq(largest, s->largest_free_block);
    /* Every block a chunk handed out is the user's, a cache's or a stream's. */
    ck_assert_uint_eq(chunk_live, s->live_blocks + s->cached_blocks + s->pending_blocks);

    uint64_t page_free = 0, class_pages = 0, cached = 0, cached_bytes = 0, fixed_free = 0;
    for (size_t i = 0; i < s->class_count; i++) {
        const mp_class_info *k = &sn->classes[i];
        if (i)
            ck_assert_uint_lt(sn->classes[i - 1].block_size, k->block_size);
        ck_assert(k->pages || k->used_blocks || k->free_blocks || k->cached_blocks);
        if (k->pages)
            page_free += k->free_blocks * k->block_size;
        else
            fixed_free += k->free_blocks * k->block_size;
        class_pages += k->page_bytes;
        cached += k->cached_blocks;
        cached_bytes += k->cached_blocks * k->block_size;
    }
    ck_assert_uint_eq(class_pages, pages);
    ck_assert_uint_eq(cached, s->cached_blocks);
    ck_assert_uint_eq(cached_bytes, s->cached_bytes);
    /* Free bytes: the chunks' own and those in pages (a fixed pool's class
     * counts the chunks' free blocks again). */
    ck_assert_uint_eq(chunk_free + page_free, s->free_bytes);
    if (fixed_free)
        ck_assert_uint_eq(fixed_free, chunk_free);
    free(sn);
}

/* Allocates a mix, frees every other block, checks, frees the rest,
 * checks again. */
static void exercise(mp_pool *p, size_t max)
{
    enum { N = 300 };
    void *v[N];
    for (int i = 0; i < N; i++)
        v[i] = alloc_ok(p, 1 + (size_t)(i * 7919) % max);
    for (int i = 0; i < N; i += 2)
        ck_ok(mp_pool_deallocate(p, v[i]));
    check_consistent(p);
    for (int i = 1; i < N; i += 2)
        ck_ok(mp_pool_deallocate(p, v[i]));
    check_consistent(p);
    ck_intact(p);
}

START_TEST(the_snapshot_agrees_with_the_stats_and_with_itself_on_every_kind_of_pool)
{
    mp_config c;
    mp_pool *p = new_pool("snap-variable", cfg_variable(1 << 16));
    exercise(p, 40000);
    mp_pool_destroy(p);

    p = new_pool("snap-fixed", cfg_fixed(48, 4096));
    exercise(p, 48);
    mp_pool_destroy(p);

    c = cfg_fixed(64, 4096);
    c.thread_safe = false; /* one cache for whichever thread calls */
    p = new_pool("snap-fixed-solo", c);
    exercise(p, 64);
    mp_pool_destroy(p);

    c = cfg_fixed(64, 1 << 16);
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.track_stats = false;
    p = new_pool("snap-fixed-lf", c);
    exercise(p, 64);
    mp_pool_destroy(p);

    p = new_pool("snap-general", cfg_general(1 << 20));
    exercise(p, 20000);
    mp_pool_destroy(p);

    c = (mp_config)MP_CONFIG_INIT;
    ck_ok(mp_config_high_performance_cpu(&c));
    c.initial_size = 1 << 20;
    p = new_pool("snap-hp", c);
    exercise(p, 3000);
    mp_pool_destroy(p);

    c = (mp_config)MP_CONFIG_INIT;
    ck_ok(mp_config_debug_cpu(&c));
    c.initial_size = 1 << 16;
    p = new_pool("snap-debug", c);
    exercise(p, 5000);
    mp_pool_destroy(p);
}
END_TEST

/* Known blocks, known numbers. */
START_TEST(a_small_pool_reports_its_exact_layout)
{
    mp_pool *p = new_pool("snap-exact", cfg_variable(1 << 20));
    void *s1 = alloc_ok(p, 24), *s2 = alloc_ok(p, 24), *s3 = alloc_ok(p, 20); /* one 32-byte page */
    void *big = alloc_ok(p, 100000);
    snap *sn = now_of(p);
    const mp_memory_snapshot *s = &sn->s;
    ck_assert_uint_eq(s->reserved_bytes, 1 << 20);
    ck_assert_uint_eq(s->address_space_bytes, 1 << 20);
    ck_assert_uint_eq(s->peak_reserved_bytes, 1 << 20);
    ck_assert_uint_eq(s->live_blocks, 4);
    ck_assert_uint_eq(s->chunk_count, 1);
    ck_assert_uint_eq(s->class_count, 1);
    ck_assert_uint_eq(s->memory_type, MP_MEMORY_CPU);
    ck_assert_uint_eq(s->backend, MP_BACKEND_HOST);
    /* The page takes the chunk's first 64 KiB window, the big block the
     * bytes after it, the rest is one free block. */
    ck_assert_uint_eq(s->free_bytes, (1 << 20) - 65536 - 100000 + 65536 - 3 * 32);
    ck_assert_uint_eq(s->largest_free_block, (1 << 20) - 65536 - 100000);
    ck_assert_uint_eq(s->in_use_bytes, 100000 + 3 * 32);
    ck_assert_uint_eq(s->cached_bytes, 0);
    const mp_chunk_info *k = &sn->chunks[0];
    ck_assert_uint_le((uintptr_t)k->base, (uintptr_t)big);
    ck_assert_uint_lt((uintptr_t)big, (uintptr_t)k->base + k->size);
    ck_assert_uint_eq(k->size, 1 << 20);
    ck_assert_uint_eq(k->mapped_bytes, 1 << 20);
    ck_assert_uint_eq(k->live_blocks, 4);
    ck_assert_uint_eq(k->page_bytes, 65536);
    ck_assert_uint_eq(k->free_bytes, (1 << 20) - 65536 - 100000);
    ck_assert_uint_eq(k->backend, MP_BACKEND_HOST);
    const mp_class_info *cl = &sn->classes[0];
    ck_assert_uint_eq(cl->block_size, 32);
    ck_assert_uint_eq(cl->pages, 1);
    ck_assert_uint_eq(cl->page_bytes, 65536);
    ck_assert_uint_eq(cl->used_blocks, 3);
    ck_assert_uint_eq(cl->free_blocks, 65536 / 32 - 3);
    ck_assert_uint_eq(cl->cached_blocks, 0);
    free(sn);
    ck_ok(mp_pool_deallocate(p, s1));
    ck_ok(mp_pool_deallocate(p, s2));
    ck_ok(mp_pool_deallocate(p, s3));
    ck_ok(mp_pool_deallocate(p, big));
    mp_pool_destroy(p);
}
END_TEST

/* A thread's cache holds what it freed: cached, not free, not live. */
START_TEST(blocks_in_thread_caches_are_counted_as_cached_by_class)
{
    mp_pool *p = new_pool("snap-cached", cfg_general(1 << 20));
    enum { N = 40 };
    void *v[N];
    for (int i = 0; i < N; i++)
        v[i] = alloc_ok(p, 100); /* the 112-byte class */
    for (int i = 0; i < N; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    snap *sn = now_of(p);
    ck_assert_uint_eq(sn->s.live_blocks, 0);
    ck_assert_uint_ge(sn->s.cached_blocks, N);
    ck_assert_uint_eq(sn->s.cached_bytes, sn->s.cached_blocks * 112);
    bool found = false;
    for (size_t i = 0; i < sn->s.class_count; i++) {
        if (sn->classes[i].block_size == 112) {
            found = true;
            ck_assert_uint_eq(sn->classes[i].cached_blocks, sn->s.cached_blocks);
            ck_assert_uint_eq(sn->classes[i].pages, 1);
            ck_assert_uint_eq(sn->classes[i].used_blocks, sn->s.cached_blocks); /* cached blocks are handed out */
        }
    }
    ck_assert(found);
    free(sn);
    check_consistent(p);
    mp_pool_destroy(p);
}
END_TEST

/* ---- the last failure --------------------------------------------------------------- */

static void ck_detail_has_all(const char *detail, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strstr(detail, want[i]), "detail \"%s\" lacks \"%s\"", detail, want[i]);
}

START_TEST(an_allocation_past_max_size_says_why_with_the_real_numbers_and_keeps_them)
{
    mp_config c = cfg_variable(1 << 16);
    c.max_size = 1 << 16;
    mp_pool *p = new_pool("snap-oom", c);
    void *a = alloc_ok(p, 40000), *x = NULL;
    ck_status(mp_pool_allocate(p, 50000, &x), MP_ERR_OUT_OF_MEMORY);
    char detail[512];
    snprintf(detail, sizeof detail, "%s", mp_last_error_message());
    static const char *const want[] = {
        "pool 'snap-oom': a ", "would pass max_size 65536 (65536 reserved)", /* the reason, first */
        "; request 50000 bytes aligned 16: reserved 65536 (peak 65536, max_size 65536), in use 40000 in 1 blocks, "
        "free 25536 (largest block 25536), cached 0 in 0 blocks, pending on streams 0 in 0 blocks; 1 chunk: 65536 "
        "(free 25536, largest 25536)"};
    ck_detail_has_all(detail, want, 3);
    ck_assert_uint_eq(stats_of(p).failed_allocations, 1);

    snap sn;
    ck_ok(take(p, MP_SNAPSHOT_LAST_OOM, &sn));
    const mp_memory_snapshot *s = &sn.s;
    ck_assert_uint_eq(s->request_bytes, 50000);
    ck_assert_uint_eq(s->request_alignment, 16);
    ck_assert_uint_eq(s->reserved_bytes, 65536);
    ck_assert_uint_eq(s->max_size, 65536);
    ck_assert_uint_eq(s->in_use_bytes, 40000);
    ck_assert_uint_eq(s->live_blocks, 1);
    ck_assert_uint_eq(s->free_bytes, 25536);
    ck_assert_uint_eq(s->largest_free_block, 25536);
    ck_assert_uint_eq(s->chunk_count, 1);
    ck_assert_uint_eq(s->chunks_listed, 1);
    ck_assert_uint_eq(s->class_count, 0);
    ck_assert_uint_le((uintptr_t)sn.chunks[0].base, (uintptr_t)a);
    ck_assert_uint_eq(sn.chunks[0].size, 65536);
    ck_assert_uint_eq(sn.chunks[0].free_bytes, 25536);
    ck_assert_uint_eq(sn.chunks[0].live_blocks, 1);
    ck_assert_uint_eq(sn.classes[0].block_size, 0xA5A5A5A5A5A5A5A5ull); /* none listed, none written */

    /* The record stays as it was while the pool changes; now is now. */
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(take(p, MP_SNAPSHOT_LAST_OOM, &sn));
    ck_assert_uint_eq(sn.s.in_use_bytes, 40000);
    ck_ok(take(p, MP_SNAPSHOT_NOW, &sn));
    ck_assert_uint_eq(sn.s.in_use_bytes, 0);
    ck_assert_uint_eq(sn.s.request_bytes, 0);

    /* The JSON of the failure: the same numbers, the status and the detail. */
    char *json = NULL;
    ck_ok(mp_pool_memory_snapshot_json(p, MP_SNAPSHOT_LAST_OOM, &json));
    mpj *doc = mpj_parse(json);
    ck_assert_msg(doc, "not JSON: %s", json);
    ck_assert_str_eq(mpj_get(doc, "kind")->string, "last_oom");
    ck_assert_str_eq(mpj_get(doc, "status")->string, "MP_ERR_OUT_OF_MEMORY");
    ck_assert_str_eq(mpj_get(doc, "detail")->string, detail);
    ck_assert(mpj_get(doc, "request_bytes")->number == 50000);
    ck_assert(mpj_get(doc, "in_use_bytes")->number == 40000);
    ck_assert_uint_eq(mpj_get(doc, "chunks")->n, 1);
    ck_assert_uint_eq(mpj_get(doc, "classes")->n, 0);
    mpj_free(doc);
    mp_string_free(json);

    /* An over-aligned request says its alignment. */
    a = alloc_ok(p, 40000);
    ck_status(mp_pool_allocate_aligned(p, 30000, 4096, &x), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("; request 30000 bytes aligned 4096: ");
    ck_ok(take(p, MP_SNAPSHOT_LAST_OOM, &sn));
    ck_assert_uint_eq(sn.s.request_alignment, 4096);
    ck_assert_uint_eq(stats_of(p).failed_allocations, 2);

    /* mp_pool_reset_stats forgets it, as it forgets the failure count. */
    ck_ok(mp_pool_reset_stats(p));
    ck_status(take(p, MP_SNAPSHOT_LAST_OOM, &sn), MP_ERR_NOT_FOUND);
    ck_ok(mp_pool_deallocate(p, a));
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(a_full_fixed_pool_says_it_has_no_free_block)
{
    mp_config c = cfg_fixed(64, 4096);
    c.max_size = 4096;
    mp_pool *p = new_pool("snap-oom-fixed", c);
    void *v[64], *x;
    for (int i = 0; i < 64; i++)
        v[i] = alloc_ok(p, 64);
    ck_status(mp_pool_allocate(p, 64, &x), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("; request 64 bytes aligned 16: reserved 4096 (peak 4096, max_size 4096), in use 4096 in 64 "
                  "blocks, free 0 (largest block 0), cached 0 in 0 blocks");
    ck_detail_has("; 1 chunk: 4096 (free 0, largest 0)");
    for (int i = 0; i < 64; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    mp_pool_destroy(p);
}
END_TEST

static mp_status refuse_growth(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    (void)user, (void)pool, (void)need, (void)out;
    snprintf(detail, cap, "the budget is spent");
    return MP_ERR_OUT_OF_MEMORY;
}

static mp_status refuse_at_length(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    (void)user, (void)pool, (void)need, (void)out;
    memset(detail, 'x', cap - 1);
    detail[cap - 1] = 0;
    return MP_ERR_OUT_OF_MEMORY;
}

START_TEST(a_reason_too_long_to_leave_room_is_cut_and_the_numbers_stay)
{
    mp_pool *p = new_pool("snap-oom-long", cfg_variable(1 << 16));
    mp_policy pol = {.struct_size = sizeof pol, .grow = refuse_at_length};
    ck_ok(mp_pool_set_policy(p, &pol));
    void *x;
    ck_status(mp_pool_allocate(p, 100000, &x), MP_ERR_OUT_OF_MEMORY);
    const char *d = mp_last_error_message();
    ck_assert_uint_eq(strlen(d), 511); /* the buffer, full */
    ck_assert_msg(strncmp(d, "pool 'snap-oom-long': the growth policy refused", 47) == 0, "%s", d);
    ck_detail_has("xxx...; request 100000 bytes aligned 16: reserved 65536 (peak 65536, no max_size), in use 0 in 0 "
                  "blocks, free 65536 (largest block 65536), cached 0 in 0 blocks, pending on streams 0 in 0 blocks; "
                  "1 chunk");
    mp_pool_destroy(p);
}
END_TEST

START_TEST(a_growth_policy_refusal_is_recorded_with_its_reason)
{
    mp_pool *p = new_pool("snap-oom-policy", cfg_variable(1 << 16));
    mp_policy pol = {.struct_size = sizeof pol, .grow = refuse_growth};
    ck_ok(mp_pool_set_policy(p, &pol));
    void *x;
    ck_status(mp_pool_allocate(p, 100000, &x), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("the growth policy refused");
    ck_detail_has("the budget is spent; request 100000 bytes aligned 16: reserved 65536 (peak 65536, no max_size)");
    snap sn;
    ck_ok(take(p, MP_SNAPSHOT_LAST_OOM, &sn));
    ck_assert_uint_eq(sn.s.request_bytes, 100000);
    ck_assert_uint_eq(sn.s.free_bytes, 65536);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(a_failure_among_many_chunks_lists_the_largest_as_far_as_the_message_goes)
{
    mp_config c = cfg_variable(1 << 16);
    c.growth_factor = 1;
    c.max_size = 12 << 16;
    mp_pool *p = new_pool("snap-oom-many", c);
    void *v[12], *x;
    for (int i = 0; i < 12; i++)
        v[i] = alloc_ok(p, 60000); /* one a chunk */
    ck_assert_uint_eq(stats_of(p).chunk_count, 12);
    ck_status(mp_pool_allocate(p, 60000, &x), MP_ERR_OUT_OF_MEMORY);
    const char *d = mp_last_error_message();
    ck_assert_uint_lt(strlen(d), 512);
    ck_detail_has("; 12 chunks, largest: 65536 (free 5536, largest 5536), 65536 (free 5536, largest 5536)");
    ck_assert_msg(strcmp(d + strlen(d) - 4, " ...") == 0, "a cut list ends with \" ...\": %s", d);
    snap sn;
    ck_ok(take(p, MP_SNAPSHOT_LAST_OOM, &sn));
    ck_assert_uint_eq(sn.s.chunk_count, 12);
    ck_assert_uint_eq(sn.s.chunks_listed, 8);
    ck_assert_uint_eq(sn.chunks[7].size, 65536);
    ck_assert_uint_eq(sn.chunks[8].struct_size, 0xA5A5A5A5A5A5A5A5ull);
    for (int i = 1; i < 8; i++) /* equal sizes: address order */
        ck_assert_uint_lt((uintptr_t)sn.chunks[i - 1].base, (uintptr_t)sn.chunks[i].base);
    /* Room for fewer records than the failure kept: the first, and the count. */
    mp_chunk_info two[2] = {{.struct_size = sizeof two[0]}};
    ck_status(mp_pool_memory_snapshot(p, MP_SNAPSHOT_LAST_OOM, &sn.s, two, 2, NULL, 0), MP_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(sn.s.chunks_listed, 8);
    ck_assert_ptr_eq(two[1].base, sn.chunks[1].base);
    for (int i = 0; i < 12; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    mp_pool_destroy(p);
}
END_TEST

/* ---- JSON now -------------------------------------------------------------------------- */

static uint64_t num(const mpj *obj, const char *key)
{
    const mpj *v = mpj_get(obj, key);
    ck_assert_msg(v && v->type == MPJ_NUMBER, "no number %s", key);
    return (uint64_t)v->number;
}

START_TEST(the_json_parses_and_says_what_the_structs_say)
{
    mp_pool *p = new_pool("snap \"json\"\\", cfg_general(1 << 20));
    void *v[50];
    for (int i = 0; i < 50; i++)
        v[i] = alloc_ok(p, 16 + (size_t)i * 300);
    for (int i = 0; i < 50; i += 3)
        ck_ok(mp_pool_deallocate(p, v[i]));
    snap *sn = now_of(p);
    char *json = NULL;
    ck_ok(mp_pool_memory_snapshot_json(p, MP_SNAPSHOT_NOW, &json));
    mpj *doc = mpj_parse(json);
    ck_assert_msg(doc && doc->type == MPJ_OBJECT, "not a JSON object: %s", json);
    ck_assert_str_eq(mpj_get(doc, "pool")->string, "snap \"json\"\\");
    ck_assert_str_eq(mpj_get(doc, "kind")->string, "now");
    ck_assert_ptr_null(mpj_get(doc, "detail"));
    ck_assert_str_eq(mpj_get(doc, "memory_type")->string, "cpu");
    ck_assert_str_eq(mpj_get(doc, "backend")->string, "host");
    const mp_memory_snapshot *s = &sn->s;
    ck_assert_uint_eq(num(doc, "reserved_bytes"), s->reserved_bytes);
    ck_assert_uint_eq(num(doc, "address_space_bytes"), s->address_space_bytes);
    ck_assert_uint_eq(num(doc, "peak_reserved_bytes"), s->peak_reserved_bytes);
    ck_assert_uint_eq(num(doc, "in_use_bytes"), s->in_use_bytes);
    ck_assert_uint_eq(num(doc, "live_blocks"), s->live_blocks);
    ck_assert_uint_eq(num(doc, "free_bytes"), s->free_bytes);
    ck_assert_uint_eq(num(doc, "largest_free_block"), s->largest_free_block);
    ck_assert_uint_eq(num(doc, "cached_blocks"), s->cached_blocks);
    ck_assert_uint_eq(num(doc, "cached_bytes"), s->cached_bytes);
    ck_assert_uint_eq(num(doc, "pending_blocks"), 0);
    ck_assert_uint_eq(num(doc, "chunk_count"), s->chunk_count);
    ck_assert_uint_eq(num(doc, "class_count"), s->class_count);
    ck_assert_uint_eq(num(doc, "request_bytes"), 0);
    const mpj *chunks = mpj_get(doc, "chunks"), *classes = mpj_get(doc, "classes");
    ck_assert(chunks && chunks->type == MPJ_ARRAY && chunks->n == s->chunk_count);
    ck_assert(classes && classes->type == MPJ_ARRAY && classes->n == s->class_count);
    for (size_t i = 0; i < chunks->n; i++) {
        const mpj *k = chunks->items[i];
        char base[32];
        snprintf(base, sizeof base, "0x%llx", (unsigned long long)(uintptr_t)sn->chunks[i].base);
        ck_assert_str_eq(mpj_get(k, "base")->string, base);
        ck_assert_uint_eq(num(k, "size"), sn->chunks[i].size);
        ck_assert_uint_eq(num(k, "free_bytes"), sn->chunks[i].free_bytes);
        ck_assert_uint_eq(num(k, "live_blocks"), sn->chunks[i].live_blocks);
        ck_assert_uint_eq(num(k, "page_bytes"), sn->chunks[i].page_bytes);
        ck_assert_str_eq(mpj_get(k, "backend")->string, "host");
    }
    for (size_t i = 0; i < classes->n; i++) {
        const mpj *k = classes->items[i];
        ck_assert_uint_eq(num(k, "block_size"), sn->classes[i].block_size);
        ck_assert_uint_eq(num(k, "used_blocks"), sn->classes[i].used_blocks);
        ck_assert_uint_eq(num(k, "free_blocks"), sn->classes[i].free_blocks);
        ck_assert_uint_eq(num(k, "cached_blocks"), sn->classes[i].cached_blocks);
        ck_assert_uint_eq(num(k, "pages"), sn->classes[i].pages);
    }
    mpj_free(doc);
    mp_string_free(json);
    free(sn);
    for (int i = 0; i < 50; i++)
        if (i % 3)
            ck_ok(mp_pool_deallocate(p, v[i]));
    mp_pool_destroy(p);
}
END_TEST

/* The test's own reader refuses what is not JSON: so a pass means JSON. */
START_TEST(the_tests_json_reader_refuses_what_is_not_json)
{
    static const char *bad[] = {"", "{", "{\"a\":1,}", "{\"a\" 1}", "[1,2", "{\"a\":01}", "{\"a\":1}x",
                                "\"tab\there\"", "{\"a\":.5}", "[1e]", "{'a':1}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(mpj_parse(bad[i]) == NULL, "accepted %s", bad[i]);
    mpj *ok = mpj_parse(" {\"a\":[1,-2.5e3,true,null,\"x\\\"\\u0041\"],\"b\":{}} ");
    ck_assert(ok && mpj_get(ok, "a")->n == 5 && mpj_get(ok, "a")->items[1]->number == -2500);
    ck_assert_str_eq(mpj_get(ok, "a")->items[4]->string, "x\"A");
    mpj_free(ok);
}
END_TEST

/* ---- threads --------------------------------------------------------------------------- */

typedef struct worker {
    mp_pool *pool;
    unsigned seed;
    size_t max; /* the largest request */
    _Atomic int *stop;
    _Atomic long *ops;
} worker;

static void *churn(void *arg)
{
    worker *w = arg;
    void *held[64] = {0};
    while (!*w->stop) {
        unsigned r = rand_r(&w->seed);
        int i = (int)(r % 64);
        if (held[i]) {
            mp_pool_deallocate(w->pool, held[i]);
            held[i] = NULL;
        } else if (mp_pool_allocate(w->pool, 1 + r % w->max, &held[i]) != MP_OK) {
            held[i] = NULL;
        }
        (*w->ops)++;
    }
    for (int i = 0; i < 64; i++)
        if (held[i])
            mp_pool_deallocate(w->pool, held[i]);
    return NULL;
}

START_TEST(a_thread_takes_snapshots_while_others_allocate)
{
    /* Lock-free, locked, and lock-free with too little room: its threads
     * fail now and then, recording the failure while others' caches move. */
    mp_config configs[3] = {cfg_general(1 << 20), cfg_variable(1 << 16), cfg_general(1 << 20)};
    configs[2].max_size = 2 << 20;
    static const char *names[3] = {"snap-threads-lf", "snap-threads-mutex", "snap-threads-oom"};
    for (int k = 0; k < 3; k++) {
        mp_pool *p = new_pool(names[k], configs[k]);
        _Atomic int stop = 0;
        _Atomic long ops = 0;
        enum { T = 3 };
        pthread_t t[T];
        worker w[T];
        for (int i = 0; i < T; i++) {
            /* The small pool's threads hold 1.5 MiB each on average: they run out. */
            w[i] = (worker){p, 17u + (unsigned)i, k == 2 ? 100000 : 20000, &stop, &ops};
            ck_assert_int_eq(pthread_create(&t[i], NULL, churn, &w[i]), 0);
        }
        snap *sn = malloc(sizeof *sn);
        /* Snapshots until the others have done some work too, however busy the machine. */
        for (int n = 0; n < mp_test_scaled(300) || ops < 20000; n++) {
            mp_status s = take(p, MP_SNAPSHOT_NOW, sn);
            ck_assert_msg(s == MP_OK, "%s", mp_last_error_message());
            ck_assert_uint_le(sn->s.chunks_listed, CHUNKS_MAX);
            ck_assert_uint_eq(sn->s.in_use_bytes + sn->s.free_bytes + sn->s.cached_bytes + sn->s.pending_bytes,
                              sn->s.address_space_bytes);
            char *json = NULL;
            ck_ok(mp_pool_memory_snapshot_json(p, MP_SNAPSHOT_NOW, &json));
            mpj *doc = mpj_parse(json);
            ck_assert_msg(doc, "not JSON: %s", json);
            mpj_free(doc);
            mp_string_free(json);
            s = take(p, MP_SNAPSHOT_LAST_OOM, sn);
            ck_assert_msg(s == MP_OK || s == MP_ERR_NOT_FOUND, "%s", mp_last_error_message());
        }
        stop = 1;
        for (int i = 0; i < T; i++)
            pthread_join(t[i], NULL);
        if (k == 2) { /* the churn ran out of room, and the last time was kept */
            ck_assert_uint_gt(stats_of(p).failed_allocations, 0);
            ck_ok(take(p, MP_SNAPSHOT_LAST_OOM, sn));
            ck_assert_uint_le(sn->s.reserved_bytes, 2 << 20);
        }
        free(sn);
        check_consistent(p); /* quiescent again: exact */
        ck_intact(p);
        mp_pool_destroy(p);
    }
}
END_TEST

static Suite *snapshot_suite(void)
{
    Suite *s = suite_create("snapshot");
    TCase *t = tcase_create("snapshot");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, bad_input_is_refused_with_a_reason_and_changes_nothing);
    tcase_add_test(t, null_arrays_count_and_too_small_ones_get_the_first_records_and_the_counts);
    tcase_add_test(t, the_snapshot_agrees_with_the_stats_and_with_itself_on_every_kind_of_pool);
    tcase_add_test(t, a_small_pool_reports_its_exact_layout);
    tcase_add_test(t, blocks_in_thread_caches_are_counted_as_cached_by_class);
    tcase_add_test(t, an_allocation_past_max_size_says_why_with_the_real_numbers_and_keeps_them);
    tcase_add_test(t, a_full_fixed_pool_says_it_has_no_free_block);
    tcase_add_test(t, a_growth_policy_refusal_is_recorded_with_its_reason);
    tcase_add_test(t, a_reason_too_long_to_leave_room_is_cut_and_the_numbers_stay);
    tcase_add_test(t, a_failure_among_many_chunks_lists_the_largest_as_far_as_the_message_goes);
    tcase_add_test(t, the_json_parses_and_says_what_the_structs_say);
    tcase_add_test(t, the_tests_json_reader_refuses_what_is_not_json);
    tcase_add_test(t, a_thread_takes_snapshots_while_others_allocate);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(snapshot_suite)
