/* Attacks on the per-stream free lanes (gpu/stream.c, issue 22) on the
 * host-side stand-in for a device (backend/cuda_sim.h): double frees of
 * joined, cut and waiting blocks on every path (thread caches included),
 * queries of waiting blocks, whole-pool operations with blocks waiting,
 * many lanes, tiny devices, counting and tracking pools, and threads on
 * many streams at once. Each test checks what the stand-in says: no block
 * handed to a stream while earlier work may use it, no violation, and the
 * pool's figures against the device's. */
#include "mp_streams_test.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- double frees on the thread caches' path ---------------------------- */

/* A lock-free pool (thread caches): a block freed plainly sits in the
 * caller's cache, live to the strategy but free to the user. A second free
 * of it on a stream is a double free and must be refused; were it queued,
 * the cache and the lane would both hand it out. */
START_TEST(a_stream_free_of_a_block_in_a_thread_cache_is_refused)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_high_performance_gpu(&c, 0));
    c.initial_size = 16 * MiB;
    mp_pool *p = gpu_pool_of("hp-cache", c);
    void *a = alloc_ok(p, 4 * KiB);
    ck_ok(mp_pool_deallocate(p, a)); /* into this thread's cache */
    ck_status(mp_pool_deallocate_on_stream(p, a, S1), MP_ERR_INVALID_POINTER);
    ck_detail_has("double free");
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    /* Whatever happened, the block is handed out at most once. */
    void *x = alloc_ok(p, 4 * KiB), *y = NULL;
    ck_ok(mp_pool_allocate_on_stream(p, 4 * KiB, S1, &y));
    ck_assert_ptr_ne(x, y);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, y));
    ck_ok(mp_pool_trim(p, 0));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* The same on a fixed pool used by one thread (thread_safe off: one solo
 * cache). */
START_TEST(a_stream_free_of_a_block_in_a_solo_cache_is_refused)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_fixed_size_gpu(&c, 64 * KiB, 0));
    c.thread_safe = false;
    c.track_stats = false;
    mp_pool *p = gpu_pool_of("solo-cache", c);
    void *a = alloc_ok(p, 64 * KiB);
    ck_ok(mp_pool_deallocate(p, a));
    ck_status(mp_pool_deallocate_on_stream(p, a, S1), MP_ERR_INVALID_POINTER);
    void *x = alloc_ok(p, 64 * KiB), *y = NULL;
    ck_ok(mp_pool_allocate_on_stream(p, 64 * KiB, S1, &y));
    ck_assert_ptr_ne(x, y);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, y));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* A block taken back from a lane on a lock-free pool is an ordinary live
 * block: freed plainly, then again on a stream or plainly, the second is
 * refused. */
START_TEST(a_block_reused_from_a_lane_on_a_lock_free_pool_frees_once)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_high_performance_gpu(&c, 0));
    c.initial_size = 16 * MiB;
    mp_pool *p = gpu_pool_of("hp-reuse", c);
    void *a = on_stream(p, 64 * KiB, S1);
    used_then_freed(p, a, 64 * KiB, S1);
    void *b = on_stream(p, 64 * KiB, S1);
    ck_assert_ptr_eq(b, a);
    ck_ok(mp_pool_deallocate(p, b));
    ck_status(mp_pool_deallocate(p, b), MP_ERR_INVALID_POINTER);
    ck_status(mp_pool_deallocate_on_stream(p, b, S1), MP_ERR_INVALID_POINTER);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* ---- joined and cut blocks --------------------------------------------- */

/* Every address inside a joined run, and the rest of a cut one, is refused
 * by every call that takes a block, with a detail; owns says no. */
