/* Variable-size (TLSF) pools: good fit, coalescing, fragmentation, growth,
 * limits, and a randomised run against a model of the live blocks. */
#include "mp_test.h"

START_TEST(sizes_from_one_byte_to_a_megabyte_are_served_aligned)
{
    mp_pool *p = new_pool("var", cfg_variable(1 << 20));
    for (size_t n = 1; n <= (1 << 20); n = n * 3 + 1) {
        unsigned char *b = alloc_ok(p, n);
        ck_assert_uint_eq((uintptr_t)b % MP_DEFAULT_ALIGNMENT, 0);
        memset(b, 0x5A, n);
        ck_intact(p);
        ck_ok(mp_pool_deallocate(p, b));
        ck_intact(p);
    }
    mp_pool_destroy(p);
}
END_TEST

START_TEST(freeing_neighbours_coalesces_into_one_block)
{
    mp_pool *p = new_pool("coalesce", cfg_variable(1 << 20));
    /* Above the small-block classes: TLSF blocks, neighbours in the chunk. */
    void *a = alloc_ok(p, 10000), *b = alloc_ok(p, 20000), *c = alloc_ok(p, 30000);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_deallocate(p, c));
    ck_intact(p);
    ck_assert(stats_of(p).fragmentation_ratio > 0.0);
    ck_ok(mp_pool_deallocate(p, b));
    ck_intact(p);
    mp_stats s = stats_of(p);
    ck_assert_double_eq(s.fragmentation_ratio, 0.0);
    /* One free block spans the chunk again: a request of most of it fits. */
    void *big = alloc_ok(p, (1 << 20) - (1 << 16));
    ck_assert_uint_eq(stats_of(p).chunk_count, 1);
    ck_assert_ptr_eq(big, a);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(fragmentation_ratio_follows_its_definition)
{
    mp_pool *p = new_pool("frag", cfg_variable(1 << 20));
    void *b[4];
    for (int i = 0; i < 4; i++)
        b[i] = alloc_ok(p, 64 << 10);
    ck_ok(mp_pool_deallocate(p, b[0]));
    ck_ok(mp_pool_deallocate(p, b[2]));
    /* Free: two 64 KiB holes and the 768 KiB tail. 1 - 768/896. */
    ck_assert_double_eq_tol(stats_of(p).fragmentation_ratio, 1.0 - 768.0 / 896.0, 1e-9);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* An empty or idle pool reads 0 however many chunks it has; a wholly free
 * chunk is whole, and is left out beside chunks that hold blocks. */
START_TEST(fragmentation_is_zero_on_an_empty_pool_and_leaves_out_free_chunks)
{
    mp_pool *p = new_pool("frag-empty", cfg_variable(1 << 20));
    void *small = alloc_ok(p, 64 << 10), *big = alloc_ok(p, 1 << 20); /* the second needs a second chunk */
    ck_assert_uint_eq(stats_of(p).chunk_count, 2);
    ck_ok(mp_pool_reset(p));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.chunk_count, 2);
    ck_assert_double_eq(s.fragmentation_ratio, 0.0); /* two free chunks: above 0 before 1.3 */
    void *one = alloc_ok(p, 64 << 10); /* one chunk holds a block, the other is free */
    ck_assert_double_eq(stats_of(p).fragmentation_ratio, 0.0);
    void *two = alloc_ok(p, 64 << 10), *three = alloc_ok(p, 64 << 10);
    ck_ok(mp_pool_deallocate(p, two)); /* a 64 KiB hole beside the tail of that chunk */
    s = stats_of(p);
    ck_assert(s.fragmentation_ratio > 0.0 && s.fragmentation_ratio < 0.5);
    ck_ok(mp_pool_deallocate(p, one));
    ck_ok(mp_pool_deallocate(p, three));
    ck_assert_double_eq(stats_of(p).fragmentation_ratio, 0.0);
    (void)small;
    (void)big;
    ck_intact(p);
    mp_pool_destroy(p);

    /* An idle lock-free pool: its thread caches hold blocks, the user none. */
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_high_performance_cpu(&c));
    c.initial_size = 1 << 20;
    p = new_pool("frag-idle", c);
    void *b[64];
    for (int i = 0; i < 64; i++)
        b[i] = alloc_ok(p, (size_t)(16 + 48 * i));
    for (int i = 0; i < 64; i++)
        ck_ok(mp_pool_deallocate(p, b[i]));
    s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_double_eq(s.fragmentation_ratio, 0.0);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(a_request_larger_than_the_pool_grows_it)
{
    mp_pool *p = new_pool("grow", cfg_variable(64 << 10));
    void *big = alloc_ok(p, 1 << 20);
    memset(big, 1, 1 << 20);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.chunk_count, 2);
    ck_assert(s.reserved_bytes >= (64 << 10) + (1 << 20));
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, big));
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).chunk_count, 0);
    ck_intact(p);
    alloc_ok(p, 100);
    ck_assert_uint_eq(stats_of(p).chunk_count, 1);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(max_size_limits_growth_exactly)
{
    mp_config c = cfg_variable(64 << 10);
    c.max_size = 256 << 10;
    mp_pool *p = new_pool("capped", c);
    void *a = alloc_ok(p, 100 << 10);
    void *x = (void *)1;
    ck_status(mp_pool_allocate(p, 200 << 10, &x), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("max_size");
    ck_assert_ptr_null(x);
    ck_assert(stats_of(p).reserved_bytes <= (256u << 10));
    ck_assert_uint_eq(stats_of(p).failed_allocations, 1);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, a));
    mp_pool_destroy(p);
}
END_TEST

