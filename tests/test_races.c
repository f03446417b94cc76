/* Races a hostile program can set up: frees racing a trim, bad frees
 * racing a pool without a lock, two threads freeing one block at the same
 * moment, many threads meeting a pool at once, and grow/trim cycles that
 * must not leave memory behind. They repeat enough to fail reliably on a
 * library that gets them wrong, and run under ASan, TSan and Valgrind too. */
#include "mp_hammer.h"

#include <malloc.h>

/* Loops count failed calls and assert once: every Check assertion writes its
 * location to Check's pipe, which would dominate the run (and Valgrind's). */
static _Atomic int failed_calls;
#define OK(expr) ((void)((expr) != MP_OK && atomic_fetch_add(&failed_calls, 1)))
#define NONE_FAILED() ck_assert_int_eq(atomic_load(&failed_calls), 0)

static void *take(mp_pool *p, size_t n)
{
    void *x = NULL;
    OK(mp_pool_allocate(p, n, &x));
    return x;
}

static mp_config lock_free(mp_config c)
{
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.track_stats = false;
    return c;
}

/* ---- double frees racing a trim (lock-free pools) -------------------------- */

enum { K = 64 }; /* blocks of one 4 KiB chunk */

typedef struct trim_race {
    mp_pool *pool;
    pthread_barrier_t step;
    void *blocks[K];
    void *lent;     /* a block B frees and takes back: B's cache then holds this chunk hot */
    int rounds;
    int wrongly_accepted;
} trim_race;

static void *double_freer(void *arg)
{
    trim_race *r = arg;
    for (int round = 0; round < r->rounds; round++) {
        pthread_barrier_wait(&r->step); /* 1: lent is set */
        OK(mp_pool_deallocate(r->pool, r->lent));
        r->lent = take(r->pool, 64);
        pthread_barrier_wait(&r->step); /* 2: A frees every block */
        pthread_barrier_wait(&r->step); /* 3: A trims while these frees run */
        for (int i = 0; i < K; i++)
            if (mp_pool_deallocate(r->pool, r->blocks[i]) != MP_ERR_INVALID_POINTER)
                r->wrongly_accepted++;
        pthread_barrier_wait(&r->step); /* 4: round over */
    }
    return NULL;
}

START_TEST(double_frees_racing_a_trim_never_touch_freed_bookkeeping)
{
    mp_config c = lock_free(cfg_fixed(64, 4096));
    trim_race r = {.pool = new_pool("trimmed", c), .rounds = 1500};
    pthread_barrier_init(&r.step, NULL, 2);
    pthread_t b;
    pthread_create(&b, NULL, double_freer, &r);
    for (int round = 0; round < r.rounds; round++) {
        for (int i = 0; i < K; i++)
            r.blocks[i] = take(r.pool, 64);
        r.lent = r.blocks[0];
        pthread_barrier_wait(&r.step); /* 1 */
        pthread_barrier_wait(&r.step); /* 2: B holds the chunk hot; r.lent came back to us */
        r.blocks[0] = r.lent;
        for (int i = 0; i < K; i++)
            OK(mp_pool_deallocate(r.pool, r.blocks[i]));
        pthread_barrier_wait(&r.step); /* 3 */
        OK(mp_pool_trim(r.pool, 0)); /* drops the chunk while B double-frees into it */
        pthread_barrier_wait(&r.step); /* 4 */
    }
    pthread_join(b, NULL);
    NONE_FAILED();
    ck_assert_int_eq(r.wrongly_accepted, 0);
    mp_stats s = stats_of(r.pool);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_intact(r.pool);
    pthread_barrier_destroy(&r.step);
    mp_pool_destroy(r.pool);
}
END_TEST

/* ---- grow/trim cycles leave nothing behind ---------------------------------- */

