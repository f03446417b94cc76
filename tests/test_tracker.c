/* Standalone statistics trackers (mp_tracker_*): the seed's MemoryStats on
 * its own, and the copies of a pool's statistics that the bindings' stats
 * objects become. Counting, records, bad input that leaves the tracker
 * intact, the restart rule shared with mp_pool_reset_stats, threads and
 * fork. */
#include "mp_test.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static mp_tracker *new_tracker(void)
{
    mp_tracker *t = NULL;
    ck_ok(mp_tracker_create(&t));
    ck_assert_ptr_nonnull(t);
    return t;
}

static mp_stats tstats(const mp_tracker *t)
{
    mp_stats s = MP_STATS_INIT;
    ck_ok(mp_tracker_get_stats(t, &s));
    return s;
}

static size_t nrecords(const mp_tracker *t)
{
    size_t n = 99;
    ck_ok(mp_tracker_get_allocations(t, NULL, 0, &n));
    return n;
}

static bool leaks(const mp_tracker *t)
{
    bool l = false;
    ck_ok(mp_tracker_has_leaks(t, &l));
    return l;
}

START_TEST(records_count_like_a_pool)
{
    mp_tracker *t = new_tracker();
    ck_ok(mp_tracker_record_allocation(t, 100));
    ck_ok(mp_tracker_record_allocation(t, 300));
    ck_ok(mp_tracker_record_deallocation(t, 100));
    mp_stats s = tstats(t);
    ck_assert_uint_eq(s.total_allocated, 400);
    ck_assert_uint_eq(s.current_used, 300);
    ck_assert_uint_eq(s.peak_usage, 400);
    ck_assert_uint_eq(s.allocation_count, 2);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_assert_uint_eq(s.live_allocations, 1);
    ck_assert_double_eq(s.fragmentation_ratio, 0.0);
    ck_assert_uint_eq(s.reserved_bytes, 0);
    ck_assert_uint_eq(nrecords(t), 0); /* recorded, not tracked: no pointer */
    ck_assert(leaks(t));
    ck_ok(mp_tracker_record_deallocation(t, 300));
    ck_assert(!leaks(t));
    ck_ok(mp_tracker_destroy(t));
}
END_TEST

