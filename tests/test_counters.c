/* Counters-only statistics (mp_config.counters_only): every sync mode
 * counts exactly, lock-free pools keep their thread caches and count in
 * their bins (the inline path too), and the sums stay exact across threads
 * that exit or stay parked with full caches, resets, trims and fork. No
 * records: mp_pool_get_allocations is refused, and tracking stays on. */
#include "mp_test.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

enum { NONE, MUTEX, LOCK_FREE };
static const char *const sync_name[] = {"none", "mutex", "lock-free"};

static mp_config counting(bool fixed, int sync)
{
    mp_config c = fixed ? cfg_fixed(64, 1 << 16) : cfg_variable(1 << 16);
    c.track_stats = true;
    c.counters_only = true;
    c.thread_safe = sync != NONE;
    c.sync_type = sync == LOCK_FREE ? MP_SYNC_LOCK_FREE : MP_SYNC_MUTEX;
    return c;
}

/* The bytes a counters-only pool counts for a request of n bytes (mp_stats'
 * doc): a fixed pool's block size; a variable pool's class of n (16-byte
 * units up to 128 bytes, then four classes per power of two, up to 4096
 * units: 64 KiB), in every sync mode; n above that. */
static size_t counted(bool fixed, int sync, size_t n)
{
    (void)sync;
    if (fixed)
        return 64;
    if (n > 65536)
        return n;
    size_t c = 16;
    while (c < n) {
        size_t step = c < 128 ? 16 : ((size_t)1 << (63 - __builtin_clzll(c))) / 4;
        c += step;
    }
    return c;
}

/* Whether the stats text says the pool runs lock-free (the mode in force),
 * and that it tracks as expected. */
static bool is_lock_free(mp_pool *p, const char *tracking)
{
    char *text = NULL;
    ck_ok(mp_pool_stats_string(p, &text));
    bool lf = strstr(text, "sync lock-free") != NULL;
    ck_assert_msg(strstr(text, tracking), "%s lacks %s", text, tracking);
    mp_string_free(text);
    return lf;
}

static void exact_on(bool fixed, int sync)
{
    mp_pool *p = new_pool("counted", counting(fixed, sync));
    ck_assert_int_eq(is_lock_free(p, "tracking on (counters only)"), sync == LOCK_FREE);
    static const size_t var_sizes[] = {100, 200, 300, 1, 4096, 100000};
    static const size_t fix_sizes[] = {10, 40, 64, 1, 64, 33};
    const size_t *sizes = fixed ? fix_sizes : var_sizes;
    enum { N = 6 };
    void *b[N];
    uint64_t bytes = 0, peak = 0;
    for (int i = 0; i < N; i++) {
        b[i] = alloc_ok(p, sizes[i]);
        bytes += counted(fixed, sync, sizes[i]);
    }
    peak = bytes;
    /* Caches (a lock-free pool's, a fixed pool's of one thread at a time)
     * tell the peak only at their slow paths, or a snapshot. */
    if (sync == LOCK_FREE || (fixed && sync == NONE))
        ck_assert_uint_eq(stats_of(p).peak_usage, peak);
    ck_ok(mp_pool_deallocate(p, b[1]));
    bytes -= counted(fixed, sync, sizes[1]);
    mp_stats s = stats_of(p);
    ck_assert_msg(s.current_used == bytes, "%s %s: current_used %llu, expected %llu", fixed ? "fixed" : "variable",
                  sync_name[sync], (unsigned long long)s.current_used, (unsigned long long)bytes);
    ck_assert_uint_eq(s.total_allocated, peak);
    ck_assert_uint_eq(s.peak_usage, peak);
    ck_assert_uint_eq(s.allocation_count, N);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_assert_uint_eq(s.live_allocations, N - 1);
    ck_assert_uint_eq(s.failed_allocations, 0);

    /* Records: none to list, and tracking cannot be paused. */
    size_t n = 99;
    ck_status(mp_pool_get_allocations(p, NULL, 0, &n), MP_ERR_INVALID_OPERATION);
    ck_detail_has("counters only");
    bool on = false;
    ck_ok(mp_pool_get_tracking(p, &on));
    ck_assert(on);
    ck_status(mp_pool_set_tracking(p, false), MP_ERR_INVALID_OPERATION);
    ck_ok(mp_pool_set_tracking(p, true));

    /* reset_stats: the counts start again from what is live (N - 1 blocks of
     * `bytes`), so allocations - deallocations stays the live count. */
    ck_ok(mp_pool_reset_stats(p));
    s = stats_of(p);
    ck_assert_uint_eq(s.total_allocated, bytes);
    ck_assert_uint_eq(s.allocation_count, N - 1);
    ck_assert_uint_eq(s.deallocation_count, 0);
    ck_assert_uint_eq(s.current_used, bytes);
    ck_assert_uint_eq(s.peak_usage, bytes);
    size_t before = bytes;
    void *x = alloc_ok(p, sizes[0]);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, b[0]));
    bytes -= counted(fixed, sync, sizes[0]);
    s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, N);
    ck_assert_uint_eq(s.deallocation_count, 2);
    ck_assert_uint_eq(s.allocation_count - s.deallocation_count, s.live_allocations);
    ck_assert_uint_eq(s.total_allocated, before + counted(fixed, sync, sizes[0]));
    ck_assert_uint_eq(s.current_used, bytes);

    /* A trim moves cached blocks, not counts; a reset frees the rest. */
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).current_used, bytes);
    ck_ok(mp_pool_reset(p));
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.allocation_count, N);
    ck_assert_uint_eq(s.deallocation_count, 2 + (N - 2));
    /* And counting goes on after it. */
    x = alloc_ok(p, sizes[2]);
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, counted(fixed, sync, sizes[2]));
    ck_assert_uint_eq(s.allocation_count, N + 1);
    ck_ok(mp_pool_deallocate(p, x));
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.deallocation_count, N + 1);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}