static void *use_once(void *arg)
{
    void *p = alloc_ok(arg, 64);
    ck_ok(mp_pool_deallocate(arg, p)); /* this thread's cache keeps a hot chunk, then idles */
    return NULL;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define HEAP_IS_MEASURABLE 0 /* the sanitizers' allocators report no mallinfo */
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define HEAP_IS_MEASURABLE 0
#  endif
#endif
#ifndef HEAP_IS_MEASURABLE
#  define HEAP_IS_MEASURABLE 1
#endif

/* Bytes malloc hands out, from its heap or from mappings of their own. */
static size_t heap_bytes(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

typedef struct idlers {
    mp_pool *pool;
    pthread_barrier_t attached;
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool done;
} idlers;

static void *attach_and_idle(void *arg)
{
    idlers *d = arg;
    use_once(d->pool); /* a live thread's cache holds a hot chunk: a hazard */
    pthread_barrier_wait(&d->attached);
    pthread_mutex_lock(&d->m);
    while (!d->done)
        pthread_cond_wait(&d->cv, &d->m);
    pthread_mutex_unlock(&d->m);
    return NULL;
}

/* Grow/trim cycles on p, each adding and dropping a chunk for `size`
 * bytes: the heap grows by less than 1 MiB once the tables are warm. */
static void cycle_grow_and_trim(mp_pool *p, size_t size, int cycles)
{
    size_t before = 0;
    for (int i = 0; i < cycles; i++) {
        if (i == 10) /* after the first cycles have warmed every table up */
            before = heap_bytes();
        void *big = take(p, size); /* past the chunks: growth, a new span table */
        OK(mp_pool_deallocate(p, big));
        OK(mp_pool_trim(p, 1 << 20)); /* the new chunk goes: another table */
    }
    size_t after = heap_bytes();
    NONE_FAILED();
    if (HEAP_IS_MEASURABLE)
        ck_assert_msg(after < before + (1 << 20), "the heap grew by %zu bytes over %d grow/trim cycles",
                      after - before, cycles - 10);
}

START_TEST(grow_trim_cycles_keep_the_heap_flat_with_hundreds_of_live_caches)
{
    enum { N = 300 }; /* more caches than any fixed-size hazard list would hold */
    mp_config c = MP_CONFIG_INIT;
    mp_config_high_performance_cpu(&c);
    c.initial_size = 1 << 20;
    idlers d = {.pool = new_pool("crowded", c), .m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    int n = mp_test_scaled(N);
    pthread_barrier_init(&d.attached, NULL, (unsigned)n + 1);
    pthread_t *t = malloc((size_t)n * sizeof *t);
    pthread_attr_t small;
    pthread_attr_init(&small);
    pthread_attr_setstacksize(&small, 64 << 10);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&t[i], &small, attach_and_idle, &d), 0);
    pthread_barrier_wait(&d.attached);
    cycle_grow_and_trim(d.pool, 32 << 20, mp_test_scaled(400)); /* a 512 KiB state map per chunk */
    pthread_mutex_lock(&d.m);
    d.done = true;
    pthread_cond_broadcast(&d.cv);
    pthread_mutex_unlock(&d.m);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
    ck_intact(d.pool);
    mp_pool_destroy(d.pool);
    pthread_barrier_destroy(&d.attached);
}
END_TEST

START_TEST(grow_trim_cycles_keep_the_heap_flat)
{
    mp_pool *p = new_pool("cycles", lock_free(cfg_variable(1 << 16)));
    pthread_t t;
    pthread_create(&t, NULL, use_once, p);
    pthread_join(t, NULL);
    mp_pool *idle_cache_pool = p; /* an exited thread's cache stays listed */
    size_t before = 0;
    for (int i = 0; i < 10000; i++) {
        if (i == 100) /* after the first cycles have warmed every table up */
            before = heap_bytes();
        void *big = take(p, 200 << 10); /* past the chunk: growth, a new span table */
        void *small = take(p, 64);
        OK(mp_pool_deallocate(p, small));
        OK(mp_pool_deallocate(p, big));
        OK(mp_pool_trim(p, 0)); /* every chunk goes: another table */
    }
    NONE_FAILED();
    size_t after = heap_bytes();
    if (HEAP_IS_MEASURABLE)
        ck_assert_msg(after < before + (256 << 10), "the heap grew by %zu bytes over 9,900 grow/trim cycles",
                      after - before);
    ck_intact(idle_cache_pool);
    mp_pool_destroy(p);
}
END_TEST

/* ---- a bad free never reads a pool that has no lock ---------------------------- */

typedef struct unlocked_race {
    mp_pool *unlocked;
    atomic_int stop;
} unlocked_race;

static void *grow_and_trim(void *arg)
{
    unlocked_race *r = arg;
    void *held[32];
    while (!atomic_load(&r->stop)) {
        for (int i = 0; i < 32; i++) /* 32 chunks: the chunk table grows and moves */
            held[i] = take(r->unlocked, 100 << 10);
        for (int i = 0; i < 32; i++)
            OK(mp_pool_deallocate(r->unlocked, held[i]));
        OK(mp_pool_trim(r->unlocked, 0));
    }
    return NULL;
}

START_TEST(a_bad_free_never_reads_a_pool_that_has_no_lock)
{
    mp_config c = cfg_variable(4096);
    c.thread_safe = false; /* only its own thread uses it: legal */
    unlocked_race r = {.unlocked = new_pool("unlocked", c)};
    mp_pool *mine = new_pool("mine", cfg_variable(1 << 16));
    pthread_t t;
    pthread_create(&t, NULL, grow_and_trim, &r);
    char stack_block[64];
    int wrong = 0;
    for (int i = 0, n = mp_test_scaled(100000); i < n; i++) /* each looks for the pool that owns the pointer */
        wrong += mp_pool_deallocate(mine, stack_block + (i & 7)) != MP_ERR_INVALID_POINTER;
    ck_assert_int_eq(wrong, 0);
    NONE_FAILED();
    atomic_store(&r.stop, 1);
    pthread_join(t, NULL);
    ck_intact(mine);
    ck_intact(r.unlocked);
    mp_pool_destroy(mine);
    mp_pool_destroy(r.unlocked);
}
END_TEST

/* ---- two threads free one block at the same moment ------------------------------- */

typedef struct twin_free {
    mp_pool *pool;
    pthread_barrier_t go;
    void *block;
    int rounds;
    atomic_int accepted;
} twin_free;

static void *free_twin(void *arg)
{
    twin_free *f = arg;
    for (int i = 0; i < f->rounds; i++) {
        pthread_barrier_wait(&f->go); /* block is set */
        if (mp_pool_deallocate(f->pool, f->block) == MP_OK)
            atomic_fetch_add(&f->accepted, 1);
        pthread_barrier_wait(&f->go); /* both frees done */
    }
    return NULL;
}

static void racing_double_frees(mp_config c, int rounds)
{
    twin_free f = {.pool = new_pool("twins", c), .rounds = rounds};
    pthread_barrier_init(&f.go, NULL, 3);
    pthread_t a, b;
    pthread_create(&a, NULL, free_twin, &f);
    pthread_create(&b, NULL, free_twin, &f);
    for (int i = 0; i < rounds; i++) {
        f.block = take(f.pool, 48);
        pthread_barrier_wait(&f.go);
        pthread_barrier_wait(&f.go);
        if (atomic_load(&f.accepted) != i + 1) /* exactly one of the two */
            break;
    }
    ck_assert_int_eq(atomic_load(&f.accepted), rounds);
    NONE_FAILED();
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    mp_stats s = stats_of(f.pool);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.allocation_count, s.deallocation_count);
    ck_intact(f.pool);
    pthread_barrier_destroy(&f.go);
    mp_pool_destroy(f.pool);
}