START_TEST(pointers_into_joined_and_cut_runs_are_refused_everywhere)
{
    mp_pool *p = gpu_pool_of("interior", gpu_cfg());
    char *a = on_stream(p, MiB, S1), *b = on_stream(p, MiB, S1), *c = on_stream(p, MiB, S1);
    ck_assert_ptr_eq(b, a + MiB);
    ck_assert_ptr_eq(c, b + MiB);
    used_then_freed(p, a, MiB, S1);
    used_then_freed(p, b, MiB, S1);
    used_then_freed(p, c, MiB, S1);
    ck_assert_uint_eq(stats_of(p).pending_frees, 1);
    char *probes[] = {a, b, c, a + 256, b + 4096};
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        size_t n = 0;
        bool owned = true;
        void *x = NULL;
        ck_status(mp_pool_deallocate(p, probes[i]), MP_ERR_INVALID_POINTER);
        ck_status(mp_pool_deallocate_on_stream(p, probes[i], S1), MP_ERR_INVALID_POINTER);
        ck_status(mp_pool_deallocate_on_stream(p, probes[i], S2), MP_ERR_INVALID_POINTER);
        ck_status(mp_pool_usable_size(p, probes[i], &n), MP_ERR_INVALID_POINTER);
        ck_status(mp_pool_reallocate(p, probes[i], 64, &x), MP_ERR_INVALID_POINTER);
        ck_ok(mp_pool_owns(p, probes[i], &owned));
        ck_assert(!owned);
    }
    ck_assert_uint_eq(stats_of(p).pending_frees, 1);
    ck_assert_uint_eq(pending_bytes(p), 3 * MiB);
    /* Cut: the front goes out, the rest (at b + 512 KiB) waits on. */
    char *x = on_stream(p, MiB + 512 * KiB, S1);
    ck_assert_ptr_eq(x, a);
    size_t n = 0;
    ck_ok(mp_pool_usable_size(p, x, &n));
    ck_assert_uint_eq(n, MiB + 512 * KiB);
    bool owned = false;
    ck_ok(mp_pool_owns(p, x, &owned));
    ck_assert(owned);
    ck_status(mp_pool_deallocate(p, b + 512 * KiB), MP_ERR_INVALID_POINTER);
    ck_status(mp_pool_deallocate(p, b), MP_ERR_INVALID_POINTER); /* inside x now */
    /* x freed on S1 joins its rest again; x's second free is refused. */
    used_then_freed(p, x, MiB + 512 * KiB, S1);
    ck_assert_uint_eq(stats_of(p).pending_frees, 1);
    ck_status(mp_pool_deallocate(p, x), MP_ERR_INVALID_POINTER);
    ck_detail_has("already freed on a stream");
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ends_clean(p);
}
END_TEST

/* Reallocating a block cut from a run: it grows by moving, and where the
 * new block lies in the waiting rest, the pool's stream (where the copy
 * and the caller's next work go) waits for S1 first (a steal). */
START_TEST(a_cut_block_reallocates_safely_next_to_its_waiting_rest)
{
    mp_pool *p = gpu_pool_of("cut-realloc", gpu_cfg());
    char *a = on_stream(p, 4 * MiB, S1);
    used_then_freed(p, a, 4 * MiB, S1);
    char *x = on_stream(p, MiB, S1);
    ck_assert_ptr_eq(x, a);
    ck_assert_uint_eq(pending_bytes(p), 3 * MiB);
    mp__sim_watch(x, MiB, S1);
    mp__sim_sync(NULL);
    char *y = NULL;
    ck_ok(mp_pool_reallocate(p, x, 2 * MiB, (void **)&y));
    ck_assert_ptr_ne(y, x);
    ck_assert(mp__sim_handout_safe(y, 2 * MiB, NULL));
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_status(mp_pool_deallocate(p, x), MP_ERR_INVALID_POINTER); /* moved: x is free */
    ck_ok(mp_pool_deallocate(p, y));
    ck_intact(p);
    mp__sim_sync_all();
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, usage().in_use);
    ck_assert_uint_eq(usage().violations, 0);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* ---- whole-pool operations with blocks waiting ------------------------- */

START_TEST(a_reset_forgets_every_lane_and_the_pool_works_on)
{
    mp_pool *p = gpu_pool_of("reset", gpu_cfg());
    for (int i = 1; i <= 12; i++) {
        void *x = on_stream(p, MiB, STREAM(i));
        used_then_freed(p, x, MiB, STREAM(i));
    }
    void *live = on_stream(p, MiB, S1);
    ck_ok(mp_pool_reset(p));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.pending_frees, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(pending_bytes(p), 0);
    ck_status(mp_pool_deallocate_on_stream(p, live, S1), MP_ERR_INVALID_POINTER);
    /* Blocks after the reset may lie where streams still work: only behind
     * a wait. */
    for (int i = 1; i <= 12; i++) {
        void *x = on_stream(p, MiB, STREAM(i + 1));
        used_then_freed(p, x, MiB, STREAM(i + 1));
    }
    ends_clean(p);
    ck_assert_uint_eq(usage().violations, 0);
}
END_TEST

START_TEST(a_pool_with_blocks_waiting_on_busy_streams_destroys_cleanly)
{
    mp_pool *p = gpu_pool_of("destroy", gpu_cfg());
    for (int i = 1; i <= 10; i++) {
        void *x = on_stream(p, 3 * MiB, STREAM(i));
        used_then_freed(p, x, 3 * MiB, STREAM(i));
    }
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage().in_use, 0);
    ck_assert_uint_eq(usage().violations, 0);
}
END_TEST

/* set_device: blocks freed on streams that have passed their frees are no
 * live blocks; the pool may move once they are back. */
START_TEST(set_device_counts_blocks_whose_streams_are_done_as_free)
{
    mp_pool *p = gpu_pool_of("set-device", gpu_cfg());
    void *x = on_stream(p, MiB, S1);
    used_then_freed(p, x, MiB, S1);
    mp__sim_sync(S1);
    ck_ok(mp_pool_set_device(p, 1));
    int dev = -1;
    ck_ok(mp_pool_get_device(p, &dev));
    ck_assert_int_eq(dev, 1);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage().violations, 0);
}
END_TEST

