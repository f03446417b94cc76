/* Fixed-size pools: O(1) blocks of block_size, growth, limits, reset, trim. */
#include "mp_test.h"

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
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(fixed_suite)
