/* Stream-ordered reuse (gpu/stream.c) on the host-side stand-in for a
 * device (backend/cuda_sim.h): a block freed on a stream goes back to that
 * stream's next allocation at once and with no CUDA call; a free records
 * its stream's one event again, and nothing else; blocks freed next to
 * each other on one stream join, and a run larger than a request is cut;
 * other streams get them only once the stream has passed the frees, or
 * behind a wait; a second free of a waiting block is refused however it
 * was joined or cut. The stand-in counts every event, wait and query, and
 * says whether a block handed to a stream may still be in use there
 * (mp__sim_handout_safe). */
#include "mp_streams_test.h"

/* The CUDA calls the stand-in has seen. */
static uint64_t cuda_calls(void)
{
    mp__sim_usage u = usage();
    return u.events + u.waits + u.queries;
}

static mp_pool *gpu_pool(const char *name) { return gpu_pool_of(name, gpu_cfg()); }

START_TEST(a_block_freed_on_a_stream_goes_back_to_that_streams_next_allocation_at_once)
{
    mp_pool *p = gpu_pool("same-stream");
    void *a = on_stream(p, MiB, S1);
    mp__sim_usage u = usage();
    used_then_freed(p, a, MiB, S1);
    ck_assert_uint_eq(usage().events, u.events + 1); /* a free records the stream's event again */
    ck_assert_uint_eq(usage().waits + usage().queries, u.waits + u.queries);
    uint64_t calls = cuda_calls();
    void *b = on_stream(p, MiB, S1); /* S1 is still busy with a */
    ck_assert_ptr_eq(b, a);
    ck_assert_uint_eq(cuda_calls(), calls); /* taking it back makes no CUDA call */
    ck_assert(mp__sim_handout_safe(b, MiB, S1));
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    /* Another stream gets it only behind S1's use of it: S2's own lane
     * has nothing, so the waiting block goes back with the pool's stream
     * made to wait for S1, and S2 waits for the pool's stream. */
    used_then_freed(p, b, MiB, S1);
    uint64_t waits = usage().waits;
    void *c = on_stream(p, MiB, S2);
    ck_assert_ptr_eq(c, a); /* reused, not more memory */
    ck_assert(mp__sim_handout_safe(c, MiB, S2));
    ck_assert_uint_eq(usage().waits, waits + 2);
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_intact(p);
    ck_ok(mp_pool_deallocate_on_stream(p, c, S2));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(blocks_freed_next_to_each_other_on_a_stream_join_and_a_larger_run_is_cut)
{
    mp_pool *p = gpu_pool("runs");
    char *a = on_stream(p, MiB, S1), *b = on_stream(p, MiB, S1), *c = on_stream(p, MiB, S1);
    ck_assert_ptr_eq(b, a + MiB); /* best fit packs them */
    ck_assert_ptr_eq(c, b + MiB);
    used_then_freed(p, a, MiB, S1);
    used_then_freed(p, c, MiB, S1);
    ck_assert_uint_eq(stats_of(p).pending_frees, 2);
    used_then_freed(p, b, MiB, S1); /* joins both */
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.pending_frees, 1);
    ck_assert_uint_eq(s.live_allocations, 0);
    mp_memory_snapshot snap = MP_MEMORY_SNAPSHOT_INIT;
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &snap, NULL, 0, NULL, 0));
    ck_assert_uint_eq(snap.pending_bytes, 3 * MiB);
    /* A request for less takes the front; the rest waits on. */
    char *x = on_stream(p, 512 * KiB, S1);
    ck_assert_ptr_eq(x, a);
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &snap, NULL, 0, NULL, 0));
    ck_assert_uint_eq(snap.pending_bytes, 3 * MiB - 512 * KiB);
    ck_assert_uint_eq(snap.pending_blocks, 1);
    size_t n = 0;
    ck_ok(mp_pool_usable_size(p, x, &n));
    ck_assert_uint_eq(n, 512 * KiB);
    char *y = on_stream(p, 3 * MiB - 512 * KiB, S1);
    ck_assert_ptr_eq(y, a + 512 * KiB);
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_assert(mp__sim_handout_safe(x, 512 * KiB, S1) && mp__sim_handout_safe(y, 3 * MiB - 512 * KiB, S1));
    ck_intact(p);
    /* b, freed once, now lies inside y. */
    ck_status(mp_pool_deallocate_on_stream(p, b, S2), MP_ERR_INVALID_POINTER);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, y));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(a_second_free_of_a_waiting_block_is_refused_however_it_was_joined)
{
    mp_pool *p = gpu_pool("double");
    char *a = on_stream(p, MiB, S1), *b = on_stream(p, MiB, S1);
    ck_assert_ptr_eq(b, a + MiB);
    used_then_freed(p, a, MiB, S1);
    ck_status(mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER);
    ck_detail_has("already freed on a stream");
    used_then_freed(p, b, MiB, S1); /* joins a */
    ck_status(mp_pool_deallocate_on_stream(p, b, S1), MP_ERR_INVALID_POINTER);
    ck_status(mp_pool_deallocate_on_stream(p, a, S2), MP_ERR_INVALID_POINTER);
    ck_detail_has("already freed on a stream");
    size_t n;
    ck_status(mp_pool_usable_size(p, a, &n), MP_ERR_INVALID_POINTER);
    void *x = NULL;
    ck_status(mp_pool_reallocate(p, b, 64, &x), MP_ERR_INVALID_POINTER);
    ck_assert_uint_eq(stats_of(p).pending_frees, 1);
    ck_intact(p);
    mp__sim_sync(S1);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(other_streams_get_waiting_blocks_once_the_stream_is_idle_or_behind_a_wait)
{
    mp_pool *p = gpu_pool("poll");
    void *a = on_stream(p, 4 * MiB, S1), *b = on_stream(p, 4 * MiB, S2);
    used_then_freed(p, a, 4 * MiB, S1);
    used_then_freed(p, b, 4 * MiB, S2);
    mp__sim_sync(S1);
    /* A statistics call looks: one query a stream says whether it has
     * passed all its frees; S1's blocks go back, S2's wait. */
    mp__sim_usage u = usage();
    ck_assert_uint_eq(stats_of(p).pending_frees, 1);
    ck_assert_uint_eq(usage().queries, u.queries + 2);
    ck_assert_uint_eq(usage().events + usage().waits, u.events + u.waits);
    mp__sim_sync(S2);
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    /* Memory short: blocks of a busy stream go to another behind a wait. */
    void *c = on_stream(p, 8 * MiB, S1);
    used_then_freed(p, c, 8 * MiB, S1);
    uint64_t reserved = stats_of(p).reserved_bytes;
    void *d = on_stream(p, 8 * MiB, S2);
    ck_assert_ptr_eq(d, c);
    ck_assert(mp__sim_handout_safe(d, 8 * MiB, S2));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, reserved);
    ck_intact(p);
    ck_ok(mp_pool_deallocate_on_stream(p, d, S2));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(debug_pools_keep_each_stream_free_apart)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    c.enable_debugging = true;
    mp_pool *p = new_gpu_pool("debug", c);
    void *a = on_stream(p, MiB, S1), *b = on_stream(p, MiB, S1);
    used_then_freed(p, a, MiB, S1);
    used_then_freed(p, b, MiB, S1);
    ck_assert_uint_eq(stats_of(p).pending_frees, 2); /* each keeps its record */
    uint64_t waits = usage().waits;
    void *x = on_stream(p, MiB, S1);
    /* Not taken back as it waits: a new block, or one behind a wait. */
    ck_assert(usage().waits > waits || (x != a && x != b));
    ck_assert(mp__sim_handout_safe(x, MiB, S1));
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(fixed_pools_reuse_a_stream_free_on_that_stream)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    c.allocator_type = MP_ALLOCATOR_FIXED_SIZE;
    c.block_size = 64 * KiB;
    mp_pool *p = new_gpu_pool("fixed", c);
    void *a = on_stream(p, 64 * KiB, S1);
    used_then_freed(p, a, 64 * KiB, S1);
    uint64_t calls = cuda_calls();
    void *b = on_stream(p, 100, S1);
    ck_assert_ptr_eq(b, a);
    ck_assert_uint_eq(cuda_calls(), calls);
    ck_assert(mp__sim_handout_safe(b, 64 * KiB, S1));
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

static Suite *streams_suite(void)
{
    Suite *s = suite_create("streams");
    TCase *t = tcase_create("reuse");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, a_block_freed_on_a_stream_goes_back_to_that_streams_next_allocation_at_once);
    tcase_add_test(t, blocks_freed_next_to_each_other_on_a_stream_join_and_a_larger_run_is_cut);
    tcase_add_test(t, a_second_free_of_a_waiting_block_is_refused_however_it_was_joined);
    tcase_add_test(t, other_streams_get_waiting_blocks_once_the_stream_is_idle_or_behind_a_wait);
    tcase_add_test(t, debug_pools_keep_each_stream_free_apart);
    tcase_add_test(t, fixed_pools_reuse_a_stream_free_on_that_stream);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(streams_suite)
