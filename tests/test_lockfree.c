/* The lock-free layer (MP_SYNC_LOCK_FREE, tracking off): per-thread caches
 * in front of fixed and variable pools. Under contention no block is handed
 * out twice, every block comes back (exact counts, all chunks idle once the
 * threads are gone), and the always-on checks still refuse double, foreign,
 * interior and wrong-pool frees that go through the caches. */
#include "mp_hammer.h"

static mp_config lf_fixed(size_t block, size_t initial)
{
    mp_config c = cfg_fixed(block, initial);
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.track_stats = false;
    return c;
}

static mp_config lf_variable(size_t initial)
{
    mp_config c = cfg_variable(initial);
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.track_stats = false;
    return c;
}

/* The suite's front end: the pool calls, or the thread-cache calls
 * (mp_tcache_allocate, inline), each test setting it first. */
static bool via_tcache;

static mp_tcache *my_cache(mp_pool *p)
{
    mp_tcache *t = NULL;
    ck_ok(MP_POOL_THREAD_CACHE(p, &t));
    return t;
}

static mp_status lf_alloc(mp_pool *p, size_t n, void **out)
{
    return via_tcache ? mp_tcache_allocate(my_cache(p), n, out) : mp_pool_allocate(p, n, out);
}

static mp_status lf_free(mp_pool *p, void *ptr)
{
    return via_tcache ? mp_tcache_deallocate(my_cache(p), ptr) : mp_pool_deallocate(p, ptr);
}

static void *lf_alloc_ok(mp_pool *p, size_t n)
{
    void *a = NULL;
    ck_ok(lf_alloc(p, n, &a));
    ck_assert_ptr_nonnull(a);
    return a;
}

/* ---- contention ---------------------------------------------------------- */

enum { ROUNDS = 40000 };

