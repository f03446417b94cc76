/* Fixed-size pools: O(1) blocks of block_size, growth, limits, reset, trim. */
#include "mp_test.h"

#include <pthread.h>

START_TEST(blocks_are_aligned_distinct_and_writable)
{
    mp_pool *p = new_pool("fixed", cfg_fixed(48, 4096));
    enum { N = 64 };
    unsigned char *b[N];
    for (int i = 0; i < N; i++) {
        b[i] = alloc_ok(p, 48);
        ck_assert_uint_eq((uintptr_t)b[i] % MP_DEFAULT_ALIGNMENT, 0);
        memset(b[i], i, 48);
        ck_intact(p);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 48; j++)
            ck_assert_uint_eq(b[i][j], (unsigned char)i);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            ck_assert_msg(b[i] + 48 <= b[j] || b[j] + 48 <= b[i], "blocks %d and %d overlap", i, j);
    for (int i = 0; i < N; i++) {
        ck_ok(mp_pool_deallocate(p, b[i]));
        ck_intact(p);
    }
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(freed_block_is_reused_first)
{
    mp_pool *p = new_pool("lifo", cfg_fixed(64, 4096));
    void *a = alloc_ok(p, 64);
    alloc_ok(p, 64);
    ck_ok(mp_pool_deallocate(p, a));
    ck_assert_ptr_eq(alloc_ok(p, 64), a);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(request_over_block_size_is_refused_and_pool_intact)
{
    mp_pool *p = new_pool("small", cfg_fixed(32, 4096));
    void *a = alloc_ok(p, 32);
    mp_stats before = stats_of(p);
    void *x = (void *)1;
    ck_status(mp_pool_allocate(p, 33, &x), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("32-byte blocks");
    ck_assert_ptr_null(x);
    mp_stats after = stats_of(p);
    ck_assert_uint_eq(after.allocation_count, before.allocation_count);
    ck_assert_uint_eq(after.failed_allocations, before.failed_allocations);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, a));
    mp_pool_destroy(p);
}
END_TEST

START_TEST(pool_grows_by_growth_factor)
{
    mp_config c = cfg_fixed(64, 4096);
    c.growth_factor = 2;
    mp_pool *p = new_pool("grow", c);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 4096);
    for (int i = 0; i < 64 + 1; i++)
        alloc_ok(p, 64);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.chunk_count, 2);
    ck_assert_uint_eq(s.reserved_bytes, 4096 + 8192);
    for (int i = 0; i < 128; i++)
        alloc_ok(p, 64);
    s = stats_of(p);
    ck_assert_uint_eq(s.chunk_count, 3);
    ck_assert_uint_eq(s.reserved_bytes, 4096 + 8192 + 16384);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(growth_factor_one_adds_equal_chunks)
{
    mp_config c = cfg_fixed(64, 4096);
    c.growth_factor = 1;
    mp_pool *p = new_pool("flat", c);
    for (int i = 0; i < 3 * 64; i++)
        alloc_ok(p, 64);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 3 * 4096);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(max_size_is_a_hard_limit_and_freeing_makes_room)
{
    mp_config c = cfg_fixed(1024, 4096);
    c.max_size = 8192;
    mp_pool *p = new_pool("capped", c);
    void *b[8];
    for (int i = 0; i < 8; i++)
        b[i] = alloc_ok(p, 1000);
    void *x = (void *)1;
    ck_status(mp_pool_allocate(p, 1000, &x), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("max_size");
    ck_assert_ptr_null(x);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.reserved_bytes, 8192);
    ck_assert_uint_eq(s.failed_allocations, 1);
    ck_assert_uint_eq(s.live_allocations, 8);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, b[3]));
    ck_assert_ptr_eq(alloc_ok(p, 1000), b[3]);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(reset_frees_every_block_at_once)
{
    mp_pool *p = new_pool("reset", cfg_fixed(64, 4096));
    void *first = alloc_ok(p, 64);
    for (int i = 0; i < 200; i++)
        alloc_ok(p, 64);
    mp_stats before = stats_of(p);
    ck_ok(mp_pool_reset(p));
    ck_intact(p);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.deallocation_count, 201);
    ck_assert_uint_eq(s.reserved_bytes, before.reserved_bytes);
    ck_status(mp_pool_deallocate(p, first), MP_ERR_INVALID_POINTER);
    ck_assert_ptr_eq(alloc_ok(p, 64), first);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(trim_returns_idle_chunks_and_keeps_what_is_asked)
{
    mp_config c = cfg_fixed(64, 4096);
    c.growth_factor = 1;
    mp_pool *p = new_pool("trim", c);
    void *b[4 * 64];
    for (int i = 0; i < 4 * 64; i++)
        b[i] = alloc_ok(p, 64);
    ck_assert_uint_eq(stats_of(p).chunk_count, 4);
    for (int i = 64; i < 4 * 64; i++)
        ck_ok(mp_pool_deallocate(p, b[i]));
    ck_ok(mp_pool_trim(p, 8192));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 8192);
    ck_intact(p);
    ck_ok(mp_pool_trim(p, 0));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.reserved_bytes, 4096);
    ck_assert_uint_eq(s.live_allocations, 64);
    ck_intact(p);
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq(((uintptr_t)b[i] - (uintptr_t)b[0]) % 64, 0);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(large_alignment_is_honoured)
{
    mp_config c = cfg_fixed(100, 0);
    c.alignment = 4096;
    mp_pool *p = new_pool("aligned", c);
    for (int i = 0; i < 20; i++)
        ck_assert_uint_eq((uintptr_t)alloc_ok(p, 100) % 4096, 0);
    c.alignment = 1 << 16;
    mp_pool *q = new_pool("aligned64k", c);
    ck_assert_uint_eq((uintptr_t)alloc_ok(q, 10) % (1 << 16), 0);
    ck_intact(p);
    ck_intact(q);
    mp_pool_destroy(p);
    mp_pool_destroy(q);
}
END_TEST