/* While a stream is still busy with a freed block, set_device is refused,
 * and the reason says the blocks wait on streams, not that the user holds
 * them. */
START_TEST(set_device_while_a_stream_is_busy_says_the_blocks_wait_on_streams)
{
    mp_pool *p = gpu_pool_of("set-device-busy", gpu_cfg());
    void *x = on_stream(p, MiB, S1);
    used_then_freed(p, x, MiB, S1);
    ck_status(mp_pool_set_device(p, 1), MP_ERR_INVALID_OPERATION);
    ck_detail_has("stream");
    mp__sim_sync(S1);
    ck_ok(mp_pool_set_device(p, 1));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* The pool's stream set to one whose lane holds blocks: those blocks are
 * now freed in the pool stream's order; every later handout is safe. */
START_TEST(setting_the_pool_stream_to_a_stream_with_a_lane_keeps_handouts_safe)
{
    mp_pool *p = gpu_pool_of("set-stream", gpu_cfg());
    void *blocks[6];
    for (int i = 0; i < 6; i++)
        blocks[i] = on_stream(p, 2 * MiB, S1);
    for (int i = 0; i < 6; i += 2)
        used_then_freed(p, blocks[i], 2 * MiB, S1);
    for (int i = 1; i < 6; i += 2)
        used_then_freed(p, blocks[i], 2 * MiB, S2);
    ck_ok(mp_pool_set_stream(p, S1));
    /* S1 is the pool's stream now: its lane's blocks may not be taken twice. */
    for (int i = 0; i < 6; i++)
        ck_status(mp_pool_deallocate_on_stream(p, blocks[i], S1), MP_ERR_INVALID_POINTER);
    void *got[12];
    for (int i = 0; i < 12; i++) {
        void *stream = i % 3 == 0 ? S1 : i % 3 == 1 ? S2 : STREAM(3);
        got[i] = on_stream(p, 2 * MiB, stream);
    }
    for (int i = 0; i < 12; i++)
        ck_ok(mp_pool_deallocate_on_stream(p, got[i], i % 3 == 0 ? S1 : i % 3 == 1 ? S2 : STREAM(3)));
    /* And back: the old pool stream's lane. */
    ck_ok(mp_pool_set_stream(p, NULL));
    for (int i = 0; i < 12; i++) {
        void *x = on_stream(p, 2 * MiB, i % 2 ? S1 : S2);
        used_then_freed(p, x, 2 * MiB, i % 2 ? S1 : S2);
    }
    ends_clean(p);
}
END_TEST

/* A snapshot and the statistics agree on what waits: both ask the
 * streams first (a snapshot used to report blocks of a stream long idle
 * as pending, which a statistics call then said were free). */
START_TEST(a_snapshot_and_the_stats_agree_on_what_waits)
{
    mp_pool *p = gpu_pool_of("snapshot", gpu_cfg());
    void *x = on_stream(p, MiB, S1), *y = on_stream(p, 2 * MiB, S2);
    used_then_freed(p, x, MiB, S1);
    used_then_freed(p, y, 2 * MiB, S2);
    mp__sim_sync(S1);
    mp_memory_snapshot snap = MP_MEMORY_SNAPSHOT_INIT;
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &snap, NULL, 0, NULL, 0));
    ck_assert_uint_eq(snap.pending_blocks, 1);
    ck_assert_uint_eq(snap.pending_bytes, 2 * MiB);
    ck_assert_uint_eq(stats_of(p).pending_frees, snap.pending_blocks);
    mp__sim_sync(S2);
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &snap, NULL, 0, NULL, 0));
    ck_assert_uint_eq(snap.pending_blocks, 0);
    ck_assert_uint_eq(snap.pending_bytes, 0);
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* The pool touches a stream's handle only inside the calls that pass it
 * (a free records the stream's event there), so the caller may destroy
 * the stream afterwards; later looks ask that event only, and once the
 * stream's blocks have gone back, nothing at all is asked about it. */
START_TEST(a_stream_whose_blocks_went_back_is_never_asked_about_again)
{
    mp_pool *p = gpu_pool_of("forget-stream", gpu_cfg());
    void *x = on_stream(p, MiB, S1);
    used_then_freed(p, x, MiB, S1);
    mp__sim_sync(S1);
    ck_assert_uint_eq(pending_bytes(p), 0); /* the look */
    mp__sim_usage u = usage();
    for (int i = 0; i < 3; i++) {
        (void)stats_of(p);
        ck_ok(mp_pool_trim(p, SIZE_MAX));
        void *y = on_stream(p, 3 * MiB, S2);
        ck_ok(mp_pool_deallocate(p, y));
    }
    ck_assert_uint_eq(usage().queries, u.queries);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* ---- counts ------------------------------------------------------------ */

/* Counting and tracking pools count a block taken back from a lane as an
 * allocation, and its free as a free; what is live and what is listed
 * agree after cuts and joins. */
START_TEST(counts_stay_exact_through_cuts_and_joins)
{
    mp_config c = gpu_cfg();
    c.counters_only = _i == 1;
    mp_pool *p = gpu_pool_of(_i ? "counting" : "tracking", c);
    char *a = on_stream(p, 1000, S1), *b = on_stream(p, 3000, S1), *d = on_stream(p, 70000, S1);
    used_then_freed(p, a, 1000, S1);
    used_then_freed(p, b, 3000, S1);
    used_then_freed(p, d, 70000, S1);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.allocation_count, 3);
    ck_assert_uint_eq(s.deallocation_count, 3);
    char *x = on_stream(p, 500, S1), *y = on_stream(p, 2000, S1), *z = on_stream(p, 60000, S1);
    s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 3);
    ck_assert_uint_eq(s.allocation_count, 6);
    if (!_i) {
        ck_assert_uint_eq(s.current_used, 62500);
        mp_allocation_info recs[8] = {{.struct_size = sizeof(mp_allocation_info)}};
        size_t n = 0;
        ck_ok(mp_pool_get_allocations(p, recs, 8, &n));
        ck_assert_uint_eq(n, 3);
        size_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            ck_assert(recs[i].ptr == x || recs[i].ptr == y || recs[i].ptr == z);
            sum += recs[i].size;
        }
        ck_assert_uint_eq(sum, 62500);
    }
    ck_ok(mp_pool_deallocate(p, x));
    used_then_freed(p, y, 2000, S1);
    ck_ok(mp_pool_deallocate_on_stream(p, z, S2));
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.deallocation_count, 6);
    bool leaks = true;
    ck_ok(mp_pool_has_leaks(p, &leaks));
    ck_assert(!leaks);
    ck_intact(p);
    mp__sim_sync_all();
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* Tracking switched off and on while blocks of both kinds wait and join:
 * the joined run, taken back, is one tracked allocation; a reset of the
 * statistics restarts from it; the text and JSON forms say what waits. */
