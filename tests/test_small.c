/* Small blocks of variable CPU pools: size-class pages (strategy/slab.c),
 * per-request alignment, and the bookkeeping beside the pool, measured on
 * the process's resident memory. */
#include "mp_test.h"

#include <stdio.h>
#include <unistd.h>

static mp_config cfg_plain(size_t initial)
{
    mp_config c = cfg_variable(initial);
    c.track_stats = false; /* no per-allocation records: the bookkeeping is the pool's alone */
    return c;
}

/* Resident bytes of this process, or 0 where they say nothing about the
 * pool (sanitizers keep shadow memory; Valgrind runs scaled down). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MP_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MP_TEST_SANITIZED 1
#endif
#endif

static size_t resident(void)
{
#ifdef MP_TEST_SANITIZED
    return 0;
#else
    if (mp_test_scaled(100) != 100)
        return 0;
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
#endif
}

static size_t mp_addr_mod(const void *p, size_t m) { return (size_t)((uintptr_t)p % m); }

static int by_address(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(every_small_size_gets_an_aligned_block_of_its_own)
{
    mp_pool *p = new_pool("small-sizes", cfg_variable(1 << 20));
    enum { N = 3 * 700 };
    static uintptr_t at[N];
    static size_t len[N];
    size_t n = 0;
    for (size_t size = 1; size <= 8192 && n + 3 <= N; size += size < 256 ? 1 : size / 16) {
        for (int k = 0; k < 3; k++) {
            void *b = alloc_ok(p, size);
            ck_assert_uint_eq(mp_addr_mod(b, 16), 0);
            memset(b, 0xA5, size);
            at[n] = (uintptr_t)b;
            len[n++] = size;
        }
    }
    /* Sorted by address, no block runs into the next. */
    uintptr_t sorted[N];
    memcpy(sorted, at, n * sizeof *at);
    qsort(sorted, n, sizeof *sorted, by_address);
    for (size_t i = 0; i + 1 < n; i++) {
        size_t j = 0;
        while (at[j] != sorted[i])
            j++;
        ck_assert_msg(sorted[i] + len[j] <= sorted[i + 1], "block %#lx of %zu bytes overlaps the next",
                      (unsigned long)sorted[i], len[j]);
    }
    ck_intact(p);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, n);
    for (size_t i = 0; i < n; i++)
        ck_ok(mp_pool_deallocate(p, (void *)at[i]));
    ck_intact(p);
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(freed_small_blocks_come_back_newest_first)
{
    mp_pool *p = new_pool("small-lifo", cfg_variable(1 << 20));
    void *a = alloc_ok(p, 40), *b = alloc_ok(p, 40), *c = alloc_ok(p, 40);
    ck_assert_ptr_ne(a, b);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_deallocate(p, c));
    ck_assert_ptr_eq(alloc_ok(p, 40), c);
    ck_assert_ptr_eq(alloc_ok(p, 33), a); /* 33 and 40 share a class */
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* Every bad free of a small block is refused and changes nothing. */
START_TEST(bad_frees_of_small_blocks_change_nothing)
{
    mp_pool *p = new_pool("small-bad", cfg_variable(1 << 20));
    mp_pool *other = new_pool("small-other", cfg_variable(1 << 20));
    void *a = alloc_ok(p, 64), *b = alloc_ok(p, 64), *o = alloc_ok(other, 64);
    void *foreign = malloc(64);
    ck_ok(mp_pool_deallocate(p, b));
    mp_stats before = stats_of(p);
    void *bad[] = {b, (char *)a + 8, (char *)a + 64, (char *)a + 4096, o, foreign};
    const char *why[] = {"not the start of a live block", "not the start of a live block",
                         "not the start of a live block", "not the start of a live block", "belongs to pool 'small-other'",
                         "was not allocated by this pool"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_status(mp_pool_deallocate(p, bad[i]), MP_ERR_INVALID_POINTER);
        ck_detail_has(why[i]);
        mp_stats now = stats_of(p);
        ck_assert_uint_eq(now.live_allocations, before.live_allocations);
        ck_assert_uint_eq(now.deallocation_count, before.deallocation_count);
        ck_assert_uint_eq(now.current_used, before.current_used);
        ck_intact(p);
    }
    /* Still one live block, freed once. */
    ck_ok(mp_pool_deallocate(p, a));
    ck_status(mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER);
    ck_ok(mp_pool_deallocate(other, o));
    free(foreign);
    ck_intact(p);
    mp_pool_destroy(p);
    mp_pool_destroy(other);
}
END_TEST