START_TEST(tracked_pointers_are_listed_oldest_first_and_freed_by_address)
{
    mp_tracker *t = new_tracker();
    char a[3][16];
    for (int i = 0; i < 3; i++)
        ck_ok(mp_tracker_track_allocation(t, a[i], (size_t)(10 * (i + 1))));
    ck_ok(mp_tracker_track_deallocation(t, a[0])); /* the last record fills its place */
    ck_ok(mp_tracker_track_allocation(t, a[0], 5));
    mp_allocation_info r[4] = {{.struct_size = sizeof(mp_allocation_info)}};
    size_t n = 0;
    ck_ok(mp_tracker_get_allocations(t, r, 4, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert_ptr_eq(r[0].ptr, a[1]);
    ck_assert_uint_eq(r[0].size, 20);
    ck_assert_ptr_eq(r[1].ptr, a[2]);
    ck_assert_ptr_eq(r[2].ptr, a[0]);
    ck_assert_uint_eq(r[2].size, 5);
    ck_assert(r[0].sequence < r[1].sequence && r[1].sequence < r[2].sequence);
    /* A short array: the first records and the count. */
    ck_status(mp_tracker_get_allocations(t, r, 1, &n), MP_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 3);
    ck_assert_ptr_eq(r[0].ptr, a[1]);
    mp_stats s = tstats(t);
    ck_assert_uint_eq(s.current_used, 55);
    ck_assert_uint_eq(s.allocation_count, 4);
    ck_assert_uint_eq(s.deallocation_count, 1);
    for (int i = 0; i < 3; i++) /* freed in another order than made: the index follows the moves */
        ck_ok(mp_tracker_track_deallocation(t, a[(i + 1) % 3]));
    ck_assert_uint_eq(nrecords(t), 0);
    ck_assert_uint_eq(tstats(t).current_used, 0);
    ck_assert(!leaks(t));
    ck_ok(mp_tracker_destroy(t));
}
END_TEST

START_TEST(bad_input_is_refused_and_changes_nothing)
{
    mp_tracker *t = new_tracker();
    char x, y;
    ck_ok(mp_tracker_track_allocation(t, &x, 8));
    mp_stats before = tstats(t);

    ck_status(mp_tracker_record_allocation(t, 0), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_record_deallocation(t, 0), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_record_deallocation(t, 9), MP_ERR_INVALID_ARGUMENT); /* more than in use */
    ck_detail_has("8 bytes in use");
    ck_status(mp_tracker_track_allocation(t, NULL, 8), MP_ERR_INVALID_POINTER);
    ck_status(mp_tracker_track_allocation(t, &y, 0), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_track_allocation(t, &x, 8), MP_ERR_INVALID_POINTER); /* tracked already */
    ck_detail_has("tracked already");
    ck_status(mp_tracker_track_deallocation(t, NULL), MP_ERR_INVALID_POINTER);
    ck_status(mp_tracker_track_deallocation(t, &y), MP_ERR_INVALID_POINTER); /* never tracked */
    ck_detail_has("not tracked");
    ck_status(mp_tracker_get_stats(t, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_get_allocations(t, NULL, 0, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_has_leaks(t, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_get_tracking(t, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_stats_string(t, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_create(NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_clone(t, NULL), MP_ERR_INVALID_ARGUMENT);
    mp_stats after = tstats(t);
    ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
    ck_assert_uint_eq(nrecords(t), 1);

    ck_ok(mp_tracker_track_deallocation(t, &x));
    ck_status(mp_tracker_track_deallocation(t, &x), MP_ERR_INVALID_POINTER); /* a double free */
    ck_status(mp_tracker_record_deallocation(t, 1), MP_ERR_INVALID_ARGUMENT); /* nothing live */
    ck_detail_has("no allocation live");
    ck_assert_uint_eq(tstats(t).deallocation_count, 1);

    /* Handles: NULL, garbage, a pool's, a destroyed one. */
    ck_status(mp_tracker_record_allocation(NULL, 1), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("tracker is NULL");
    int junk;
    ck_status(mp_tracker_record_allocation((mp_tracker *)(void *)&junk, 1), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("not a tracker handle");
    mp_pool *p = new_pool("not-a-tracker", cfg_variable(1 << 16));
    ck_status(mp_tracker_record_allocation((mp_tracker *)(void *)p, 1), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("is a pool handle, not a tracker handle");
    ck_status(mp_pool_reset((mp_pool *)(void *)t), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("is a tracker handle, not a pool handle");
    ck_ok(mp_pool_destroy(p));
    ck_ok(mp_tracker_destroy(t));
    ck_status(mp_tracker_record_allocation(t, 1), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("stale");
    ck_status(mp_tracker_destroy(t), MP_ERR_INVALID_ARGUMENT); /* destroyed twice */
}
END_TEST

START_TEST(tracking_off_counts_nothing_but_frees_what_it_recorded)
{
    mp_tracker *t = new_tracker();
    char a, b;
    bool on = false;
    ck_ok(mp_tracker_get_tracking(t, &on));
    ck_assert(on);
    ck_ok(mp_tracker_track_allocation(t, &a, 10));
    ck_ok(mp_tracker_set_tracking(t, false));
    ck_ok(mp_tracker_get_tracking(t, &on));
    ck_assert(!on);
    ck_ok(mp_tracker_track_allocation(t, &b, 20)); /* not counted, not recorded */
    ck_ok(mp_tracker_track_deallocation(t, &b));   /* nothing known of it: nothing done */
    ck_ok(mp_tracker_track_deallocation(t, &a));   /* recorded while on: counted off */
    mp_stats s = tstats(t);
    ck_assert_uint_eq(s.allocation_count, 1);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_assert_uint_eq(s.current_used, 0);
    ck_ok(mp_tracker_record_allocation(t, 7)); /* record counts whatever the tracking */
    ck_assert_uint_eq(tstats(t).current_used, 7);
    ck_ok(mp_tracker_destroy(t));
}
END_TEST

/* The restart rule of mp_pool_reset_stats and mp_tracker_reset: what is
 * live stays counted, so later frees never outnumber allocations. */
START_TEST(reset_keeps_the_counts_consistent)
{
    mp_tracker *t = new_tracker();
    char a, b;
    ck_ok(mp_tracker_track_allocation(t, &a, 100));
    ck_ok(mp_tracker_track_allocation(t, &b, 50));
    ck_ok(mp_tracker_track_deallocation(t, &b));
    ck_ok(mp_tracker_reset(t));
    mp_stats s = tstats(t);
    ck_assert_uint_eq(s.allocation_count, 1);
    ck_assert_uint_eq(s.deallocation_count, 0);
    ck_assert_uint_eq(s.total_allocated, 100);
    ck_assert_uint_eq(s.peak_usage, 100);
    ck_assert_uint_eq(s.current_used, 100);
    ck_assert_uint_eq(nrecords(t), 1);
    ck_ok(mp_tracker_track_deallocation(t, &a));
    s = tstats(t);
    ck_assert_uint_eq(s.allocation_count, s.deallocation_count);
    ck_assert_uint_eq(s.current_used, 0);
    ck_ok(mp_tracker_destroy(t));
}
END_TEST

START_TEST(a_copy_of_a_pool_is_a_snapshot_that_outlives_it)
{
    mp_pool *p = new_pool("copied", cfg_variable(1 << 20));
    void *a = alloc_ok(p, 100), *b = alloc_ok(p, 200);
    mp_tracker *c = NULL;
    ck_ok(mp_tracker_from_pool(p, &c));
    mp_stats then = stats_of(p);
    alloc_ok(p, 300); /* the pool moves on; the copy does not */
    ck_ok(mp_pool_deallocate(p, a));
    mp_stats s = tstats(c);
    ck_assert_uint_eq(s.current_used, 300);
    ck_assert_uint_eq(s.allocation_count, 2);
    ck_assert_uint_eq(s.live_allocations, 2);
    ck_assert_uint_eq(s.reserved_bytes, then.reserved_bytes);
    ck_assert_uint_eq(s.chunk_count, then.chunk_count);
    ck_assert_uint_eq(nrecords(c), 2);
    char *text = NULL;
    ck_ok(mp_tracker_stats_string(c, &text));
    ck_assert_msg(strstr(text, "copy of pool 'copied'") && strstr(text, "300 bytes in 2 allocations"), "%s", text);
    mp_string_free(text);
    ck_ok(mp_tracker_stats_json(c, &text));
    ck_assert_msg(strstr(text, "\"name\":\"copied\"") && strstr(text, "\"copy\":true") &&
                      strstr(text, "\"current_used\":300"), "%s", text);
    mp_string_free(text);
    ck_ok(mp_pool_destroy(p));
    /* The pool is gone; its copy reads and counts on. */
    mp_allocation_info r[2] = {{.struct_size = sizeof(mp_allocation_info)}};
    size_t n = 0;
    ck_ok(mp_tracker_get_allocations(c, r, 2, &n));
    ck_assert_ptr_eq(r[0].ptr, a);
    ck_assert_ptr_eq(r[1].ptr, b);
    ck_ok(mp_tracker_track_deallocation(c, a));
    ck_assert_uint_eq(tstats(c).current_used, 200);
    mp_tracker *d = NULL; /* a copy of the copy */
    ck_ok(mp_tracker_clone(c, &d));
    ck_ok(mp_tracker_track_deallocation(c, b));
    ck_assert_uint_eq(tstats(c).current_used, 0);
    ck_assert_uint_eq(tstats(d).current_used, 200);
    ck_assert_uint_eq(nrecords(d), 1);
    ck_ok(mp_tracker_stats_string(d, &text));
    ck_assert_msg(strstr(text, "copy of pool 'copied'"), "%s", text);
    mp_string_free(text);
    ck_ok(mp_tracker_destroy(c));
    ck_ok(mp_tracker_destroy(d));
}
END_TEST

START_TEST(a_fresh_tracker_describes_itself)
{
    mp_tracker *t = new_tracker();
    ck_ok(mp_tracker_record_allocation(t, 64));
    char *text = NULL;
    ck_ok(mp_tracker_stats_string(t, &text));
    ck_assert_msg(strstr(text, "tracker: tracking on") && strstr(text, "64 bytes in 1 allocations"), "%s", text);
    mp_string_free(text);
    ck_ok(mp_tracker_stats_json(t, &text));
    ck_assert_msg(text[0] == '{' && strstr(text, "\"tracker\":true") && strstr(text, "\"current_used\":64"), "%s",
                  text);
    mp_string_free(text);
    ck_ok(mp_tracker_destroy(t));
}
END_TEST

START_TEST(a_copy_counts_untracked_blocks_as_the_pool_does)
{
    mp_pool *p = new_pool("copy-untracked", cfg_variable(1 << 20));
    ck_ok(mp_pool_set_tracking(p, false));
    void *u[3];
    for (int i = 0; i < 3; i++)
        u[i] = alloc_ok(p, 32);
    ck_ok(mp_pool_set_tracking(p, true));
    void *t = alloc_ok(p, 64);
    mp_tracker *c = NULL;
    ck_ok(mp_tracker_from_pool(p, &c));
    mp_stats s = tstats(c), ps = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, ps.live_allocations); /* 4: as the pool says */
    ck_assert_uint_eq(s.allocation_count - s.deallocation_count, 1); /* the one tracked block */
    ck_ok(mp_tracker_track_deallocation(c, t));
    s = tstats(c);
    ck_assert_uint_eq(s.live_allocations, 3);
    ck_assert_uint_eq(s.allocation_count, s.deallocation_count);
    ck_assert(leaks(c)); /* the pool's untracked blocks are live in the copy too */
    ck_ok(mp_tracker_destroy(c));
    for (int i = 0; i < 3; i++)
        ck_ok(mp_pool_deallocate(p, u[i]));
    ck_ok(mp_pool_deallocate(p, t));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(sizes_beyond_any_block_and_wrapping_counts_are_refused)
{
    mp_tracker *t = new_tracker();
    char a;
    const size_t max = (size_t)1 << 48;
    ck_status(mp_tracker_record_allocation(t, max + 1), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("2^48");
    ck_status(mp_tracker_track_allocation(t, &a, SIZE_MAX), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tracker_record_deallocation(t, SIZE_MAX), MP_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(nrecords(t), 0);
    /* 2^16 blocks of 2^48 bytes would wrap current_used: the last is refused. */
    mp_status last = MP_OK;
    unsigned n = 0;
    for (; n < 70000 && (last = mp_tracker_record_allocation(t, max)) == MP_OK; n++)
        ;
    ck_assert_int_eq(last, MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("wrap");
    ck_assert_uint_eq(n, 65535);
    mp_stats s = tstats(t);
    ck_assert_uint_eq(s.allocation_count, 65535);
    ck_assert_uint_eq(s.current_used, (uint64_t)65535 << 48);
    ck_ok(mp_tracker_record_deallocation(t, max)); /* and the counts go on from there */
    ck_assert_uint_eq(tstats(t).current_used, (uint64_t)65534 << 48);
    ck_ok(mp_tracker_destroy(t));
}
END_TEST

/* A copy taken while other threads allocate and free is one moment of the
 * pool: its records are what its counts say, and each can be untracked. */
typedef struct churner {
    mp_pool *pool;
    int done;
} churner;

/* A bounded number of calls, whatever the scheduling (Valgrind runs one
 * thread at a time). */
static void *churn(void *arg)
{
    churner *c = arg;
    void *held[16] = {0};
    unsigned ops = (unsigned)mp_test_scaled(60000);
    for (unsigned i = 0; i < ops; i++) {
        unsigned k = i % 16;
        if (held[k]) {
            mp_pool_deallocate(c->pool, held[k]);
            held[k] = NULL;
        } else {
            mp_pool_allocate(c->pool, 16 + (i * 37) % 2000, &held[k]);
        }
    }
    for (unsigned k = 0; k < 16; k++)
        if (held[k])
            mp_pool_deallocate(c->pool, held[k]);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

START_TEST(a_copy_taken_under_threads_is_one_moment)
{
    mp_pool *p = new_pool("copy-moment", cfg_variable(1 << 20));
    static churner ch[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        ch[i] = (churner){.pool = p};
        pthread_create(&th[i], NULL, churn, &ch[i]);
    }
    int copies = mp_test_scaled(1500), least = mp_test_scaled(100);
    for (int k = 0; k < copies; k++) {
        if (k >= least && __atomic_load_n(&ch[0].done, __ATOMIC_ACQUIRE) &&
            __atomic_load_n(&ch[1].done, __ATOMIC_ACQUIRE))
            break; /* enough copies, and nothing moves the pool any more */
        mp_tracker *c = NULL;
        ck_ok(mp_tracker_from_pool(p, &c));
        mp_stats s = tstats(c);
        mp_allocation_info r[40] = {{.struct_size = sizeof(mp_allocation_info)}};
        size_t n = 0;
        ck_ok(mp_tracker_get_allocations(c, r, 40, &n));
        uint64_t bytes = 0;
        for (size_t i = 0; i < n; i++)
            bytes += r[i].size;
        ck_assert_uint_eq(n, s.allocation_count - s.deallocation_count);
        ck_assert_uint_eq(n, s.live_allocations);
        ck_assert_uint_eq(bytes, s.current_used);
        for (size_t i = 0; i < n; i++)
            ck_ok(mp_tracker_track_deallocation(c, r[i].ptr));
        ck_assert_uint_eq(tstats(c).current_used, 0);
        ck_ok(mp_tracker_destroy(c));
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* ---- threads and fork ----------------------------------------------------- */

enum { THREADS = 6, ROUNDS = 20000 };

typedef struct worker {
    mp_tracker *t;
    char slots[64];
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    int rounds = mp_test_scaled(ROUNDS);
    for (int i = 0; i < rounds; i++) {
        char *p = &w->slots[i % 64];
        if (mp_tracker_track_allocation(w->t, p, 16) != MP_OK || mp_tracker_record_allocation(w->t, 3) != MP_OK ||
            mp_tracker_record_deallocation(w->t, 3) != MP_OK || mp_tracker_track_deallocation(w->t, p) != MP_OK)
            w->failures++;
    }
    return NULL;
}

START_TEST(threads_count_exactly)
{
    mp_tracker *t = new_tracker();
    static worker w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.t = t};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    mp_stats s = tstats(t);
    uint64_t n = (uint64_t)THREADS * (uint64_t)mp_test_scaled(ROUNDS) * 2;
    ck_assert_uint_eq(s.allocation_count, n);
    ck_assert_uint_eq(s.deallocation_count, n);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.total_allocated, n / 2 * 19);
    ck_assert_uint_eq(nrecords(t), 0);
    ck_ok(mp_tracker_destroy(t));
}
END_TEST

/* A child forked while other threads are inside the tracker gets it
 * working (fork.c takes every tracker's lock around fork). */
START_TEST(a_forked_child_gets_a_working_tracker)
{
    mp_tracker *t = new_tracker();
    static worker w[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        w[i] = (worker){.t = t};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int k = 0; k < 5; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            char c;
            mp_stats s = MP_STATS_INIT;
            int ok = mp_tracker_track_allocation(t, &c, 1) == MP_OK && mp_tracker_track_deallocation(t, &c) == MP_OK &&
                     mp_tracker_get_stats(t, &s) == MP_OK;
            _exit(ok ? 0 : 1);
        }
        ck_assert_int_gt(pid, 0);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's tracker failed (status %d)", status);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_ok(mp_tracker_destroy(t));
}
END_TEST

static Suite *tracker_suite(void)
{
    Suite *s = suite_create("tracker");
    TCase *t = tcase_create("tracker");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, records_count_like_a_pool);
    tcase_add_test(t, tracked_pointers_are_listed_oldest_first_and_freed_by_address);
    tcase_add_test(t, bad_input_is_refused_and_changes_nothing);
    tcase_add_test(t, tracking_off_counts_nothing_but_frees_what_it_recorded);
    tcase_add_test(t, reset_keeps_the_counts_consistent);
    tcase_add_test(t, a_copy_of_a_pool_is_a_snapshot_that_outlives_it);
    tcase_add_test(t, a_fresh_tracker_describes_itself);
    tcase_add_test(t, a_copy_counts_untracked_blocks_as_the_pool_does);
    tcase_add_test(t, sizes_beyond_any_block_and_wrapping_counts_are_refused);
    tcase_add_test(t, a_copy_taken_under_threads_is_one_moment);
    tcase_add_test(t, threads_count_exactly);
    tcase_add_test(t, a_forked_child_gets_a_working_tracker);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(tracker_suite)