START_TEST(tracking_toggled_while_blocks_wait_keeps_counts_exact)
{
    mp_pool *p = gpu_pool_of("toggle", gpu_cfg());
    char *a = on_stream(p, MiB, S1), *b = on_stream(p, MiB, S1);
    ck_ok(mp_pool_set_tracking(p, false));
    char *c = on_stream(p, MiB, S1);
    ck_assert_ptr_eq(c, b + MiB);
    used_then_freed(p, a, MiB, S1);
    used_then_freed(p, c, MiB, S1);
    used_then_freed(p, b, MiB, S1); /* joins a (tracked) and c (not) */
    ck_ok(mp_pool_set_tracking(p, true));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.pending_frees, 1);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    char *text = NULL, *json = NULL;
    ck_ok(mp_pool_stats_string(p, &text));
    ck_ok(mp_pool_stats_json(p, &json));
    ck_assert_ptr_nonnull(strstr(json, "pending"));
    mp_string_free(text);
    mp_string_free(json);
    char *x = on_stream(p, 3 * MiB, S1);
    ck_assert_ptr_eq(x, a);
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 3 * MiB);
    ck_assert_uint_eq(s.live_allocations, 1);
    ck_ok(mp_pool_reset_stats(p));
    s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 1);
    ck_assert_uint_eq(s.current_used, 3 * MiB);
    mp_allocation_info recs[4] = {{.struct_size = sizeof(mp_allocation_info)}};
    size_t n = 0;
    ck_ok(mp_pool_get_allocations(p, recs, 4, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(recs[0].ptr, x);
    ck_assert_uint_eq(recs[0].size, 3 * MiB);
    ck_ok(mp_pool_deallocate(p, x));
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_assert_uint_eq(s.live_allocations, 0);
    bool leaks = true;
    ck_ok(mp_pool_has_leaks(p, &leaks));
    ck_assert(!leaks);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* ---- many lanes, small devices ----------------------------------------- */

/* More streams than lanes kept: lanes open and close (pruning) while
 * blocks wait on some, and every handout stays safe. */
START_TEST(many_streams_open_and_prune_lanes_safely)
{
    mp_pool *p = gpu_pool_of("lanes", gpu_cfg());
    unsigned seed = 11;
    void *held[64] = {0};
    size_t size[64] = {0};
    int where[64] = {0};
    for (int round = 0; round < 3000; round++) {
        int k = (int)(rand_r(&seed) % 64);
        if (held[k]) {
            if (rand_r(&seed) % 4)
                used_then_freed(p, held[k], size[k], STREAM(where[k]));
            else { /* another stream, once the one that used it is done */
                mp__sim_sync(STREAM(where[k]));
                ck_ok(mp_pool_deallocate_on_stream(p, held[k], STREAM(1 + rand_r(&seed) % 20)));
            }
            held[k] = NULL;
        } else {
            where[k] = 1 + (int)(rand_r(&seed) % 20);
            size[k] = (size_t)256 << (rand_r(&seed) % 13);
            held[k] = on_stream(p, size[k], STREAM(where[k]));
            mp__sim_watch(held[k], size[k], STREAM(where[k]));
        }
        if (rand_r(&seed) % 50 == 0)
            mp__sim_sync(STREAM(1 + rand_r(&seed) % 20));
        if (rand_r(&seed) % 100 == 0)
            (void)stats_of(p);
        if (rand_r(&seed) % 300 == 0)
            ck_ok(mp_pool_trim(p, 0));
        if (round % 500 == 0)
            ck_intact(p);
    }
    for (int k = 0; k < 64; k++)
        if (held[k])
            ck_ok(mp_pool_deallocate_on_stream(p, held[k], STREAM(where[k])));
    ends_clean(p);
}
END_TEST

/* A tiny device (and a max_size cap): blocks waiting on busy streams are
 * stolen behind a wait rather than failing, and a real shortage fails
 * cleanly with a reason. */
START_TEST(a_tiny_device_steals_from_busy_lanes_and_fails_cleanly)
{
    mp__sim_end();
    sim_on(16 * MiB, _i ? 0 : 2 * MiB);
    mp_config c = gpu_cfg();
    c.initial_size = 0;
    if (_i == 2)
        c.max_size = 12 * MiB;
    mp_pool *p = new_gpu_pool("tiny", c);
    void *a[3];
    for (int i = 0; i < 3; i++)
        a[i] = on_stream(p, 3 * MiB, STREAM(1 + i));
    for (int i = 0; i < 3; i++)
        used_then_freed(p, a[i], 3 * MiB, STREAM(1 + i));
    /* Every stream busy, the device nearly full: another stream gets room. */
    void *x = on_stream(p, 6 * MiB, STREAM(7));
    void *y = NULL;
    mp_status s = mp_pool_allocate_on_stream(p, 64 * MiB, STREAM(8), &y);
    ck_assert_int_eq(s, MP_ERR_OUT_OF_MEMORY);
    ck_assert_ptr_null(y);
    ck_assert(strlen(mp_last_error_message()) > 0);
    ck_ok(mp_pool_deallocate_on_stream(p, x, STREAM(7)));
    ck_intact(p);
    mp_stats st = stats_of(p);
    ck_assert_uint_eq(st.reserved_bytes, usage().in_use);
    if (c.max_size)
        ck_assert_uint_le(st.reserved_bytes, c.max_size);
    ck_assert_uint_eq(usage().violations, 0);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage().in_use, 0);
}
END_TEST

/* Managed blocks freed on a stream wait in its lane with the device
 * blocks (and join each other); a stream allocation, which asks for device
 * memory, never gets one of them. (The stand-in has no pinned memory.) */
START_TEST(managed_blocks_in_a_lane_stay_in_their_arena)
{
    mp_pool *p = gpu_pool_of("flags", gpu_cfg());
    void *m = NULL, *q = NULL;
    ck_ok(mp_pool_allocate_flags(p, MiB, MP_ALLOC_MANAGED, &m));
    ck_ok(mp_pool_allocate_flags(p, MiB, MP_ALLOC_MANAGED, &q));
    void *d = on_stream(p, MiB, S1);
    used_then_freed(p, m, MiB, S1);
    used_then_freed(p, q, MiB, S1);
    used_then_freed(p, d, MiB, S1);
    ck_assert_uint_eq(stats_of(p).pending_frees, (char *)q == (char *)m + MiB ? 2 : 3);
    void *x = on_stream(p, MiB, S1), *y = on_stream(p, MiB, S1);
    ck_assert_ptr_ne(x, m);
    ck_assert_ptr_ne(x, q);
    ck_assert_ptr_ne(y, m);
    ck_assert_ptr_ne(y, q);
    ck_ok(mp_pool_deallocate_on_stream(p, x, S1));
    ck_ok(mp_pool_deallocate_on_stream(p, y, S1));
    ck_intact(p);
    mp__sim_sync(S1);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage().violations, 0);
}
END_TEST