START_TEST(counters_only_is_exact_on_every_sync_mode)
{
    for (int fixed = 0; fixed <= 1; fixed++)
        for (int sync = NONE; sync <= LOCK_FREE; sync++)
            exact_on(fixed, sync);
}
END_TEST

/* Over-aligned, reallocated (in place and moved) and usable-size-checked
 * blocks keep the counts consistent: each is counted by what its free
 * gives back, so everything freed leaves current_used at zero. */
START_TEST(aligned_and_reallocated_blocks_keep_counts_consistent)
{
    for (int sync = NONE; sync <= LOCK_FREE; sync++) {
        mp_pool *p = new_pool("aligned", counting(false, sync));
        void *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        ck_ok(mp_pool_allocate_aligned(p, 48, 64, &a));
        ck_ok(mp_pool_allocate_aligned(p, 100, 4096, &b));
        ck_ok(mp_pool_allocate_aligned(p, 20000, 256, &c));
        ck_assert_uint_eq((uintptr_t)a % 64, 0);
        ck_assert_uint_eq((uintptr_t)b % 4096, 0);
        ck_ok(mp_pool_reallocate(p, NULL, 300, &d));
        ck_ok(mp_pool_reallocate(p, d, 310, &d));    /* in its class: in place */
        ck_ok(mp_pool_reallocate(p, d, 90000, &d));  /* moves */
        ck_ok(mp_pool_reallocate(p, c, 10, &c));
        mp_stats s = stats_of(p);
        ck_assert_uint_eq(s.live_allocations, 4);
        ck_assert_uint_gt(s.current_used, 0);
        size_t u = 0;
        ck_ok(mp_pool_usable_size(p, a, &u));
        ck_assert_uint_ge(u, 48);
        void *v[] = {a, b, c, d};
        for (int i = 0; i < 4; i++)
            ck_ok(mp_pool_deallocate(p, v[i]));
        s = stats_of(p);
        ck_assert_msg(s.current_used == 0, "%s: current_used %llu after every free", sync_name[sync],
                      (unsigned long long)s.current_used);
        ck_assert_uint_eq(s.allocation_count, s.deallocation_count);
        ck_intact(p);
        ck_ok(mp_pool_destroy(p));
    }
}
END_TEST

/* Failures count under the lock, as with records. */
START_TEST(counters_only_counts_failures)
{
    mp_config c = counting(false, LOCK_FREE);
    c.max_size = 1 << 16;
    mp_pool *p = new_pool("failing", c);
    void *q;
    ck_status(mp_pool_allocate(p, 1 << 20, &q), MP_ERR_OUT_OF_MEMORY);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.failed_allocations, 1);
    ck_assert_uint_eq(s.allocation_count, 0);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* With records, the same pools list their allocations; a caller compiled
 * before 1.3 (a shorter mp_config) gets records too. */