static void run_contention(mp_config c, size_t max_size)
{
    mp_pool *p = new_pool("lock-free", c);
    mp_mailbox box = {.m = PTHREAD_MUTEX_INITIALIZER};
    long allocs, frees;
    mp_hammer_run(&(mp_hammer){.pool = p, .box = &box, .rounds = ROUNDS, .keep = 64, .max_size = max_size,
                               .stamp = 512, .alloc = lf_alloc, .free = lf_free},
                  &allocs, &frees);
    for (int s = 0; s < MP_HAMMER_SLOTS; s++)
        if (box.slot[s]) {
            ck_ok(mp_pool_deallocate(p, box.slot[s]));
            frees++;
        }
    ck_assert_int_eq(allocs, frees);
    ck_assert_int_gt(allocs, ROUNDS); /* the threads did work */
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_intact(p);
    /* The threads are gone, so their caches came back: every chunk is idle. */
    ck_ok(mp_pool_trim(p, 0));
    s = stats_of(p);
    ck_assert_uint_eq(s.reserved_bytes, 0);
    ck_assert_uint_eq(s.chunk_count, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}

START_TEST(contention_on_a_fixed_pool) { via_tcache = false; run_contention(lf_fixed(64, 1 << 12), 64); }
END_TEST

/* A bin holds about 256 KiB of a fixed pool's blocks: 16 KiB blocks make
 * bins of 16, so that the threads trade through the magazine stacks. */
START_TEST(contention_on_a_fixed_pool_through_the_magazines)
{
    via_tcache = false;
    run_contention(lf_fixed(16384, 1 << 16), 16384);
}
END_TEST

START_TEST(contention_on_a_variable_pool) { via_tcache = false; run_contention(lf_variable(1 << 16), 3000); }
END_TEST

/* Sizes past the cached classes take the locked path in the same run. */
START_TEST(contention_with_large_blocks) { via_tcache = false; run_contention(lf_variable(1 << 20), 300000); }
END_TEST

/* ---- the checks on the fast path ------------------------------------------ */

static void check_double_free(mp_config c)
{
    mp_pool *p = new_pool("lf-double", c);
    void *a = lf_alloc_ok(p, 48);
    ck_ok(lf_free(p, a));                         /* into the cache */
    ck_status(lf_free(p, a), MP_ERR_INVALID_POINTER); /* the cache says no */
    ck_detail_has("lf-double");
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    /* Handed out once only: two allocations now get two blocks. */
    void *b = lf_alloc_ok(p, 48), *d = lf_alloc_ok(p, 48);
    ck_assert_ptr_ne(b, d);
    ck_assert_uint_eq(stats_of(p).live_allocations, 2);
    ck_ok(lf_free(p, b));
    ck_ok(lf_free(p, d));
    ck_intact(p);
    mp_pool_destroy(p);
}

START_TEST(double_free_is_refused_fixed) { via_tcache = false; check_double_free(lf_fixed(64, 1 << 12)); }
END_TEST

START_TEST(double_free_is_refused_variable) { via_tcache = false; check_double_free(lf_variable(1 << 16)); }
END_TEST

static void check_foreign(mp_config c)
{
    mp_pool *p = new_pool("lf-mine", c), *q = new_pool("lf-other", c);
    char *a = lf_alloc_ok(p, 64), *b = lf_alloc_ok(q, 64);
    ck_ok(lf_free(p, lf_alloc_ok(p, 64))); /* the cache knows its chunk now */
    void *heap = malloc(64);
    int local;
    ck_status(lf_free(p, heap), MP_ERR_INVALID_POINTER);
    ck_detail_has("not allocated by this pool");
    ck_status(lf_free(p, &local), MP_ERR_INVALID_POINTER);
    ck_status(lf_free(p, a + 16), MP_ERR_INVALID_POINTER);
    ck_detail_has("not the start of a live block");
    ck_status(lf_free(p, b), MP_ERR_INVALID_POINTER);
    ck_detail_has("belongs to pool 'lf-other'");
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_assert_uint_eq(stats_of(q).live_allocations, 1);
    bool owned = true;
    ck_ok(mp_pool_owns(p, b, &owned));
    ck_assert(!owned);
    ck_ok(mp_pool_owns(p, a, &owned));
    ck_assert(owned);
    ck_ok(lf_free(p, a));
    ck_ok(mp_pool_owns(p, a, &owned)); /* cached is not owned by the caller */
    ck_assert(!owned);
    ck_ok(lf_free(q, b));
    free(heap);
    ck_intact(p);
    ck_intact(q);
    mp_pool_destroy(p);
    mp_pool_destroy(q);
}

START_TEST(foreign_interior_and_wrong_pool_frees_are_refused_fixed) { via_tcache = false; check_foreign(lf_fixed(64, 1 << 12)); }
END_TEST

START_TEST(foreign_interior_and_wrong_pool_frees_are_refused_variable) { via_tcache = false; check_foreign(lf_variable(1 << 16)); }
END_TEST

static void *free_once(void *arg)
{
    void **args = arg;
    args[2] = (void *)(intptr_t)mp_pool_deallocate(args[0], args[1]);
    return NULL;
}

START_TEST(double_free_across_threads_is_refused)
{
    mp_pool *p = new_pool("lf-xthread", lf_fixed(64, 1 << 12));
    void *a = alloc_ok(p, 64);
    void *args[3] = {p, a, NULL};
    pthread_t t;
    pthread_create(&t, NULL, free_once, args); /* into that thread's cache, then back at its exit */
    pthread_join(t, NULL);
    ck_assert_int_eq((int)(intptr_t)args[2], MP_OK);
    ck_status(mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER);
    pthread_create(&t, NULL, free_once, args);
    pthread_join(t, NULL);
    ck_assert_int_eq((int)(intptr_t)args[2], MP_ERR_INVALID_POINTER);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(large_blocks_take_the_lock_and_keep_their_checks)
{
    mp_pool *p = new_pool("lf-large", lf_variable(1 << 20));
    void *big = alloc_ok(p, 3 << 20); /* past every cached class */
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_ok(mp_pool_deallocate(p, big));
    ck_status(mp_pool_deallocate(p, big), MP_ERR_INVALID_POINTER);
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* ---- stats, reset, trim, tracking ----------------------------------------- */

START_TEST(stats_count_cached_blocks_as_free)
{
    mp_pool *p = new_pool("lf-stats", lf_variable(1 << 16));
    void *b[10];
    for (int i = 0; i < 10; i++)
        b[i] = alloc_ok(p, 100 + 50 * (size_t)i);
    for (int i = 0; i < 5; i++)
        ck_ok(mp_pool_deallocate(p, b[i]));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 5);
    for (int i = 5; i < 10; i++)
        ck_ok(mp_pool_deallocate(p, b[i]));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(reset_empties_the_caches)
{
    mp_pool *p = new_pool("lf-reset", lf_fixed(4096, 1 << 16)); /* bins of 64 */
    void *b[300];
    for (int i = 0; i < 300; i++)
        b[i] = alloc_ok(p, 4096);
    for (int i = 0; i < 150; i++)
        ck_ok(mp_pool_deallocate(p, b[i])); /* some cached, some in a magazine */
    ck_ok(mp_pool_reset(p));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    ck_status(mp_pool_deallocate(p, b[200]), MP_ERR_INVALID_POINTER); /* gone with the reset */
    ck_status(mp_pool_deallocate(p, b[10]), MP_ERR_INVALID_POINTER);  /* the cache forgot it */
    for (int i = 0; i < 300; i++)
        b[i] = alloc_ok(p, 4096);
    for (int i = 0; i < 300; i++)
        for (int k = i + 1; k < 300; k++)
            ck_assert_ptr_ne(b[i], b[k]);
    ck_assert_uint_eq(stats_of(p).live_allocations, 300);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* A full bin spills half into a magazine and an empty one refills from
 * the class's stack. 16 KiB blocks: bins of 16, magazines of 8, and the
 * stack keeps up to 4 MiB (32 magazines) before blocks go back to the
 * strategy. 200 freed blocks all stay cached, and 200 allocations take back
 * exactly those; 1000 overflow the stack. Counts stay exact and the checks
 * hold throughout. Both front ends (_i). */
START_TEST(magazines_keep_every_block_and_overflow_to_the_strategy)
{
    enum { N = 200, M = 1000 };
    static void *a[M], *b[N];
    via_tcache = _i != 0;
    mp_pool *p = new_pool("lf-mags", lf_fixed(16384, 1 << 24));
    for (int i = 0; i < N; i++)
        a[i] = lf_alloc_ok(p, 16384);
    size_t reserved = stats_of(p).reserved_bytes;
    for (int i = 0; i < N; i++)
        ck_ok(lf_free(p, a[i]));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    for (int i = 0; i < N; i++) {
        b[i] = lf_alloc_ok(p, 16384);
        bool cached = false;
        for (int k = 0; k < N; k++)
            cached |= b[i] == a[k];
        ck_assert_msg(cached, "block %d is not one of the freed ones", i);
        for (int k = 0; k < i; k++)
            ck_assert_ptr_ne(b[i], b[k]);
    }
    ck_assert_uint_eq(stats_of(p).live_allocations, N);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, reserved);
    for (int i = 0; i < N; i++)
        ck_ok(lf_free(p, b[i]));
    ck_status(lf_free(p, b[N / 2]), MP_ERR_INVALID_POINTER); /* a double free, in a magazine */
    for (int i = 0; i < M; i++)
        a[i] = lf_alloc_ok(p, 16384);
    ck_assert_uint_eq(stats_of(p).live_allocations, M);
    for (int i = 0; i < M; i++)
        ck_ok(lf_free(p, a[i]));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    ck_status(lf_free(p, a[7]), MP_ERR_INVALID_POINTER); /* handed back to the strategy */
    ck_status(lf_free(p, a[M - 1]), MP_ERR_INVALID_POINTER);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(trim_takes_the_callers_cache_and_the_magazines)
{
    mp_pool *p = new_pool("lf-trim", lf_variable(1 << 16));
    void *b[500];
    for (int i = 0; i < 500; i++)
        b[i] = alloc_ok(p, 256);
    for (int i = 0; i < 500; i++)
        ck_ok(mp_pool_deallocate(p, b[i]));
    ck_assert_uint_gt(stats_of(p).chunk_count, 0);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
    ck_intact(p);
    b[0] = alloc_ok(p, 256); /* and it grows again */
    ck_ok(mp_pool_deallocate(p, b[0]));
    mp_pool_destroy(p);
}
END_TEST

START_TEST(tracking_and_lock_free_do_not_mix)
{
    mp_pool *p = new_pool("lf-track", lf_fixed(64, 1 << 12));
    ck_status(mp_pool_set_tracking(p, true), MP_ERR_INVALID_OPERATION);
    ck_detail_has("lock-free");
    ck_ok(mp_pool_set_tracking(p, false));
    mp_pool_destroy(p);
    /* Asked for with tracking, LOCK_FREE takes the lock and counts exactly. */
    mp_config c = lf_fixed(64, 1 << 12);
    c.track_stats = true;
    p = new_pool("lf-tracked", c);
    void *a = alloc_ok(p, 64);
    ck_ok(mp_pool_deallocate(p, a));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 1);
    ck_assert_uint_eq(s.deallocation_count, 1);
    mp_pool_destroy(p);
}
END_TEST

/* ---- life cycle: pools and threads end in any order ------------------------ */

typedef struct lingerer {
    mp_pool *pool;
    pthread_mutex_t m;
    pthread_cond_t cv;
    int stage;
    int error;
} lingerer;

static void wait_stage(lingerer *l, int stage)
{
    pthread_mutex_lock(&l->m);
    while (l->stage < stage)
        pthread_cond_wait(&l->cv, &l->m);
    pthread_mutex_unlock(&l->m);
}

static void set_stage(lingerer *l, int stage)
{
    pthread_mutex_lock(&l->m);
    l->stage = stage;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->m);
}

static void *linger(void *arg)
{
    lingerer *l = arg;
    void *b;
    if (mp_pool_allocate(l->pool, 64, &b) != MP_OK || mp_pool_deallocate(l->pool, b) != MP_OK)
        l->error = 1;
    set_stage(l, 1);
    wait_stage(l, 2); /* the pool is destroyed while this thread has a cache for it */
    mp_pool *q;
    mp_config c = lf_fixed(64, 1 << 12);
    if (mp_pool_create("lf-next", MP_MEMORY_CPU, &c, &q) != MP_OK)
        l->error = 2;
    else {
        for (int i = 0; i < 1000 && !l->error; i++)
            if (mp_pool_allocate(q, 64, &b) != MP_OK || mp_pool_deallocate(q, b) != MP_OK)
                l->error = 3;
        mp_pool_destroy(q);
    }
    return NULL;
}

START_TEST(a_pool_may_die_before_the_threads_that_used_it)
{
    lingerer l = {.m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    l.pool = new_pool("lf-dying", lf_fixed(64, 1 << 12));
    pthread_t t;
    pthread_create(&t, NULL, linger, &l);
    wait_stage(&l, 1);
    ck_ok(mp_pool_destroy(l.pool));
    set_stage(&l, 2);
    pthread_join(t, NULL);
    ck_assert_int_eq(l.error, 0);
}
END_TEST

START_TEST(many_pools_one_thread)
{
    for (int i = 0; i < 300; i++) {
        mp_pool *p = new_pool("lf-many", i % 2 ? lf_fixed(32, 1 << 12) : lf_variable(1 << 14));
        void *a = alloc_ok(p, 32);
        ck_ok(mp_pool_deallocate(p, a));
        ck_status(mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER);
        mp_pool_destroy(p);
    }
}
END_TEST

/* A thread that grows the pool. */
static void *grow_pool(void *arg)
{
    mp_pool *p = arg;
    void *b[256];
    for (int i = 0; i < 256; i++)
        if (mp_pool_allocate(p, 64, &b[i]) != MP_OK)
            return (void *)1;
    for (int i = 0; i < 256; i++)
        if (mp_pool_deallocate(p, b[i]) != MP_OK)
            return (void *)2;
    return NULL;
}

/* When the pool's chunks change, every cache's inline free stops trusting its
 * hot chunk (hot_grains 0, set from the thread that changed them) until the
 * exported path refreshes it; a pointer into a released chunk is refused. */
START_TEST(tcache_hot_chunk_is_dropped_when_chunks_change)
{
    mp_pool *p = new_pool("lf-tc-hot", lf_fixed(64, 1 << 12));
    mp_tcache *t = my_cache(p);
    void *a = NULL;
    ck_ok(mp_tcache_allocate(t, 64, &a));
    ck_ok(mp_tcache_deallocate(t, a)); /* the exported path sets the hot chunk */
    ck_ok(mp_tcache_allocate(t, 64, &a));
    /* Under ASan or Valgrind every call takes the exported path (max_size 0), and no
     * chunk is ever hot; the frees below must give the same answers. */
    bool inline_path = t->max_size != 0;
    ck_assert_uint_eq(__atomic_load_n(&t->hot_grains, __ATOMIC_RELAXED) > 0, inline_path);
    size_t chunks = stats_of(p).chunk_count;
    pthread_t th;
    void *rc = (void *)3;
    pthread_create(&th, NULL, grow_pool, p);
    pthread_join(th, &rc);
    ck_assert_ptr_null(rc);
    ck_assert_uint_gt(stats_of(p).chunk_count, chunks); /* it grew, from another thread */
    ck_assert_uint_eq(__atomic_load_n(&t->hot_grains, __ATOMIC_RELAXED), 0);
    ck_ok(mp_tcache_deallocate(t, a)); /* refreshed by the exported path */
    ck_assert_uint_eq(__atomic_load_n(&t->hot_grains, __ATOMIC_RELAXED) > 0, inline_path);
    ck_status(mp_tcache_deallocate(t, a), MP_ERR_INVALID_POINTER); /* still a double free */
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).chunk_count, 0);
    ck_assert_uint_eq(__atomic_load_n(&t->hot_grains, __ATOMIC_RELAXED), 0);
    ck_status(mp_tcache_deallocate(t, a), MP_ERR_INVALID_POINTER); /* its chunk is gone */
    ck_detail_has("not allocated by this pool");
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(tcache_contention_on_a_fixed_pool)
{
    via_tcache = true;
    run_contention(lf_fixed(16384, 1 << 16), 16384); /* bins of 16: the magazines too */
}
END_TEST

START_TEST(tcache_contention_with_large_blocks)
{
    via_tcache = true;
    run_contention(lf_variable(1 << 20), 300000);
}
END_TEST

START_TEST(tcache_refuses_double_foreign_interior_and_wrong_pool_frees)
{
    via_tcache = true;
    check_double_free(lf_fixed(64, 1 << 12));
    check_double_free(lf_variable(1 << 16));
    check_foreign(lf_fixed(64, 1 << 12));
    check_foreign(lf_variable(1 << 16));
}
END_TEST

START_TEST(tcache_bad_input_is_refused_and_the_pool_stays_intact)
{
    mp_pool *p = new_pool("lf-tc-bad", lf_variable(1 << 16));
    mp_tcache *t = my_cache(p);
    /* Zeroed memory that is no cache, with room behind it as a cache has (its bins). */
    static _Alignas(64) unsigned char not_a_cache[1024];
    mp_tcache *fake = (mp_tcache *)(void *)not_a_cache;
    void *a = NULL;
    ck_status(mp_pool_thread_cache(NULL, &t), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_thread_cache(p, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tcache_allocate(NULL, 64, &a), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("cache is NULL");
    ck_status(mp_tcache_deallocate(NULL, a), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tcache_allocate(fake, 64, &a), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("not a thread cache");
    ck_status(mp_tcache_deallocate(fake, a), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tcache_allocate(t, 0, &a), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_tcache_allocate(t, 64, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_assert_int_ne(mp_tcache_allocate(t, SIZE_MAX, &a), MP_OK);
    ck_assert_ptr_null(a);
    ck_status(mp_tcache_deallocate(t, NULL), MP_ERR_INVALID_POINTER);
    /* Past the classes: the pool's locked path serves and checks it. */
    void *big = NULL;
    ck_ok(mp_tcache_allocate(t, 3 << 20, &big));
    ck_ok(mp_tcache_deallocate(t, big));
    ck_status(mp_tcache_deallocate(t, big), MP_ERR_INVALID_POINTER);
    /* The front ends mix: a block of one is freed by the other. */
    ck_ok(mp_tcache_allocate(t, 100, &a));
    ck_ok(mp_pool_deallocate(p, a));
    ck_status(mp_tcache_deallocate(t, a), MP_ERR_INVALID_POINTER);
    a = alloc_ok(p, 100);
    ck_ok(mp_tcache_deallocate(t, a));
    ck_status(mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER);
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* A pool without the lock-free layer hands out a cache all the same; its
 * calls are the pool's, tracked exactly. */
START_TEST(tcache_of_a_mutex_pool_calls_the_pool)
{
    mp_config c = cfg_variable(1 << 16);
    c.track_stats = true;
    mp_pool *p = new_pool("lf-tc-mutex", c);
    mp_tcache *t = my_cache(p), *again = my_cache(p);
    ck_assert_ptr_eq(t, again);
    void *a = NULL, *b = NULL;
    ck_ok(mp_tcache_allocate(t, 40, &a));
    ck_ok(mp_tcache_allocate(t, 40, &b));
    ck_assert_ptr_ne(a, b);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 2);
    ck_assert_uint_eq(s.current_used, 80);
    ck_ok(mp_tcache_deallocate(t, a));
    ck_status(mp_tcache_deallocate(t, a), MP_ERR_INVALID_POINTER);
    ck_detail_has("lf-tc-mutex");
    ck_ok(mp_tcache_deallocate(t, b));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

typedef struct borrowed {
    mp_tcache *t;
    void *blocks[64];
    int error;
} borrowed;

static void *use_borrowed(void *arg)
{
    borrowed *b = arg;
    for (int i = 0; i < 64 && !b->error; i++)
        if (mp_tcache_allocate(b->t, 64, &b->blocks[i]) != MP_OK)
            b->error = 1;
    for (int i = 0; i < 64 && !b->error; i++)
        if (mp_tcache_deallocate(b->t, b->blocks[i]) != MP_OK)
            b->error = 2;
    return NULL;
}

/* Another thread that uses a cache it does not own is served through its
 * own: the owner's bin is untouched. */
START_TEST(tcache_used_by_another_thread_leaves_the_owners_bin_alone)
{
    mp_pool *p = new_pool("lf-tc-borrow", lf_fixed(64, 1 << 14));
    mp_tcache *t = my_cache(p);
    void *a = NULL;
    ck_ok(mp_tcache_allocate(t, 64, &a));
    ck_ok(mp_tcache_deallocate(t, a));
    mp_tcache_entry *held = mp__tcache_bins(t)[0].top;
    ck_assert_ptr_eq(held[-1].p, a); /* the bin holds blocks, a on top */
    borrowed b = {.t = t};
    pthread_t th;
    pthread_create(&th, NULL, use_borrowed, &b);
    pthread_join(th, NULL);
    ck_assert_int_eq(b.error, 0);
    ck_assert_ptr_eq(mp__tcache_bins(t)[0].top, held);
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* ---- the thread-cache layout check ------------------------------------------- */

/* A caller compiled against another layout gets the pool's bypass cache:
 * owner 0, so its inline calls all take the exported path, and they work. */
static void check_bypass_serves(mp_pool *p, mp_tcache *t)
{
    ck_assert_uint_eq(t->owner, 0);
    ck_assert_uint_eq(t->magic, MP_TCACHE_MAGIC);
    ck_assert_ptr_eq(t->pool, p);
    enum { N = 200 };
    void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = NULL;
        ck_ok(mp_tcache_allocate(t, 64, &blocks[i]));
        ck_assert_ptr_nonnull(blocks[i]);
        memset(blocks[i], i & 0xFF, 64);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 64; j++)
            ck_assert_uint_eq(((unsigned char *)blocks[i])[j], (unsigned)(i & 0xFF)); /* no block handed out twice */
    ck_assert_uint_eq(stats_of(p).live_allocations, N);
    for (int i = 0; i < N; i++)
        ck_ok(mp_tcache_deallocate(t, blocks[i]));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_status(mp_tcache_deallocate(t, blocks[0]), MP_ERR_INVALID_POINTER); /* checks kept */
    ck_status(mp_tcache_deallocate(t, (char *)blocks[1] + 8), MP_ERR_INVALID_POINTER);
    ck_intact(p);
}

START_TEST(tcache_of_another_layout_is_a_bypass_that_still_serves)
{
    mp_pool *p = new_pool("lf-tc-layout", lf_fixed(64, 1 << 14));
    mp_tcache *real = NULL, *other = NULL;
    ck_ok(MP_POOL_THREAD_CACHE(p, &real));
    unsigned wrong[] = {0, MP_TCACHE_LAYOUT - 1, MP_TCACHE_LAYOUT + 1, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        ck_ok(mp_pool_thread_cache_layout(p, wrong[i], &other));
        ck_assert_ptr_ne(other, real);
        check_bypass_serves(p, other);
    }
    ck_status(mp_pool_thread_cache_layout(p, MP_TCACHE_LAYOUT + 1, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_thread_cache_layout(NULL, MP_TCACHE_LAYOUT + 1, &other), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
}
END_TEST

/* On a variable pool with tracking (the locked path), the bypass keeps exact stats. */
START_TEST(tcache_of_another_layout_keeps_exact_stats)
{
    mp_config c = cfg_variable(1 << 16);
    c.track_stats = true;
    mp_pool *p = new_pool("lf-tc-layout-stats", c);
    mp_tcache *t = NULL;
    ck_ok(mp_pool_thread_cache_layout(p, MP_TCACHE_LAYOUT + 1, &t));
    ck_assert_uint_eq(t->owner, 0);
    void *a = NULL, *b = NULL;
    ck_ok(mp_tcache_allocate(t, 40, &a));
    ck_ok(mp_tcache_allocate(t, 100, &b));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 2);
    ck_assert_uint_eq(s.current_used, 140);
    ck_assert_uint_eq(s.allocation_count, 2);
    ck_ok(mp_tcache_deallocate(t, a));
    ck_ok(mp_tcache_deallocate(t, b));
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.deallocation_count, 2);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* The right layout gives the thread's real cache: owned, and its inline
 * free fills its bin. The 1.1 entry point means layout 101, which this
 * library's (103: bins that count) is not: its callers get the bypass. */
START_TEST(tcache_of_the_right_layout_is_the_real_cache)
{
    ck_assert_uint_eq(MP_TCACHE_LAYOUT, 103); /* the 1.1 entry point means 101: revisit both on a new layout */
    mp_pool *p = new_pool("lf-tc-layout-ok", lf_fixed(64, 1 << 14));
    mp_tcache *checked = NULL, *v11 = NULL, *explicit_ = NULL;
    ck_ok(MP_POOL_THREAD_CACHE(p, &checked));
    ck_ok(mp_pool_thread_cache(p, &v11));
    ck_ok(mp_pool_thread_cache_layout(p, MP_TCACHE_LAYOUT, &explicit_));
    ck_assert_ptr_ne(checked, v11);
    check_bypass_serves(p, v11);
    ck_assert_ptr_eq(checked, explicit_);
    ck_assert_uint_ne(checked->owner, 0);
    ck_assert_ptr_eq(checked->pool, p);
    void *a = NULL;
    ck_ok(mp_tcache_allocate(checked, 64, &a));
    ck_ok(mp_tcache_deallocate(checked, a));
    ck_assert_ptr_eq(mp__tcache_bins(checked)[0].top[-1].p, a); /* the inline free put it on top */
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

static Suite *lockfree_suite(void)
{
    Suite *s = suite_create("lockfree");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, contention_on_a_fixed_pool);
    tcase_add_test(t, contention_on_a_fixed_pool_through_the_magazines);
    tcase_add_test(t, contention_on_a_variable_pool);
    tcase_add_test(t, contention_with_large_blocks);
    tcase_add_test(t, double_free_is_refused_fixed);
    tcase_add_test(t, double_free_is_refused_variable);
    tcase_add_test(t, foreign_interior_and_wrong_pool_frees_are_refused_fixed);
    tcase_add_test(t, foreign_interior_and_wrong_pool_frees_are_refused_variable);
    tcase_add_test(t, double_free_across_threads_is_refused);
    tcase_add_test(t, large_blocks_take_the_lock_and_keep_their_checks);
    tcase_add_test(t, stats_count_cached_blocks_as_free);
    tcase_add_test(t, reset_empties_the_caches);
    tcase_add_loop_test(t, magazines_keep_every_block_and_overflow_to_the_strategy, 0, 2);
    tcase_add_test(t, trim_takes_the_callers_cache_and_the_magazines);
    tcase_add_test(t, tracking_and_lock_free_do_not_mix);
    tcase_add_test(t, a_pool_may_die_before_the_threads_that_used_it);
    tcase_add_test(t, many_pools_one_thread);
    tcase_add_test(t, tcache_contention_on_a_fixed_pool);
    tcase_add_test(t, tcache_contention_with_large_blocks);
    tcase_add_test(t, tcache_refuses_double_foreign_interior_and_wrong_pool_frees);
    tcase_add_test(t, tcache_hot_chunk_is_dropped_when_chunks_change);
    tcase_add_test(t, tcache_bad_input_is_refused_and_the_pool_stays_intact);
    tcase_add_test(t, tcache_of_a_mutex_pool_calls_the_pool);
    tcase_add_test(t, tcache_used_by_another_thread_leaves_the_owners_bin_alone);
    tcase_add_test(t, tcache_of_another_layout_is_a_bypass_that_still_serves);
    tcase_add_test(t, tcache_of_another_layout_keeps_exact_stats);
    tcase_add_test(t, tcache_of_the_right_layout_is_the_real_cache);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(lockfree_suite)