/* ---- threads ----------------------------------------------------------- */

typedef struct worker {
    mp_pool *pool;
    int id;
    int bad;
    int done;   /* allocations that succeeded */
    int unsafe; /* of them, handed out while earlier work may use them */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    unsigned seed = (unsigned)w->id * 7919u + 3;
    void *held[16] = {0};
    size_t size[16];
    void *where[16]; /* the stream that uses the block (NULL: the pool's) */
    for (int round = 0; round < mp_test_scaled(4000); round++) {
        int k = (int)(rand_r(&seed) % 16);
        if (held[k]) {
            mp__sim_watch(held[k], size[k], where[k]);
            mp_status s;
            if (rand_r(&seed) % 3 == 0) { /* plainly: in the pool stream's order, once where[k] is done */
                mp__sim_sync(where[k]);
                s = mp_pool_deallocate(w->pool, held[k]);
            } else {
                s = mp_pool_deallocate_on_stream(w->pool, held[k], where[k]);
            }
            if (s != MP_OK)
                w->bad++;
            held[k] = NULL;
        } else {
            /* Streams shared between threads, as a framework's are. */
            bool plain = rand_r(&seed) % 4 == 0;
            where[k] = plain ? NULL : STREAM(1 + rand_r(&seed) % 12);
            size[k] = (size_t)64 << (rand_r(&seed) % 15);
            void *x = NULL;
            mp_status s = plain ? mp_pool_allocate(w->pool, size[k], &x)
                                : mp_pool_allocate_on_stream(w->pool, size[k], where[k], &x);
            if (s == MP_OK) {
                held[k] = x, w->done++;
                if (!mp__sim_handout_safe(x, size[k], where[k]))
                    w->unsafe++;
            } else if (s != MP_ERR_OUT_OF_MEMORY) {
                w->bad++;
            }
        }
        if (rand_r(&seed) % 64 == 0) {
            mp_stats st = MP_STATS_INIT;
            if (mp_pool_get_stats(w->pool, &st) != MP_OK)
                w->bad++;
        }
        if (rand_r(&seed) % 256 == 0)
            mp_pool_trim(w->pool, 0);
        if (rand_r(&seed) % 512 == 0) {
            mp_memory_snapshot snap = MP_MEMORY_SNAPSHOT_INIT;
            if (mp_pool_memory_snapshot(w->pool, MP_SNAPSHOT_NOW, &snap, NULL, 0, NULL, 0) != MP_OK)
                w->bad++;
        }
        if (rand_r(&seed) % 32 == 0)
            mp__sim_sync(STREAM(1 + rand_r(&seed) % 12));
    }
    for (int k = 0; k < 16; k++)
        if (held[k] && mp_pool_deallocate_on_stream(w->pool, held[k], where[k]) != MP_OK)
            w->bad++;
    return NULL;
}