START_TEST(records_are_listed_unless_counters_only)
{
    for (int sync = NONE; sync <= LOCK_FREE; sync++) {
        mp_config c = counting(false, sync);
        c.counters_only = false;
        mp_pool *p = new_pool("records", c);
        ck_assert(!is_lock_free(p, "tracking on\n")); /* records: under the lock */
        void *a = alloc_ok(p, 100);
        size_t n = 0;
        ck_ok(mp_pool_get_allocations(p, NULL, 0, &n));
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(stats_of(p).current_used, 100);
        ck_ok(mp_pool_deallocate(p, a));
        ck_ok(mp_pool_destroy(p));
    }
    mp_config old = counting(false, LOCK_FREE);
    old.struct_size = offsetof(mp_config, counters_only);
    mp_pool *p = new_pool("old-caller", old);
    alloc_ok(p, 100);
    size_t n = 0;
    ck_ok(mp_pool_get_allocations(p, NULL, 0, &n));
    ck_assert_uint_eq(n, 1);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* A debug pool keeps its own records (guards, freed blocks) but lists none:
 * counters_only counts the requested bytes under the lock. */
START_TEST(counters_only_with_debugging)
{
    mp_config c = counting(false, LOCK_FREE);
    c.enable_debugging = true;
    mp_pool *p = new_pool("debugged", c);
    ck_assert(!is_lock_free(p, "tracking on (counters only)"));
    void *a = alloc_ok(p, 100), *b = alloc_ok(p, 7);
    ck_ok(mp_pool_deallocate(p, a));
    ck_status(mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER);
    ck_detail_has("double free");
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 7);
    ck_assert_uint_eq(s.total_allocated, 107);
    ck_assert_uint_eq(s.deallocation_count, 1);
    size_t n;
    ck_status(mp_pool_get_allocations(p, NULL, 0, &n), MP_ERR_INVALID_OPERATION);
    ck_ok(mp_pool_deallocate(p, b));
    ck_assert_uint_eq(stats_of(p).current_used, 0);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* counters_only without track_stats is a plain pool: no counters. */
START_TEST(counters_only_without_track_stats_changes_nothing)
{
    mp_config c = counting(false, LOCK_FREE);
    c.track_stats = false;
    mp_pool *p = new_pool("plain", c);
    bool on = true;
    ck_ok(mp_pool_get_tracking(p, &on));
    ck_assert(!on);
    void *a = alloc_ok(p, 100);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 0);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.live_allocations, 1);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* ---- the thread caches ------------------------------------------------------- */

/* A bin's allocations as the library derives them (mempool.h: supplied +
 * frees - the blocks the bin holds). */
static uint64_t bin_allocs(const mp_tcache_bin *b, const mp_tcache_entry *empty_top)
{
    return b->supplied + b->frees - (uint64_t)(b->top - empty_top);
}

/* The inline mp_tcache_allocate and mp_tcache_deallocate count in the bin:
 * a free bumps frees, an allocation is what the bin's count says, and the
 * stats are their sum. */
START_TEST(the_inline_tcache_path_counts)
{
    mp_pool *p = new_pool("inline", counting(true, LOCK_FREE));
    mp_tcache *t = NULL;
    ck_ok(MP_POOL_THREAD_CACHE(p, &t));
    ck_assert_uint_ne(t->owner, 0); /* a real cache: the pool kept its thread caches */
    mp_tcache_bin *bin = mp__tcache_bins(t);
    const mp_tcache_entry *empty = bin->top; /* no block yet */
    void *a = NULL;
    ck_ok(mp_tcache_allocate(t, 64, &a)); /* the first refills the bin (the exported half) */
    ck_assert_uint_gt(bin->supplied, 1);
    ck_ok(mp_tcache_deallocate(t, a));
    ck_assert_uint_eq(bin_allocs(bin, empty), 1);
    ck_assert_uint_eq(bin->frees, 1);
    enum { N = 100 };
    void *v[N];
    uint64_t supplied = bin->supplied;
    mp_tcache_entry *top = bin->top;
    for (int i = 0; i < N / 2; i++) /* half of a bin: every one inline */
        ck_ok(mp_tcache_allocate(t, 1 + (size_t)i % 64, &v[i]));
    ck_assert_ptr_eq(bin->top, top - N / 2);
    ck_assert_uint_eq(bin->supplied, supplied); /* no refill */
    ck_assert_uint_eq(bin_allocs(bin, empty), 1 + N / 2);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 1 + N / 2);
    ck_assert_uint_eq(s.current_used, 64 * (N / 2));
    for (int i = 0; i < N / 2; i++)
        ck_ok(mp_tcache_deallocate(t, v[i]));
    ck_assert_ptr_eq(bin->top, top);
    ck_assert_uint_eq(bin->frees, 1 + N / 2);
    s = stats_of(p);
    ck_assert_uint_eq(s.deallocation_count, 1 + N / 2);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.peak_usage, 64 * (N / 2));
    /* The exported calls use the same cache, and count in the same bin. */
    ck_ok(mp_pool_allocate(p, 64, &a));
    ck_assert_uint_eq(bin_allocs(bin, empty), 2 + N / 2);
    ck_ok(mp_pool_deallocate(p, a));
    ck_assert_uint_eq(bin->frees, 2 + N / 2);
    /* A trim empties the bin: the library's move, no count changes. */
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_ptr_eq(bin->top, empty);
    ck_assert_uint_eq(bin_allocs(bin, empty), 2 + N / 2);
    s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 2 + N / 2);
    ck_assert_uint_eq(s.deallocation_count, 2 + N / 2);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