START_TEST(alignment_of_4096_gives_page_aligned_blocks)
{
    mp_config c = cfg_variable(1 << 20);
    c.alignment = 4096;
    mp_pool *p = new_pool("pages", c);
    for (int i = 1; i < 50; i++)
        ck_assert_uint_eq((uintptr_t)alloc_ok(p, (size_t)i * 37) % 4096, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(reset_restores_one_free_block_per_chunk)
{
    mp_pool *p = new_pool("reset", cfg_variable(1 << 16));
    void *first = alloc_ok(p, 100);
    for (int i = 0; i < 500; i++)
        alloc_ok(p, (size_t)(i % 97) * 13 + 1);
    size_t chunks = stats_of(p).chunk_count;
    ck_ok(mp_pool_reset(p));
    ck_intact(p);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.chunk_count, chunks);
    ck_status(mp_pool_deallocate(p, first), MP_ERR_INVALID_POINTER);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
    mp_pool_destroy(p);
}
END_TEST

/* Chunks arrive at any address (a trimmed chunk leaves a hole that a later
 * mapping fills); every block must still be found by its chunk. */
START_TEST(chunks_arriving_in_any_address_order_are_all_found)
{
    mp_config c = cfg_variable(64 << 10);
    c.growth_factor = 1;
    mp_pool *p = new_pool("holes", c);
    enum { N = 24 };
    void *b[N], *again[N];
    for (int i = 0; i < N; i++)
        b[i] = alloc_ok(p, 60 << 10); /* one chunk each */
    for (int i = 0; i < N; i += 2)
        ck_ok(mp_pool_deallocate(p, b[i]));
    ck_ok(mp_pool_trim(p, 0));
    ck_intact(p);
    for (int i = 0; i < N; i += 2)
        again[i] = alloc_ok(p, 60 << 10);
    ck_intact(p);
    for (int i = 0; i < N; i++) {
        bool owned = false;
        void *x = i % 2 ? b[i] : again[i];
        ck_ok(mp_pool_owns(p, x, &owned));
        ck_assert_msg(owned, "block %d is not found", i);
        ck_ok(mp_pool_deallocate(p, x));
    }
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* Random allocate/free against a model: each live block's bytes carry its
 * id and are checked before it is freed; blocks never overlap; counts and
 * invariants hold after every step. */
START_TEST(random_operations_match_a_model)
{
    mp_config c = cfg_variable(32 << 10);
    c.growth_factor = 2;
    mp_pool *p = new_pool("model", c);
    enum { SLOTS = 300, STEPS = 6000 };
    unsigned char *ptr[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    size_t live = 0, used = 0;
    unsigned seed = 12345;
    for (int step = 0; step < STEPS; step++) {
        int i = (int)(rand_r(&seed) % SLOTS);
        if (ptr[i]) {
            size_t k = 0; /* one assertion per block: each costs Check a write of its location */
            while (k < size[i] && ptr[i][k] == (unsigned char)i)
                k++;
            ck_assert_msg(k == size[i], "block %d byte %zu overwritten", i, k);
            ck_ok(mp_pool_deallocate(p, ptr[i]));
            live--;
            used -= size[i];
            ptr[i] = NULL;
        } else {
            size[i] = 1 + rand_r(&seed) % (rand_r(&seed) % 8 == 0 ? 20000 : 300);
            ptr[i] = alloc_ok(p, size[i]);
            memset(ptr[i], i, size[i]);
            live++;
            used += size[i];
        }
        if (step % 50 == 0)
            ck_intact(p);
        mp_stats s = stats_of(p);
        ck_assert_uint_eq(s.live_allocations, live);
        ck_assert_uint_eq(s.current_used, used);
    }
    for (int i = 0; i < SLOTS; i++)
        for (int j = i + 1; j < SLOTS; j++)
            if (ptr[i] && ptr[j])
                ck_assert(ptr[i] + size[i] <= ptr[j] || ptr[j] + size[j] <= ptr[i]);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(grow_trim_cycles_do_not_compound_growth)
{
    mp_pool *p = new_pool("cycles", cfg_variable(1 << 20));
    void *pin = alloc_ok(p, 64); /* keeps the first chunk */
    size_t first = 0;
    for (int i = 0; i < 12; i++) {
        void *big = alloc_ok(p, 32 << 20);
        mp_stats s = stats_of(p);
        if (i == 0)
            first = s.reserved_bytes;
        /* A chunk that trim gave back is no base for the next one. */
        ck_assert_uint_eq(s.reserved_bytes, first);
        ck_ok(mp_pool_deallocate(p, big));
        ck_ok(mp_pool_trim(p, 1 << 20));
    }
    ck_ok(mp_pool_deallocate(p, pin));
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

static Suite *variable_suite(void)
{
    Suite *s = suite_create("variable");
    TCase *t = tcase_create("variable");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, sizes_from_one_byte_to_a_megabyte_are_served_aligned);
    tcase_add_test(t, freeing_neighbours_coalesces_into_one_block);
    tcase_add_test(t, fragmentation_ratio_follows_its_definition);
    tcase_add_test(t, fragmentation_is_zero_on_an_empty_pool_and_leaves_out_free_chunks);
    tcase_add_test(t, a_request_larger_than_the_pool_grows_it);
    tcase_add_test(t, max_size_limits_growth_exactly);
    tcase_add_test(t, alignment_of_4096_gives_page_aligned_blocks);
    tcase_add_test(t, reset_restores_one_free_block_per_chunk);
    tcase_add_test(t, chunks_arriving_in_any_address_order_are_all_found);
    tcase_add_test(t, random_operations_match_a_model);
    tcase_add_test(t, grow_trim_cycles_do_not_compound_growth);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(variable_suite)