/* Threads allocating and freeing on shared streams (TSan build: no race;
 * any build: no failure, exact figures once quiet). Presets: default,
 * high_performance (thread caches), counters_only, fixed, and thread
 * caches that count. */
START_TEST(threads_on_many_streams_keep_the_pool_exact)
{
    mp_config c = gpu_cfg();
    if (_i == 1)
        ck_ok(mp_config_high_performance_gpu(&c, 0));
    if (_i == 2)
        c.counters_only = true;
    if (_i == 3)
        ck_ok(mp_config_fixed_size_gpu(&c, 2 * MiB, 0));
    if (_i == 4) { /* thread caches that count */
        ck_ok(mp_config_high_performance_gpu(&c, 0));
        c.track_stats = c.counters_only = true;
    }
    c.initial_size = 32 * MiB;
    mp_pool *p = gpu_pool_of("threads", c);
    enum { N = 4 };
    pthread_t t[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){p, i, 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].bad, 0);
        ck_assert_int_eq(w[i].unsafe, 0);
        ck_assert_int_gt(w[i].done, mp_test_scaled(4000) / 4); /* the races ran */
    }
    ck_intact(p);
    mp__sim_sync_all();
    ck_ok(mp_pool_trim(p, 0));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.pending_frees, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(pending_bytes(p), 0);
    if (_i != 1)
        ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.reserved_bytes, usage().in_use);
    ck_assert_uint_eq(usage().violations, 0);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage().in_use, 0);
}
END_TEST

/* ---- fork ---------------------------------------------------------------- */

/* A child forked while lanes hold joined and cut blocks on busy streams
 * takes them back, frees on streams, polls, resets and destroys: clean
 * statuses, no crash, no hang; the parent's pool is untouched. */