enum { THREADS = 4, PER_THREAD = 3000 };

typedef struct crowd {
    mp_pool *pool;
    bool fixed;
    pthread_barrier_t done, go; /* every thread's work is done; the threads may exit */
    void *handed[THREADS][PER_THREAD / 3];
    size_t handed_size[THREADS][PER_THREAD / 3];
    uint64_t kept_bytes[THREADS], kept_blocks[THREADS];
    int error;
} crowd;

typedef struct member {
    crowd *c;
    int id;
} member;

/* Each thread allocates PER_THREAD blocks of mixed sizes, frees a third,
 * hands a third to the main thread and keeps a third; then, with its cache
 * full of freed blocks, waits for the main thread's check before it exits. */
static void *work(void *arg)
{
    member *m = arg;
    crowd *c = m->c;
    unsigned seed = 1234u + (unsigned)m->id;
    void *mine[PER_THREAD];
    size_t size[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++) {
        size[i] = c->fixed ? 1 + rand_r(&seed) % 64 : 1 + rand_r(&seed) % (i % 50 == 0 ? 200000 : 3000);
        if (mp_pool_allocate(c->pool, size[i], &mine[i]) != MP_OK)
            c->error = 1;
    }
    for (int i = 0; i < PER_THREAD; i++) {
        if (i % 3 == 0) {
            if (mp_pool_deallocate(c->pool, mine[i]) != MP_OK)
                c->error = 2;
        } else if (i % 3 == 1) {
            c->handed[m->id][i / 3] = mine[i];
            c->handed_size[m->id][i / 3] = size[i];
        } else {
            c->kept_bytes[m->id] += counted(c->fixed, LOCK_FREE, size[i]);
            c->kept_blocks[m->id]++;
        }
    }
    pthread_barrier_wait(&c->done);
    pthread_barrier_wait(&c->go);
    for (int i = 2; i < PER_THREAD; i += 3)
        if (mp_pool_deallocate(c->pool, mine[i]) != MP_OK)
            c->error = 3;
    return NULL;
}