/* Pages that empty go back to the chunk, for any class: a capped pool
 * filled with one class, emptied, fills about as far with another. */
START_TEST(an_emptied_page_serves_another_class)
{
    mp_config c = cfg_variable(1 << 20);
    c.max_size = 1 << 20;
    mp_pool *p = new_pool("small-reuse", c);
    enum { MAX = (1 << 20) / 64 };
    static void *v[MAX];
    size_t n = 0;
    void *x;
    while (n < MAX && mp_pool_allocate(p, 64, &x) == MP_OK)
        v[n++] = x;
    ck_assert_uint_gt(n * 64, (1 << 20) * 8 / 10);
    for (size_t i = 0; i < n; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    size_t m = 0;
    while (m < MAX && mp_pool_allocate(p, 1000, &x) == MP_OK)
        v[m++] = x;
    ck_assert_msg(m * 1024 > (size_t)(1 << 20) * 8 / 10, "only %zu blocks of 1000 bytes after the 64-byte pages emptied",
                  m);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 1 << 20);
    for (size_t i = 0; i < m; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(aligned_requests_are_placed_at_their_alignment)
{
    mp_pool *p = new_pool("aligned", cfg_variable(1 << 20));
    for (size_t al = 1; al <= ((size_t)1 << 21); al *= 2) {
        size_t sizes[] = {1, 24, 100, 5000, 70000};
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            void *b = NULL;
            ck_ok(mp_pool_allocate_aligned(p, sizes[i], al, &b));
            ck_assert_msg(mp_addr_mod(b, al) == 0, "%zu bytes at %zu: %p", sizes[i], al, b);
            ck_assert_uint_eq(mp_addr_mod(b, 16), 0);
            memset(b, 1, sizes[i]);
            ck_intact(p);
            ck_ok(mp_pool_deallocate(p, b));
        }
    }
    void *b = (void *)1;
    ck_status(mp_pool_allocate_aligned(p, 64, 48, &b), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("not a power of two");
    ck_assert_ptr_null(b);
    ck_status(mp_pool_allocate_aligned(p, 64, 0, &b), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_allocate_aligned(p, 0, 64, &b), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_allocate_aligned(p, 64, 64, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_allocate_aligned(NULL, 64, 64, &b), MP_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);

    mp_pool *f = new_pool("aligned-fixed", cfg_fixed(64, 1 << 16));
    ck_ok(mp_pool_allocate_aligned(f, 64, 16, &b)); /* the pool's own alignment */
    ck_ok(mp_pool_deallocate(f, b));
    ck_status(mp_pool_allocate_aligned(f, 64, 4096, &b), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("fixed pool");
    mp_pool_destroy(f);

    mp_config d = MP_CONFIG_INIT;
    ck_ok(mp_config_debug_cpu(&d));
    mp_pool *g = new_pool("aligned-debug", d);
    ck_status(mp_pool_allocate_aligned(g, 64, 4096, &b), MP_ERR_UNSUPPORTED);
    ck_detail_has("guard");
    mp_pool_destroy(g);
}
END_TEST

/* The bookkeeping of small blocks is per page: at most 2% of the bytes
 * reserved, even for 16-byte blocks (the process's own resident memory,
 * less the blocks' bytes, which the test writes). */
START_TEST(small_block_bookkeeping_is_at_most_two_percent)
{
    size_t before = resident();
    if (!before)
        return; /* sanitizers or Valgrind: nothing to measure, and millions of blocks cost minutes there */
    mp_pool *p = new_pool("small-meta", cfg_plain(0));
    enum { N = 1 << 21 }; /* 32 MiB of 16-byte blocks */
    void **v = malloc(N * sizeof *v);
    ck_assert_ptr_nonnull(v);
    size_t vbytes = resident();
    memset(v, 0xA5, N * sizeof *v); /* the test's own array, resident before the pool grows */
    before += resident() - vbytes;
    for (size_t i = 0; i < N; i++) {
        v[i] = alloc_ok(p, 16);
        *(char *)v[i] = 1;
    }
    mp_stats s = stats_of(p);
    size_t after = resident();
    if (before && after) {
        size_t side = after - before > s.reserved_bytes ? after - before - s.reserved_bytes : 0;
        /* reserved, not in use: chunks are resident only where touched, so
         * the blocks' bytes are at most the reserved bytes */
        ck_assert_msg(side * 50 <= s.reserved_bytes, "%zu bytes beside %llu reserved for %d blocks of 16 bytes", side,
                      (unsigned long long)s.reserved_bytes, N);
    }
    for (size_t i = 0; i < N; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    free(v);
    mp_pool_destroy(p);
}
END_TEST

/* After every block is freed and the pool trimmed, the process holds what
 * it held before the pool grew (within 5%): the side tables shrink. */
START_TEST(a_trimmed_pool_gives_its_resident_memory_back)
{
    enum { N = 1 << 20 };
    if (!resident())
        return; /* sanitizers or Valgrind: nothing to measure */
    void **v = malloc(N * sizeof *v);
    ck_assert_ptr_nonnull(v);
    memset(v, 0xA5, N * sizeof *v); /* resident before the pool grows (not 0: malloc + memset 0 may become calloc) */
    mp_pool *p = new_pool("small-trim", cfg_plain(0));
    size_t before = resident();
    for (size_t i = 0; i < N; i++) {
        v[i] = alloc_ok(p, 64 + 16 * (i % 4) + (i % 1000 == 0 ? 20000 : 0));
        *(char *)v[i] = 1;
    }
    size_t peak = resident();
    for (size_t i = 0; i < N; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    ck_ok(mp_pool_trim(p, 0));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.reserved_bytes, 0);
    ck_assert_uint_eq(s.chunk_count, 0);
    size_t after = resident();
    if (before && after)
        ck_assert_msg(after <= before + before / 20, "resident %zu bytes before the pool grew, %zu at its peak, %zu "
                      "after a full trim", before, peak, after);
    ck_intact(p);
    free(v);
    mp_pool_destroy(p);
}
END_TEST

/* Random operations on one pool against a model of it (adversarial; the
 * standalone version is breaker/model.c on the breaker branch): sizes on
 * the class boundaries and around the slab's 8 KiB bound, aligned
 * requests, reallocations up and down across the bound and within a
 * class, frees, double frees, interior pointers, another pool's pointers,
 * trims and resets, on every kind of CPU pool. After each step the pool
 * passes mp_pool_check, its live count and bytes are the model's, the
 * bytes of every live block are its own, and a refused call changes no
 * statistic. */
typedef struct model_block {
    unsigned char *p;
    size_t size, align;
    unsigned char tag;
} model_block;

static uint64_t model_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t model_size(uint64_t *r)
{
    static const size_t edges[] = {1,    16,   17,   128,  129,  144,  160,  1024, 1025, 2560, 3584, 4096,
                                   4097, 7168, 8191, 8192, 8193, 9216, 16384, 65536};
    switch (model_next(r) % 3) {
    case 0:
        return edges[model_next(r) % (sizeof edges / sizeof *edges)];
    case 1:
        return 1 + model_next(r) % 9000;
    default:
        return 1 + model_next(r) % 65536;
    }
}

static void model_fill(model_block *b)
{
    for (size_t i = 0; i < b->size; i++)
        b->p[i] = (unsigned char)(b->tag + i * 7);
}

static void model_verify(const model_block *b, size_t n)
{
    for (size_t i = 0; i < n; i++) /* ck_assert marks a point per call: too slow for every byte */
        if (b->p[i] != (unsigned char)(b->tag + i * 7))
            ck_abort_msg("block %p (%zu bytes): byte %zu overwritten", (void *)b->p, b->size, i);
}

static bool model_same(const mp_stats *a, const mp_stats *b)
{
    return a->total_allocated == b->total_allocated && a->current_used == b->current_used &&
           a->allocation_count == b->allocation_count && a->deallocation_count == b->deallocation_count &&
           a->reserved_bytes == b->reserved_bytes && a->live_allocations == b->live_allocations &&
           a->failed_allocations == b->failed_allocations;
}

static void model_run(mp_config c, uint64_t seed, int steps)
{
    enum { MAXB = 300 };
    static model_block live[MAXB];
    size_t n = 0;
    mp_pool *p = new_pool("model", c), *other = new_pool("model-other", cfg_variable(1 << 16));
    bool tracked = c.track_stats;
    for (int step = 0; step < steps; step++) {
        unsigned op = (unsigned)(model_next(&seed) % 100);
        mp_stats before = stats_of(p);
        if (op < 40 && n < MAXB) { /* allocate, a third of them aligned */
            size_t size = model_size(&seed), align = op < 13 ? (size_t)1 << (model_next(&seed) % 17) : 0;
            void *q = NULL;
            mp_status s = align ? mp_pool_allocate_aligned(p, size, align, &q) : mp_pool_allocate(p, size, &q);
            if (s == MP_ERR_OUT_OF_MEMORY) {
                ck_assert_ptr_null(q);
                mp_stats after = stats_of(p);
                ck_assert_uint_eq(after.failed_allocations, before.failed_allocations + 1);
                after.failed_allocations--;
                ck_assert_msg(model_same(&before, &after), "a failed allocation changed the stats");
            } else {
                ck_assert_msg(s == MP_OK, "allocate %zu (alignment %zu): %s", size, align, mp_last_error_message());
                ck_assert_uint_eq((uintptr_t)q % (align > c.alignment ? align : c.alignment), 0);
                size_t u = 0;
                ck_ok(mp_pool_usable_size(p, q, &u));
                ck_assert_uint_ge(u, size);
                live[n] = (model_block){q, size, align, (unsigned char)(model_next(&seed) | 1)};
                model_fill(&live[n++]);
            }
        } else if (op < 65 && n) { /* free, then maybe free again */
            size_t i = model_next(&seed) % n;
            model_block b = live[i];
            model_verify(&b, b.size);
            ck_ok(mp_pool_deallocate(p, b.p));
            live[i] = live[--n];
            if (op < 50) {
                before = stats_of(p);
                size_t u = 7;
                void *o = (void *)&u;
                ck_status(mp_pool_deallocate(p, b.p), MP_ERR_INVALID_POINTER);
                ck_status(mp_pool_usable_size(p, b.p, &u), MP_ERR_INVALID_POINTER);
                ck_status(mp_pool_reallocate(p, b.p, 100, &o), MP_ERR_INVALID_POINTER);
                ck_assert(u == 7 && o == (void *)&u);
                mp_stats after = stats_of(p);
                ck_assert_msg(model_same(&before, &after), "a double free changed the stats");
            }
        } else if (op < 82 && n) { /* reallocate: anywhere, within the block, across the bound */
            size_t i = model_next(&seed) % n, u = 0, size;
            ck_ok(mp_pool_usable_size(p, live[i].p, &u));
            unsigned how = (unsigned)(model_next(&seed) % 4);
            size = how == 0   ? model_size(&seed)
                   : how == 1 ? 1 + model_next(&seed) % u
                   : how == 2 ? (live[i].size <= 8192 ? 8193 : 1 + model_next(&seed) % 8192)
                              : u + 1;
            void *q = NULL;
            mp_status s = mp_pool_reallocate(p, live[i].p, size, &q);
            if (s == MP_ERR_OUT_OF_MEMORY) {
                model_verify(&live[i], live[i].size);
                mp_stats after = stats_of(p);
                after.failed_allocations = before.failed_allocations;
                ck_assert_msg(model_same(&before, &after), "a failed reallocation changed the stats");
            } else {
                ck_assert_msg(s == MP_OK, "reallocate %zu -> %zu: %s", live[i].size, size, mp_last_error_message());
                model_block moved = {q, size, live[i].align, live[i].tag};
                model_verify(&moved, size < live[i].size ? size : live[i].size);
                live[i] = moved;
                model_fill(&live[i]);
            }
        } else if (op < 92 && n) { /* interior pointers and another pool's */
            model_block *b = &live[model_next(&seed) % n];
            static const size_t offs[] = {1, 8, 16};
            unsigned char *q = b->p + offs[model_next(&seed) % 3];
            bool starts_block = false;
            for (size_t k = 0; k < n; k++)
                starts_block |= live[k].p == q;
            void *f = alloc_ok(other, model_size(&seed)), *o = NULL;
            size_t u;
            if (!starts_block) {
                ck_status(mp_pool_deallocate(p, q), MP_ERR_INVALID_POINTER);
                ck_status(mp_pool_usable_size(p, q, &u), MP_ERR_INVALID_POINTER);
                ck_status(mp_pool_reallocate(p, q, 64, &o), MP_ERR_INVALID_POINTER);
            }
            ck_status(mp_pool_deallocate(p, f), MP_ERR_INVALID_POINTER);
            ck_detail_has("belongs to pool 'model-other'");
            ck_status(mp_pool_reallocate(p, f, 64, &o), MP_ERR_INVALID_POINTER);
            ck_detail_has("belongs to pool 'model-other'");
            ck_ok(mp_pool_deallocate(other, f));
            mp_stats after = stats_of(p);
            ck_assert_msg(model_same(&before, &after), "a refused pointer changed the stats");
            model_verify(b, b->size);
        } else if (op < 97) {
            ck_ok(mp_pool_trim(p, model_next(&seed) % 2 ? 0 : model_next(&seed) % (2 << 20)));
            for (size_t k = 0; k < n; k++)
                model_verify(&live[k], live[k].size);
        } else if (op < 98) {
            ck_ok(mp_pool_reset(p));
            n = 0;
        }
        if (mp_pool_check(p) != MP_OK)
            ck_abort_msg("step %d: %s", step, mp_last_error_message());
        mp_stats now = MP_STATS_INIT;
        mp_pool_get_stats(p, &now);
        uint64_t bytes = 0;
        for (size_t k = 0; k < n; k++)
            bytes += live[k].size;
        if (now.live_allocations != n || now.current_used != (tracked ? bytes : 0))
            ck_abort_msg("step %d: %llu live blocks of %llu bytes, the model has %zu of %llu", step,
                         (unsigned long long)now.live_allocations, (unsigned long long)now.current_used, n,
                         (unsigned long long)bytes);
    }
    while (n)
        ck_ok(mp_pool_deallocate(p, live[--n].p));
    ck_ok(mp_pool_trim(p, 0));
    mp_stats end = stats_of(p);
    ck_assert_uint_eq(end.live_allocations, 0);
    ck_assert_uint_eq(end.current_used, 0);
    ck_assert_uint_eq(end.reserved_bytes, 0);
    ck_intact(p);
    mp_pool_destroy(p);
    mp_pool_destroy(other);
}

START_TEST(random_operations_match_a_model_of_the_pool)
{
    int steps = mp_test_scaled(3000);
    mp_config c = cfg_variable(0);
    model_run(c, 1, steps); /* mutex, tracked, alignment 16 */
    ck_ok(mp_config_high_performance_cpu(&c));
    c.initial_size = 0;
    model_run(c, 2, steps); /* lock-free, alignment 64 */
    c = cfg_variable(0);
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.track_stats = false;
    model_run(c, 3, steps); /* lock-free, alignment 16 */
    c = cfg_variable(0);
    c.thread_safe = false;
    model_run(c, 4, steps);
    c = cfg_variable(0);
    c.max_size = 640 << 10; /* out of memory often */
    model_run(c, 5, steps);
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.track_stats = false;
    model_run(c, 6, steps);
    c = cfg_variable(0);
    c.alignment = 8192; /* one class */
    model_run(c, 7, steps);
}
END_TEST

static Suite *small_suite(void)
{
    Suite *s = suite_create("small");
    TCase *t = tcase_create("small");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, every_small_size_gets_an_aligned_block_of_its_own);
    tcase_add_test(t, freed_small_blocks_come_back_newest_first);
    tcase_add_test(t, bad_frees_of_small_blocks_change_nothing);
    tcase_add_test(t, an_emptied_page_serves_another_class);
    tcase_add_test(t, aligned_requests_are_placed_at_their_alignment);
    tcase_add_test(t, small_block_bookkeeping_is_at_most_two_percent);
    tcase_add_test(t, a_trimmed_pool_gives_its_resident_memory_back);
    tcase_add_test(t, random_operations_match_a_model_of_the_pool);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(small_suite)