START_TEST(racing_double_frees_are_refused_once_on_mutex_pools)
{
    racing_double_frees(cfg_variable(1 << 16), 5000);
    racing_double_frees(cfg_fixed(64, 1 << 12), 5000);
}
END_TEST

START_TEST(racing_double_frees_are_refused_once_on_debug_pools)
{
    mp_config c = MP_CONFIG_INIT;
    mp_config_debug_cpu(&c);
    c.sync_type = MP_SYNC_LOCK_FREE; /* debugging keeps the lock: still refused */
    racing_double_frees(c, 5000);
}
END_TEST

/* ---- many threads meet a lock-free pool at once ------------------------------------ */

typedef struct crowd {
    mp_pool *pool;
    pthread_barrier_t start;
    atomic_int failures;
} crowd;

static void *crowd_member(void *arg)
{
    crowd *c = arg;
    pthread_barrier_wait(&c->start); /* every thread attaches its cache at the same moment */
    for (int i = 0; i < 200; i++) {
        void *p;
        if (mp_pool_allocate(c->pool, 16 + (size_t)(i % 64) * 16, &p) != MP_OK ||
            mp_pool_deallocate(c->pool, p) != MP_OK)
            atomic_fetch_add(&c->failures, 1);
    }
    return NULL;
}

START_TEST(sixty_four_threads_attach_their_caches_at_once)
{
    enum { N = 64 };
    mp_config c = MP_CONFIG_INIT;
    mp_config_high_performance_cpu(&c);
    for (int round = 0, n = mp_test_scaled(8); round < n; round++) { /* new threads, new pool: fresh caches */
        crowd cr = {.pool = new_pool("crowd", c)};
        pthread_barrier_init(&cr.start, NULL, N);
        pthread_t t[N];
        for (int i = 0; i < N; i++)
            pthread_create(&t[i], NULL, crowd_member, &cr);
        for (int i = 0; i < N; i++)
            pthread_join(t[i], NULL);
        ck_assert_int_eq(atomic_load(&cr.failures), 0);
        mp_stats s = stats_of(cr.pool);
        ck_assert_uint_eq(s.live_allocations, 0);
        ck_intact(cr.pool);
        pthread_barrier_destroy(&cr.start);
        mp_pool_destroy(cr.pool);
    }
}
END_TEST

static Suite *races_suite(void)
{
    Suite *s = suite_create("races");
    TCase *t = tcase_create("races");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, double_frees_racing_a_trim_never_touch_freed_bookkeeping);
    tcase_add_test(t, grow_trim_cycles_keep_the_heap_flat);
    tcase_add_test(t, grow_trim_cycles_keep_the_heap_flat_with_hundreds_of_live_caches);
    tcase_add_test(t, a_bad_free_never_reads_a_pool_that_has_no_lock);
    tcase_add_test(t, racing_double_frees_are_refused_once_on_mutex_pools);
    tcase_add_test(t, racing_double_frees_are_refused_once_on_debug_pools);
    tcase_add_test(t, sixty_four_threads_attach_their_caches_at_once);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(races_suite)