static void threads_exact(bool fixed)
{
    crowd *c = calloc(1, sizeof *c);
    c->pool = new_pool("crowd", counting(fixed, LOCK_FREE));
    c->fixed = fixed;
    pthread_barrier_init(&c->done, NULL, THREADS + 1);
    pthread_barrier_init(&c->go, NULL, THREADS + 1);
    pthread_t t[THREADS];
    member m[THREADS];
    for (int i = 0; i < THREADS; i++) {
        m[i] = (member){c, i};
        pthread_create(&t[i], NULL, work, &m[i]);
    }
    pthread_barrier_wait(&c->done);
    /* No call runs, the threads' caches are full: the sums are exact. */
    uint64_t handed = 0, kept = 0, kept_blocks = 0;
    for (int i = 0; i < THREADS; i++) {
        kept += c->kept_bytes[i];
        kept_blocks += c->kept_blocks[i];
        for (int j = 0; j < PER_THREAD / 3; j++)
            handed += counted(fixed, LOCK_FREE, c->handed_size[i][j]);
    }
    mp_stats s = stats_of(c->pool);
    ck_assert_int_eq(c->error, 0);
    ck_assert_uint_eq(s.allocation_count, THREADS * PER_THREAD);
    ck_assert_uint_eq(s.deallocation_count, THREADS * PER_THREAD / 3);
    ck_assert_uint_eq(s.current_used, handed + kept);
    ck_assert_uint_ge(s.peak_usage, s.current_used);
    ck_assert_uint_eq(s.live_allocations, THREADS * (PER_THREAD / 3) + kept_blocks);
    /* The main thread frees the handed blocks: cross-thread frees. */
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PER_THREAD / 3; j++)
            ck_ok(mp_pool_deallocate(c->pool, c->handed[i][j]));
    s = stats_of(c->pool);
    ck_assert_uint_eq(s.deallocation_count, 2 * THREADS * PER_THREAD / 3);
    ck_assert_uint_eq(s.current_used, kept);
    pthread_barrier_wait(&c->go);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(c->error, 0);
    /* The threads exited: their caches went back, their counts stayed. */
    s = stats_of(c->pool);
    ck_assert_uint_eq(s.allocation_count, THREADS * PER_THREAD);
    ck_assert_uint_eq(s.deallocation_count, THREADS * PER_THREAD);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_ge(s.peak_usage, kept + handed);
    /* A new thread reuses an old cache: the counts go on from there. */
    m[0] = (member){c, 0};
    memset(c->kept_bytes, 0, sizeof c->kept_bytes);
    pthread_barrier_destroy(&c->done);
    pthread_barrier_destroy(&c->go);
    pthread_barrier_init(&c->done, NULL, 2);
    pthread_barrier_init(&c->go, NULL, 2);
    pthread_create(&t[0], NULL, work, &m[0]);
    pthread_barrier_wait(&c->done);
    pthread_barrier_wait(&c->go);
    pthread_join(t[0], NULL);
    for (int j = 0; j < PER_THREAD / 3; j++)
        ck_ok(mp_pool_deallocate(c->pool, c->handed[0][j]));
    s = stats_of(c->pool);
    ck_assert_uint_eq(s.allocation_count, (THREADS + 1) * PER_THREAD);
    ck_assert_uint_eq(s.deallocation_count, (THREADS + 1) * PER_THREAD);
    ck_assert_uint_eq(s.current_used, 0);
    ck_ok(mp_pool_trim(c->pool, 0));
    ck_assert_uint_eq(stats_of(c->pool).reserved_bytes, 0);
    ck_intact(c->pool);
    ck_ok(mp_pool_destroy(c->pool));
    pthread_barrier_destroy(&c->done);
    pthread_barrier_destroy(&c->go);
    free(c);
}

START_TEST(threads_count_exactly_in_fixed_pools) { threads_exact(true); }
END_TEST

START_TEST(threads_count_exactly_in_variable_pools) { threads_exact(false); }
END_TEST

typedef struct parked {
    mp_pool *pool;
    pthread_barrier_t ready, leave;
    int error;
} parked;

/* Allocates 500 blocks, frees 400 into its cache, and waits. */
static void *park(void *arg)
{
    parked *k = arg;
    void *v[500];
    for (int i = 0; i < 500; i++)
        if (mp_pool_allocate(k->pool, 48, &v[i]) != MP_OK)
            k->error = 1;
    for (int i = 0; i < 400; i++)
        if (mp_pool_deallocate(k->pool, v[i]) != MP_OK)
            k->error = 2;
    pthread_barrier_wait(&k->ready);
    pthread_barrier_wait(&k->leave);
    return NULL;
}

/* A reset while other threads hold blocks (and caches full of free ones)
 * frees every block in the counts too. */
START_TEST(reset_counts_the_blocks_of_every_thread)
{
    parked k = {.pool = new_pool("parked", counting(false, LOCK_FREE))};
    pthread_barrier_init(&k.ready, NULL, 3);
    pthread_barrier_init(&k.leave, NULL, 3);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, park, &k);
    pthread_barrier_wait(&k.ready);
    mp_stats s = stats_of(k.pool);
    ck_assert_uint_eq(s.allocation_count, 1000);
    ck_assert_uint_eq(s.deallocation_count, 800);
    ck_assert_uint_eq(s.current_used, 200 * 48);
    ck_ok(mp_pool_reset(k.pool)); /* no call runs: the reset's contract */
    s = stats_of(k.pool);
    ck_assert_uint_eq(s.deallocation_count, 1000);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    pthread_barrier_wait(&k.leave);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(k.error, 0);
    s = stats_of(k.pool);
    ck_assert_uint_eq(s.deallocation_count, 1000);
    ck_assert_uint_eq(s.current_used, 0);
    void *a = alloc_ok(k.pool, 48);
    ck_assert_uint_eq(stats_of(k.pool).current_used, 48);
    ck_ok(mp_pool_deallocate(k.pool, a));
    ck_assert_uint_eq(stats_of(k.pool).current_used, 0);
    ck_intact(k.pool);
    ck_ok(mp_pool_destroy(k.pool));
    pthread_barrier_destroy(&k.ready);
    pthread_barrier_destroy(&k.leave);
}
END_TEST

