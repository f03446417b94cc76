/* Shared helpers of the Check suites: status assertions that print the
 * library's detail message, the invariant check run after operations, and
 * small constructors. */
#ifndef MEMPOOL_TEST_H
#define MEMPOOL_TEST_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* rand_r, clock_gettime under -std=c11 */
#endif

#include <check.h>
#include <mempool/mempool.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ck_status(expr, want)                                                                      \
    do {                                                                                           \
        mp_status s_ = (expr);                                                                     \
        ck_assert_msg(s_ == (want), "%s -> %s, expected %s (%s)", #expr, mp_status_name(s_),       \
                      mp_status_name(want), mp_last_error_message());                              \
    } while (0)
#define ck_ok(expr) ck_status(expr, MP_OK)
/* The allocator's invariants hold: run after operations. */
#define ck_intact(pool) ck_ok(mp_pool_check(pool))
#define ck_detail_has(text)                                                                        \
    ck_assert_msg(strstr(mp_last_error_message(), (text)) != NULL, "detail \"%s\" lacks \"%s\"",   \
                  mp_last_error_message(), (text))

static inline mp_config cfg_variable(size_t initial)
{
    mp_config c = MP_CONFIG_INIT;
    mp_config_default_cpu(&c);
    c.initial_size = initial;
    return c;
}

static inline mp_config cfg_fixed(size_t block, size_t initial)
{
    mp_config c = MP_CONFIG_INIT;
    mp_config_fixed_size_cpu(&c, block);
    c.initial_size = initial;
    return c;
}

static inline mp_pool *new_pool_of(const char *name, mp_memory_type type, mp_config c)
{
    mp_pool *p = NULL;
    ck_ok(mp_pool_create(name, type, &c, &p));
    ck_assert_ptr_nonnull(p);
    return p;
}

static inline mp_pool *new_pool(const char *name, mp_config c) { return new_pool_of(name, MP_MEMORY_CPU, c); }
static inline mp_pool *new_gpu_pool(const char *name, mp_config c) { return new_pool_of(name, MP_MEMORY_GPU, c); }

static inline mp_stats stats_of(const mp_pool *p)
{
    mp_stats s = MP_STATS_INIT;
    ck_ok(mp_pool_get_stats(p, &s));
    return s;
}

static inline void *alloc_ok(mp_pool *p, size_t n)
{
    void *ptr = NULL;
    ck_ok(mp_pool_allocate(p, n, &ptr));
    ck_assert_ptr_nonnull(ptr);
    return ptr;
}

/* n scaled by MP_TEST_SCALE percent (default 100): the Valgrind stage runs
 * the long loops shorter, so that every stage stays bounded by its work. */
static inline int mp_test_scaled(int n)
{
    const char *e = getenv("MP_TEST_SCALE");
    long pct = e ? strtol(e, NULL, 10) : 100;
    long v = (long)n * (pct > 0 ? pct : 100) / 100;
    return v > 0 ? (int)v : 1;
}

/* Runs one suite; exit status 0 when every test passed. */
#define MP_TEST_MAIN(make_suite)                                                                   \
    int main(void)                                                                                 \
    {                                                                                              \
        SRunner *sr = srunner_create(make_suite());                                                \
        srunner_run_all(sr, CK_NORMAL);                                                            \
        int failed = srunner_ntests_failed(sr);                                                    \
        srunner_free(sr);                                                                          \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                                               \
    }

#endif
