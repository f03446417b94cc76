/* Threads on one mutex pool: no block is handed out twice, contents survive,
 * counts are exact at the end, and blocks freed by another thread return. */
#include "mp_hammer.h"

/* Each thread keeps up to 32 blocks stamped whole with its own byte, checks
 * the stamp before freeing, and never sees another thread's stamp. */
static void run_hammer(mp_config c, size_t max_size)
{
    mp_pool *p = new_pool("shared", c);
    long allocs, frees;
    mp_hammer_run(&(mp_hammer){.pool = p, .rounds = 20000, .keep = 32, .max_size = max_size, .stamp = SIZE_MAX,
                               .alloc = mp_pool_allocate, .free = mp_pool_deallocate},
                  &allocs, &frees);
    ck_assert_int_eq(allocs, frees);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, (uint64_t)allocs);
    ck_assert_uint_eq(s.deallocation_count, (uint64_t)frees);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.current_used, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}

START_TEST(threads_share_a_variable_pool) { run_hammer(cfg_variable(1 << 16), 2000); }
END_TEST

START_TEST(threads_share_a_fixed_pool) { run_hammer(cfg_fixed(128, 1 << 14), 128); }
END_TEST

START_TEST(threads_share_a_lock_free_configured_pool)
{
    mp_config c = cfg_fixed(64, 1 << 14);
    c.sync_type = MP_SYNC_LOCK_FREE;
    run_hammer(c, 64);
}
END_TEST

/* One thread allocates, another frees what it receives through a ring. */
typedef struct ring {
    void *slot[256];
    unsigned head, tail;
    pthread_mutex_t m;
    pthread_cond_t cv;
    int done;
} ring;

typedef struct pair {
    mp_pool *pool;
    ring *ring;
    long count;
    int error;
} pair;

static void *producer(void *arg)
{
    pair *pr = arg;
    for (long i = 0; i < pr->count; i++) {
        void *b;
        if (mp_pool_allocate(pr->pool, 64, &b) != MP_OK) {
            pr->error = 1;
            break;
        }
        memset(b, 0x3C, 64);
        pthread_mutex_lock(&pr->ring->m);
        while (pr->ring->head - pr->ring->tail == 256)
            pthread_cond_wait(&pr->ring->cv, &pr->ring->m);
        pr->ring->slot[pr->ring->head++ % 256] = b;
        pthread_cond_broadcast(&pr->ring->cv);
        pthread_mutex_unlock(&pr->ring->m);
    }
    pthread_mutex_lock(&pr->ring->m);
    pr->ring->done = 1;
    pthread_cond_broadcast(&pr->ring->cv);
    pthread_mutex_unlock(&pr->ring->m);
    return NULL;
}

static void *consumer(void *arg)
{
    pair *pr = arg;
    for (;;) {
        pthread_mutex_lock(&pr->ring->m);
        while (pr->ring->head == pr->ring->tail && !pr->ring->done)
            pthread_cond_wait(&pr->ring->cv, &pr->ring->m);
        if (pr->ring->head == pr->ring->tail) {
            pthread_mutex_unlock(&pr->ring->m);
            return NULL;
        }
        unsigned char *b = pr->ring->slot[pr->ring->tail++ % 256];
        pthread_cond_broadcast(&pr->ring->cv);
        pthread_mutex_unlock(&pr->ring->m);
        if (b[0] != 0x3C || b[63] != 0x3C || mp_pool_deallocate(pr->pool, b) != MP_OK)
            pr->error = 2;
    }
}

static void cross_thread(mp_config c)
{
    mp_pool *p = new_pool("cross", c);
    ring r = {.m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pair pr = {p, &r, 50000, 0};
    pthread_t a, b;
    pthread_create(&a, NULL, producer, &pr);
    pthread_create(&b, NULL, consumer, &pr);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    ck_assert_int_eq(pr.error, 0);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 50000);
    ck_assert_uint_eq(s.deallocation_count, 50000);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert(s.reserved_bytes <= 256 * 1024);
    ck_intact(p);
    mp_pool_destroy(p);
}

START_TEST(blocks_freed_by_another_thread_are_reused_fixed) { cross_thread(cfg_fixed(64, 1 << 14)); }
END_TEST

START_TEST(blocks_freed_by_another_thread_are_reused_variable) { cross_thread(cfg_variable(1 << 14)); }
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *t = tcase_create("threads");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, threads_share_a_variable_pool);
    tcase_add_test(t, threads_share_a_fixed_pool);
    tcase_add_test(t, threads_share_a_lock_free_configured_pool);
    tcase_add_test(t, blocks_freed_by_another_thread_are_reused_fixed);
    tcase_add_test(t, blocks_freed_by_another_thread_are_reused_variable);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(threads_suite)