/* The peak of a thread that fills and empties its cache many times is
 * within a bin's capacity of the true one (64-byte class: 1024 blocks). */
START_TEST(peak_follows_the_caches_within_their_capacity)
{
    mp_pool *p = new_pool("peak", counting(false, LOCK_FREE));
    enum { N = 20000 };
    void **v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        v[i] = alloc_ok(p, 64);
    for (int i = 0; i < N; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    for (int i = 0; i < N / 2; i++)
        v[i] = alloc_ok(p, 64);
    for (int i = 0; i < N / 2; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_ge(s.peak_usage, (uint64_t)N * 64 - 1024 * 64);
    ck_assert_uint_le(s.peak_usage, (uint64_t)N * 64 + 1024 * 64);
    free(v);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* A child forked while a thread holds blocks and a full cache sees the
 * parent's counts, and counts its own calls on top of them. */
START_TEST(a_forked_child_keeps_exact_counts)
{
    parked k = {.pool = new_pool("forked", counting(false, LOCK_FREE))};
    pthread_barrier_init(&k.ready, NULL, 2);
    pthread_barrier_init(&k.leave, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, park, &k);
    pthread_barrier_wait(&k.ready);
    void *mine = alloc_ok(k.pool, 1000);
    pid_t pid = fork();
    if (pid == 0) {
        mp_stats s = MP_STATS_INIT;
        int bad = mp_pool_get_stats(k.pool, &s) != MP_OK || s.allocation_count != 501 ||
                  s.deallocation_count != 400 || s.current_used != 100 * 48 + 1024;
        void *a;
        bad |= (mp_pool_allocate(k.pool, 48, &a) != MP_OK) << 1;
        bad |= (mp_pool_deallocate(k.pool, mine) != MP_OK) << 2;
        bad |= (mp_pool_get_stats(k.pool, &s) != MP_OK || s.allocation_count != 502 ||
                s.deallocation_count != 401 || s.current_used != 101 * 48) << 3;
        bad |= (mp_pool_check(k.pool) != MP_OK) << 4;
        _exit(bad);
    }
    ck_assert_int_gt(pid, 0);
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's checks failed (%d)", st);
    pthread_barrier_wait(&k.leave);
    pthread_join(t, NULL);
    ck_ok(mp_pool_deallocate(k.pool, mine));
    mp_stats s = stats_of(k.pool);
    ck_assert_uint_eq(s.allocation_count, 501);
    ck_assert_uint_eq(s.current_used, 100 * 48);
    ck_ok(mp_pool_destroy(k.pool));
    pthread_barrier_destroy(&k.ready);
    pthread_barrier_destroy(&k.leave);
}
END_TEST

static Suite *counters_suite(void)
{
    Suite *s = suite_create("counters");
    TCase *t = tcase_create("counters");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, counters_only_is_exact_on_every_sync_mode);
    tcase_add_test(t, counters_only_counts_failures);
    tcase_add_test(t, aligned_and_reallocated_blocks_keep_counts_consistent);
    tcase_add_test(t, records_are_listed_unless_counters_only);
    tcase_add_test(t, counters_only_with_debugging);
    tcase_add_test(t, counters_only_without_track_stats_changes_nothing);
    tcase_add_test(t, the_inline_tcache_path_counts);
    tcase_add_test(t, threads_count_exactly_in_fixed_pools);
    tcase_add_test(t, threads_count_exactly_in_variable_pools);
    tcase_add_test(t, reset_counts_the_blocks_of_every_thread);
    tcase_add_test(t, peak_follows_the_caches_within_their_capacity);
    tcase_add_test(t, a_forked_child_keeps_exact_counts);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(counters_suite)