START_TEST(zero_initial_size_reserves_on_first_use)
{
    mp_pool *p = new_pool("lazy", cfg_fixed(64, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
    alloc_ok(p, 1);
    ck_assert_uint_eq(stats_of(p).chunk_count, 1);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(unsynchronised_pool_works_from_one_thread)
{
    mp_config c = cfg_fixed(32, 4096);
    c.thread_safe = false;
    mp_pool *p = new_pool("single", c);
    void *a = alloc_ok(p, 32);
    ck_ok(mp_pool_deallocate(p, a));
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

typedef struct turn {
    mp_pool *pool;
    void *kept[100];
    int error;
} turn;

/* Allocates 300 blocks, frees 200 and keeps 100 (its turn at the pool). */
static void *take_turn(void *arg)
{
    turn *t = arg;
    void *v[300];
    for (int i = 0; i < 300; i++)
        if (mp_pool_allocate(t->pool, 32, &v[i]) != MP_OK)
            t->error = 1;
    for (int i = 0; i < 300; i++) {
        if (i % 3 == 0)
            t->kept[i / 3] = v[i];
        else if (mp_pool_deallocate(t->pool, v[i]) != MP_OK)
            t->error = 2;
    }
    return NULL;
}

/* A fixed pool without thread_safe keeps one cache in front of its blocks
 * (no lock, no thread lookup), for whichever thread calls: threads that
 * take turns share it, and every check and count stays as it was. */
START_TEST(unsynchronised_pool_serves_threads_taking_turns)
{
    mp_config c = cfg_fixed(32, 4096);
    c.thread_safe = false;
    c.track_stats = false;
    mp_pool *p = new_pool("turns", c);
    turn t[3] = {{.pool = p}, {.pool = p}, {.pool = p}};
    for (int i = 0; i < 3; i++) { /* one after the other: the pool's contract */
        pthread_t th;
        pthread_create(&th, NULL, take_turn, &t[i]);
        pthread_join(th, NULL);
        ck_assert_int_eq(t[i].error, 0);
        ck_intact(p);
    }
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 300);
    /* Blocks of every turn are freed here, double and interior frees refused. */
    void *a = t[0].kept[0];
    ck_ok(mp_pool_deallocate(p, a));
    ck_status(mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER);
    ck_status(mp_pool_deallocate(p, (char *)t[1].kept[0] + 8), MP_ERR_INVALID_POINTER);
    ck_assert_ptr_eq(alloc_ok(p, 32), a); /* the freed block comes back first */
    /* The thread-cache calls of such a pool take the exported path. */
    mp_tcache *tc = NULL;
    ck_ok(MP_POOL_THREAD_CACHE(p, &tc));
    ck_assert_uint_eq(tc->owner, 0);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 100; j++)
            ck_ok(mp_tcache_deallocate(tc, t[i].kept[j]));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    /* Cached blocks go back to their chunk: every chunk is idle. */
    ck_ok(mp_pool_trim(p, 0));
    s = stats_of(p);
    ck_assert_uint_eq(s.reserved_bytes, 0);
    ck_assert_uint_eq(s.chunk_count, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* Tracking needs a record per allocation, kept under the pool: turning it
 * on retires the cache, and the blocks it held and the live ones stay good. */
START_TEST(unsynchronised_pool_can_start_tracking)
{
    mp_config c = cfg_fixed(32, 4096);
    c.thread_safe = false;
    c.track_stats = false;
    mp_pool *p = new_pool("turns-tracked", c);
    void *v[50];
    for (int i = 0; i < 50; i++)
        v[i] = alloc_ok(p, 32);
    for (int i = 0; i < 25; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    ck_ok(mp_pool_set_tracking(p, true));
    ck_intact(p);
    ck_assert_uint_eq(stats_of(p).live_allocations, 25);
    void *x = alloc_ok(p, 20);
    size_t n = 0;
    ck_ok(mp_pool_get_allocations(p, NULL, 0, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(stats_of(p).current_used, 20);
    ck_ok(mp_pool_deallocate(p, x));
    for (int i = 25; i < 50; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    ck_status(mp_pool_deallocate(p, v[0]), MP_ERR_INVALID_POINTER);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.current_used, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

static Suite *fixed_suite(void)
{
    Suite *s = suite_create("fixed");
    TCase *t = tcase_create("fixed");
    tcase_add_test(t, blocks_are_aligned_distinct_and_writable);
    tcase_add_test(t, freed_block_is_reused_first);
    tcase_add_test(t, request_over_block_size_is_refused_and_pool_intact);
    tcase_add_test(t, pool_grows_by_growth_factor);
    tcase_add_test(t, growth_factor_one_adds_equal_chunks);
    tcase_add_test(t, max_size_is_a_hard_limit_and_freeing_makes_room);
    tcase_add_test(t, reset_frees_every_block_at_once);
    tcase_add_test(t, trim_returns_idle_chunks_and_keeps_what_is_asked);
    tcase_add_test(t, large_alignment_is_honoured);
    tcase_add_test(t, zero_initial_size_reserves_on_first_use);
    tcase_add_test(t, unsynchronised_pool_works_from_one_thread);
    tcase_add_test(t, unsynchronised_pool_serves_threads_taking_turns);
    tcase_add_test(t, unsynchronised_pool_can_start_tracking);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(fixed_suite)