START_TEST(a_child_forked_with_lanes_full_uses_them_cleanly)
{
    mp_pool *p = gpu_pool_of("fork-lanes", gpu_cfg());
    char *a = on_stream(p, MiB, S1), *b = on_stream(p, MiB, S1), *c = on_stream(p, 4 * MiB, S2);
    used_then_freed(p, a, MiB, S1);
    used_then_freed(p, b, MiB, S1); /* joined */
    used_then_freed(p, c, 4 * MiB, S2);
    (void)on_stream(p, 512 * KiB, S2); /* cut: the rest waits */
    mp_stats before = stats_of(p);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(20);
        int bad = 0;
        void *x = NULL, *y = NULL;
        mp_stats st = MP_STATS_INIT;
        bad += mp_pool_allocate_on_stream(p, MiB, S1, &x) != MP_OK || x != a;
        bad += mp_pool_deallocate_on_stream(p, x, S1) != MP_OK;
        bad += mp_pool_deallocate(p, a) != MP_ERR_INVALID_POINTER;
        bad += mp_pool_allocate_on_stream(p, 64 * MiB, STREAM(5), &y) != MP_OK;
        bad += y && mp_pool_deallocate_on_stream(p, y, STREAM(5)) != MP_OK;
        bad += mp_pool_get_stats(p, &st) != MP_OK;
        bad += mp_pool_trim(p, 0) != MP_OK;
        bad += mp_pool_check(p) != MP_OK;
        bad += mp_pool_reset(p) != MP_OK;
        bad += mp_pool_destroy(p) != MP_OK;
        _exit(bad ? 3 : 0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x", status);
    mp_stats after = stats_of(p);
    ck_assert_uint_eq(after.pending_frees, before.pending_frees);
    ck_assert_uint_eq(after.live_allocations, before.live_allocations);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* ---- a random walk over every call -------------------------------------- */

static mp_config fuzz_cfg(int preset)
{
    mp_config c = gpu_cfg();
    switch (preset) {
    case 1: c.counters_only = true; break;
    case 2: ck_ok(mp_config_high_performance_gpu(&c, 0)); c.initial_size = 8 * MiB; break;
    case 3: ck_ok(mp_config_fixed_size_gpu(&c, 256 * KiB, 0)); break;
    case 4: ck_ok(mp_config_debug_gpu(&c, 0)); break;
    case 5: c.max_size = 24 * MiB; c.initial_size = 0; break;
    case 6: c.track_stats = false; break;
    case 7: /* thread caches that count */
        ck_ok(mp_config_high_performance_gpu(&c, 0));
        c.initial_size = 8 * MiB;
        c.track_stats = c.counters_only = true;
        break;
    default: break;
    }
    return c;
}

/* One thread, every call in random order on eight streams (the pool's
 * among them, switched now and then), with the stand-in checking each
 * handout and the pool's invariants checked as it goes. Presets: default,
 * counters_only, high_performance, fixed, debug, max_size on a 64 MiB
 * device, untracked, counting thread caches; odd loop indices use a device without on-demand
 * mapping. */
START_TEST(a_random_walk_over_every_call_keeps_every_handout_safe)
{
    int preset = _i / 2;
    mp__sim_end();
    sim_on(preset == 5 ? 64 * MiB : 512 * MiB, _i % 2 ? 0 : 2 * MiB);
    mp_config c = fuzz_cfg(preset);
    mp_pool *p = new_gpu_pool("walk", c);
    bool fixed = c.allocator_type == MP_ALLOCATOR_FIXED_SIZE;
    bool aligned = !fixed && !c.enable_debugging; /* debug pools serve their own alignment only */
    enum { K = 48 };
    void *held[K] = {0};
    size_t size[K] = {0};
    void *where[K] = {0}; /* the stream whose work last uses the block */
    void *pool_stream = NULL;
    unsigned seed = 1234u + (unsigned)_i;
    for (int round = 0; round < mp_test_scaled(6000); round++) {
        int k = (int)(rand_r(&seed) % K);
        void *st = rand_r(&seed) % 8 ? STREAM(1 + rand_r(&seed) % 7) : NULL;
        unsigned op = rand_r(&seed) % 100;
        if (!held[k]) {
            size_t n = fixed ? 1 + rand_r(&seed) % (256 * KiB) : (size_t)1 + (rand_r(&seed) % ((size_t)1 << (6 + rand_r(&seed) % 16)));
            void *x = NULL;
            mp_status s;
            if (op < 60) {
                s = mp_pool_allocate_on_stream(p, n, st, &x);
            } else if (op < 80) {
                st = pool_stream;
                s = mp_pool_allocate(p, n, &x);
            } else if (op < 90 && aligned) {
                st = pool_stream;
                s = mp_pool_allocate_aligned(p, n, (size_t)4096 << (rand_r(&seed) % 4), &x);
            } else {
                st = pool_stream;
                s = mp_pool_allocate_flags(p, n, MP_ALLOC_MANAGED, &x);
            }
            if (s == MP_OK) {
                ck_assert_msg(mp__sim_handout_safe(x, n, st), "round %d: %p (%zu bytes) unsafe on %p", round, x, n, st);
                held[k] = x, size[k] = n, where[k] = st;
                mp__sim_watch(x, n, st);
            } else {
                ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY, "round %d op %u: %s", round, op, mp_last_error_message());
            }
        } else if (op < 45) {
            ck_ok(mp_pool_deallocate_on_stream(p, held[k], where[k]));
            held[k] = NULL;
        } else if (op < 55) { /* on another stream, once the last user is done */
            mp__sim_sync(where[k]);
            ck_ok(mp_pool_deallocate_on_stream(p, held[k], st));
            held[k] = NULL;
        } else if (op < 70) { /* in the pool stream's order */
            if (where[k] != pool_stream)
                mp__sim_sync(where[k]);
            ck_ok(mp_pool_deallocate(p, held[k]));
            held[k] = NULL;
        } else if (op < 80 && !fixed) {
            size_t n = (size_t)1 + rand_r(&seed) % (4 * MiB);
            void *y = NULL;
            if (where[k] != pool_stream)
                mp__sim_sync(where[k]); /* the copy runs on the pool's stream */
            mp_status s = mp_pool_reallocate(p, held[k], n, &y);
            if (s == MP_OK) {
                ck_assert(mp__sim_handout_safe(y, n, pool_stream));
                held[k] = y, size[k] = n, where[k] = pool_stream;
                mp__sim_watch(y, n, pool_stream);
            } else {
                ck_assert_int_eq(s, MP_ERR_OUT_OF_MEMORY);
            }
        } else if (op < 85) {
            size_t n = 0;
            bool owned = false;
            ck_ok(mp_pool_usable_size(p, held[k], &n));
            ck_assert_uint_ge(n, size[k]);
            ck_ok(mp_pool_owns(p, held[k], &owned));
            ck_assert(owned);
        }
        /* Now and then: double frees, the pool's stream moves, whole-pool calls. */
        unsigned extra = rand_r(&seed) % 1000;
        if (extra < 10) {
            int j = (int)(rand_r(&seed) % K);
            if (!held[j] && size[j]) { /* a block once freed here: its pointer may be anything now */
                bool owned = true;
                ck_ok(mp_pool_owns(p, (void *)((uintptr_t)0x1), &owned));
                ck_assert(!owned);
            }
        } else if (extra < 14) {
            void *ns = rand_r(&seed) % 2 ? NULL : STREAM(1 + rand_r(&seed) % 7);
            ck_ok(mp_pool_set_stream(p, ns));
            pool_stream = ns;
        } else if (extra < 30) {
            (void)stats_of(p);
            (void)pending_bytes(p);
        } else if (extra < 36) {
            ck_ok(mp_pool_trim(p, rand_r(&seed) % 2 ? 0 : 8 * MiB));
        } else if (extra < 60) {
            mp__sim_sync(STREAM(1 + rand_r(&seed) % 7));
        } else if (extra < 62) {
            mp__sim_sync(NULL);
        } else if (extra < 63) { /* the caller's blocks done with; the lanes' streams may be busy */
            for (int j = 0; j < K; j++)
                if (held[j])
                    mp__sim_sync(where[j]), held[j] = NULL;
            ck_ok(mp_pool_reset(p));
            ck_assert_uint_eq(stats_of(p).pending_frees, 0);
        } else if (extra < 65 && preset != 1 && preset != 2 && preset != 7) {
            ck_ok(mp_pool_set_tracking(p, rand_r(&seed) % 2));
        } else if (extra < 67) {
            ck_ok(mp_pool_reset_stats(p));
        }
        if (round % 250 == 0) {
            ck_intact(p);
            ck_assert_uint_eq(usage().violations, 0);
        }
    }
    mp_stats s = stats_of(p);
    size_t live = 0;
    for (int k = 0; k < K; k++)
        live += held[k] != NULL;
    ck_assert_uint_eq(s.live_allocations, live);
    for (int k = 0; k < K; k++)
        if (held[k])
            ck_ok(mp_pool_deallocate_on_stream(p, held[k], where[k]));
    ck_assert_uint_eq(stats_of(p).current_used, 0);
    ends_clean(p);
}
END_TEST

static Suite *streams_attack_suite(void)
{
    Suite *s = suite_create("streams_attack");
    TCase *t = tcase_create("attack");
    tcase_set_timeout(t, 120);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, a_stream_free_of_a_block_in_a_thread_cache_is_refused);
    tcase_add_test(t, a_stream_free_of_a_block_in_a_solo_cache_is_refused);
    tcase_add_test(t, a_block_reused_from_a_lane_on_a_lock_free_pool_frees_once);
    tcase_add_test(t, pointers_into_joined_and_cut_runs_are_refused_everywhere);
    tcase_add_test(t, a_cut_block_reallocates_safely_next_to_its_waiting_rest);
    tcase_add_test(t, a_reset_forgets_every_lane_and_the_pool_works_on);
    tcase_add_test(t, a_pool_with_blocks_waiting_on_busy_streams_destroys_cleanly);
    tcase_add_test(t, set_device_counts_blocks_whose_streams_are_done_as_free);
    tcase_add_test(t, set_device_while_a_stream_is_busy_says_the_blocks_wait_on_streams);
    tcase_add_test(t, setting_the_pool_stream_to_a_stream_with_a_lane_keeps_handouts_safe);
    tcase_add_test(t, a_snapshot_and_the_stats_agree_on_what_waits);
    tcase_add_test(t, a_stream_whose_blocks_went_back_is_never_asked_about_again);
    tcase_add_loop_test(t, counts_stay_exact_through_cuts_and_joins, 0, 2);
    tcase_add_test(t, tracking_toggled_while_blocks_wait_keeps_counts_exact);
    tcase_add_test(t, many_streams_open_and_prune_lanes_safely);
    tcase_add_loop_test(t, a_tiny_device_steals_from_busy_lanes_and_fails_cleanly, 0, 3);
    tcase_add_test(t, managed_blocks_in_a_lane_stay_in_their_arena);
    tcase_add_loop_test(t, threads_on_many_streams_keep_the_pool_exact, 0, 5);
    tcase_add_test(t, a_child_forked_with_lanes_full_uses_them_cleanly);
    tcase_add_loop_test(t, a_random_walk_over_every_call_keeps_every_handout_safe, 0, 16);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(streams_attack_suite)
