/* fork(): a child forked while other threads work in pools, hold their
 * locks, refill their caches and call the registry gets a library that
 * works: it allocates and frees in every pool, frees blocks it inherited,
 * creates and destroys pools, and exits. A child that hangs is killed after
 * a bound and fails the test. Grandchildren report by exit status only. */
#include "mp_hammer.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { POOLS = 3, WORKERS = 3, FORKS = 20 };

typedef struct shop {
    mp_pool *pool[POOLS];
    atomic_int stop;
} shop;

static void *worker(void *arg)
{
    shop *s = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    void *held[64] = {0};
    while (!atomic_load(&s->stop)) {
        int i = (int)(rand_r(&seed) % 64);
        mp_pool *p = s->pool[rand_r(&seed) % POOLS];
        if (held[i]) {
            mp_pool *owner = NULL;
            for (int k = 0; k < POOLS; k++) {
                bool mine = false;
                mp_pool_owns(s->pool[k], held[i], &mine);
                if (mine)
                    owner = s->pool[k];
            }
            if (owner)
                mp_pool_deallocate(owner, held[i]);
            held[i] = NULL;
        } else if (mp_pool_allocate(p, 1 + rand_r(&seed) % 2000, &held[i]) != MP_OK) {
            held[i] = NULL;
        }
        if (rand_r(&seed) % 512 == 0)
            mp_pool_trim(p, 0);
        void *q;
        if (mp_allocate("forked", 64, &q) == MP_OK)
            mp_deallocate("forked", q);
    }
    for (int i = 0; i < 64; i++)
        for (int k = 0; held[i] && k < POOLS; k++)
            if (mp_pool_deallocate(s->pool[k], held[i]) == MP_OK)
                held[i] = NULL;
    return NULL;
}

/* The grandchild's work; the exit status says which step failed. */
static int in_child(shop *s, void *inherited)
{
    for (int k = 0; k < POOLS; k++) {
        void *v[100];
        for (int i = 0; i < 100; i++)
            if (mp_pool_allocate(s->pool[k], 64 + (size_t)i, &v[i]) != MP_OK)
                return 10 + k;
        for (int i = 0; i < 100; i++)
            if (mp_pool_deallocate(s->pool[k], v[i]) != MP_OK)
                return 20 + k;
        if (mp_pool_check(s->pool[k]) != MP_OK)
            return 30 + k;
    }
    if (mp_pool_deallocate(s->pool[0], inherited) != MP_OK)
        return 40;
    void *q;
    if (mp_allocate("forked", 64, &q) != MP_OK || mp_deallocate("forked", q) != MP_OK)
        return 50;
    mp_config c = cfg_variable(1 << 16);
    mp_pool *fresh;
    if (mp_pool_create("child", MP_MEMORY_CPU, &c, &fresh) != MP_OK || mp_pool_destroy(fresh) != MP_OK)
        return 60;
    if (mp_registry_destroy("forked") != MP_OK)
        return 70;
    return 0;
}

/* The child's exit status, or -1 if it did not exit within 10 seconds. */
static int wait_bounded(pid_t pid)
{
    for (int ms = 0; ms < 10000; ms++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

START_TEST(a_child_forked_while_threads_use_pools_gets_working_pools)
{
    mp_config lf = MP_CONFIG_INIT, fixed = cfg_fixed(256, 1 << 14);
    mp_config_high_performance_cpu(&lf);
    fixed.sync_type = MP_SYNC_LOCK_FREE;
    fixed.track_stats = false;
    mp_config mutex = cfg_variable(1 << 16);
    ck_ok(mp_registry_create_cpu_pool("forked", &mutex, NULL));
    shop s = {.pool = {new_pool("mutex", mutex), new_pool("lock-free", lf), new_pool("fixed", fixed)}};
    void *inherited = alloc_ok(s.pool[0], 100);
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, &s);
    int hung = 0, failed = 0, last = 0;
    for (int f = 0; f < FORKS; f++) {
        nanosleep(&(struct timespec){0, 200000 + f * 50000}, NULL);
        pid_t pid = fork();
        if (pid == 0)
            _exit(in_child(&s, inherited));
        ck_assert_int_gt(pid, 0);
        int st = wait_bounded(pid);
        hung += st == -1;
        failed += st > 0;
        if (st != 0)
            last = st;
    }
    atomic_store(&s.stop, 1);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    ck_assert_msg(hung == 0 && failed == 0, "%d of %d children hung, %d failed (last status %d)", hung, FORKS,
                  failed, last);
    ck_ok(mp_pool_deallocate(s.pool[0], inherited));
    for (int k = 0; k < POOLS; k++) {
        ck_intact(s.pool[k]);
        mp_pool_destroy(s.pool[k]);
    }
    ck_ok(mp_registry_destroy("forked"));
}
END_TEST

static Suite *fork_suite(void)
{
    Suite *s = suite_create("fork");
    TCase *t = tcase_create("fork");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, a_child_forked_while_threads_use_pools_gets_working_pools);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(fork_suite)
