/* Stress: worker threads allocate mixed sizes, stamp each block, hand some
 * blocks to other threads through a shared exchange and free what they
 * receive; a monitor reads stats and checks invariants; every so often all
 * workers stop at a barrier and the pool is reset. Every block's stamp is
 * checked before it is freed. Runs MP_STRESS_SECONDS (default 3) per pool
 * kind and prints the number of operations.
 *
 * usage: test_stress  (plain exit status; "N passed, N failed" at the end) */
#define _POSIX_C_SOURCE 200809L
#include <mempool/mempool.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WORKERS = 4, KEEP = 64, EXCHANGE = 256 };

typedef struct stamp {
    uint32_t size, id;
} stamp;

typedef struct shared {
    mp_pool *pool;
    size_t max_size;
    _Atomic(void *) exchange[EXCHANGE];
    atomic_int stop, pause_gen, resume_gen, paused, epoch; /* a barrier by generation */
    atomic_long ops, errors;
} shared;

static unsigned char fill_of(const stamp *s) { return (unsigned char)(s->id * 31u + s->size); }

static void stamp_block(unsigned char *b, uint32_t size, uint32_t id)
{
    stamp s = {size, id};
    memcpy(b, &s, sizeof s);
    memset(b + sizeof s, fill_of(&s), size - sizeof s);
}

/* 0 if the block still carries its stamp. */
static int verify(const unsigned char *b)
{
    stamp s;
    memcpy(&s, b, sizeof s);
    unsigned char f = fill_of(&s);
    for (uint32_t i = sizeof s; i < s.size; i++)
        if (b[i] != f)
            return -1;
    return 0;
}

static void release(shared *sh, void *b)
{
    if (verify(b) != 0 || mp_pool_deallocate(sh->pool, b) != MP_OK)
        atomic_fetch_add(&sh->errors, 1);
    atomic_fetch_add(&sh->ops, 1);
}

typedef struct worker {
    shared *sh;
    unsigned seed;
    uint32_t id;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    void *mine[KEEP] = {0};
    int epoch = atomic_load(&sh->epoch), acked = 0;
    while (!atomic_load(&sh->stop)) {
        int gen = atomic_load(&sh->pause_gen);
        if (gen != acked) { /* barrier: the pool is about to be reset; wait for that generation's resume */
            acked = gen;
            atomic_fetch_add(&sh->paused, 1);
            while (atomic_load(&sh->resume_gen) != gen && !atomic_load(&sh->stop))
                sched_yield();
        }
        if (atomic_load(&sh->epoch) != epoch) { /* a reset freed every block */
            epoch = atomic_load(&sh->epoch);
            memset(mine, 0, sizeof mine);
            continue;
        }
        unsigned r = rand_r(&w->seed);
        int k = (int)(r % KEEP);
        if (mine[k]) {
            if (r & 0x100) { /* hand it to whoever takes it next */
                void *old = atomic_exchange(&sh->exchange[r % EXCHANGE], mine[k]);
                if (old)
                    release(sh, old);
            } else {
                release(sh, mine[k]);
            }
            mine[k] = NULL;
        } else {
            uint32_t size = (uint32_t)(sizeof(stamp) + rand_r(&w->seed) % (sh->max_size - sizeof(stamp) + 1));
            void *b = NULL;
            if (mp_pool_allocate(sh->pool, size, &b) != MP_OK) {
                atomic_fetch_add(&sh->errors, 1);
                continue;
            }
            stamp_block(b, size, w->id++);
            mine[k] = b;
            atomic_fetch_add(&sh->ops, 1);
        }
    }
    for (int k = 0; k < KEEP; k++)
        if (mine[k])
            release(sh, mine[k]);
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Returns the number of problems found. */
static int stress(const char *label, mp_config cfg, size_t max_size, double seconds)
{
    shared *sh = calloc(1, sizeof *sh);
    sh->max_size = max_size;
    if (mp_pool_create("stress", MP_MEMORY_CPU, &cfg, &sh->pool) != MP_OK) {
        printf("FAIL %s: %s\n", label, mp_last_error_message());
        return 1;
    }
    pthread_t th[WORKERS];
    worker w[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (worker){sh, 7919u * (unsigned)i + 1, (uint32_t)i << 24};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    int problems = 0, resets = 0, checks = 0;
    double t0 = now(), next_reset = t0 + seconds / 4;
    while (now() - t0 < seconds) {
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
        mp_stats st = MP_STATS_INIT;
        if (mp_pool_get_stats(sh->pool, &st) != MP_OK || mp_pool_check(sh->pool) != MP_OK) {
            printf("FAIL %s: %s\n", label, mp_last_error_message());
            problems++;
        }
        checks++;
        if (now() >= next_reset) {
            atomic_store(&sh->paused, 0);
            int gen = atomic_fetch_add(&sh->pause_gen, 1) + 1;
            while (atomic_load(&sh->paused) < WORKERS)
                sched_yield();
            for (int i = 0; i < EXCHANGE; i++)
                atomic_store(&sh->exchange[i], NULL);
            mp_pool_reset(sh->pool);
            mp_pool_get_stats(sh->pool, &st);
            if (st.live_allocations != 0 || st.current_used != 0 || mp_pool_check(sh->pool) != MP_OK) {
                printf("FAIL %s: the reset left %llu blocks\n", label, (unsigned long long)st.live_allocations);
                problems++;
            }
            atomic_fetch_add(&sh->epoch, 1);
            atomic_store(&sh->resume_gen, gen);
            resets++;
            next_reset = now() + seconds / 4;
        }
    }
    atomic_store(&sh->stop, 1);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < EXCHANGE; i++) {
        void *b = atomic_load(&sh->exchange[i]);
        if (b)
            release(sh, b);
    }
    mp_stats st = MP_STATS_INIT;
    mp_pool_get_stats(sh->pool, &st);
    long errors = atomic_load(&sh->errors);
    if (errors || st.live_allocations != 0 || mp_pool_check(sh->pool) != MP_OK) {
        printf("FAIL %s: %ld bad operations, %llu blocks left (%s)\n", label, errors,
               (unsigned long long)st.live_allocations, mp_last_error_message());
        problems++;
    }
    printf("%s %s: %ld operations, %d resets, %d stats checks in %.1f s\n", problems ? "FAIL" : "PASS", label,
           atomic_load(&sh->ops), resets, checks, now() - t0);
    mp_pool_destroy(sh->pool);
    free(sh);
    return problems;
}

int main(void)
{
    const char *env = getenv("MP_STRESS_SECONDS");
    double seconds = env ? atof(env) : 3.0;
    mp_config v = MP_CONFIG_INIT, f = MP_CONFIG_INIT, d = MP_CONFIG_INIT;
    mp_config_default_cpu(&v);
    v.initial_size = 1 << 16;
    mp_config_fixed_size_cpu(&f, 256);
    f.initial_size = 1 << 16;
    mp_config_debug_cpu(&d);
    int failed = 0, passed = 0;
    int bad[3] = {stress("variable pool", v, 4000, seconds), stress("fixed pool", f, 256, seconds),
                  stress("debug pool", d, 1000, seconds / 2)};
    for (int i = 0; i < 3; i++)
        bad[i] ? failed++ : passed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
