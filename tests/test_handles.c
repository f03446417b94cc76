/* Handles: a pointer that is no pool, a pool already destroyed, a router
 * passed as a pool. Every call refuses them with MP_ERR_INVALID_ARGUMENT
 * without reading through them, and a stale handle never reaches the pool
 * that now lives in its slot. Each test runs in a forked child (Check's
 * default), so a crash fails the test instead of the run. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "mp_test.h"

#include <sys/mman.h>
#include <unistd.h>

/* Every pool entry point, given h; each must refuse it with `detail`. */
static void refused_everywhere(mp_pool *h, const char *detail)
{
    void *ptr = NULL;
    int dummy;
    mp_stats st = MP_STATS_INIT;
    mp_config cfg = MP_CONFIG_INIT;
    mp_policy pol = {sizeof(mp_policy), NULL, NULL, NULL, NULL, NULL};
    char *text = NULL;
    const char *name = NULL;
    bool flag;
    size_t count;
    mp_tcache *tc;
    mp_memory_type type;
#define REFUSED(call)                                                                              \
    do {                                                                                           \
        ck_status(call, MP_ERR_INVALID_ARGUMENT);                                                  \
        ck_detail_has(detail);                                                                     \
    } while (0)
    REFUSED(mp_pool_allocate(h, 8, &ptr));
    REFUSED(mp_pool_allocate_flags(h, 8, MP_ALLOC_NONE, &ptr));
    REFUSED(mp_pool_deallocate(h, &dummy));
    REFUSED(mp_pool_reset(h));
    REFUSED(mp_pool_trim(h, 0));
    REFUSED(mp_pool_trim_auto(h));
    REFUSED(mp_pool_destroy(h));
    REFUSED(mp_pool_check(h));
    REFUSED(mp_pool_get_stats(h, &st));
    REFUSED(mp_pool_reset_stats(h));
    REFUSED(mp_pool_stats_json(h, &text));
    REFUSED(mp_pool_stats_string(h, &text));
    REFUSED(mp_pool_get_name(h, &name));
    REFUSED(mp_pool_get_config(h, &cfg));
    REFUSED(mp_pool_get_memory_type(h, &type));
    REFUSED(mp_pool_owns(h, &dummy, &flag));
    REFUSED(mp_pool_has_leaks(h, &flag));
    REFUSED(mp_pool_get_allocations(h, NULL, 0, &count));
    REFUSED(mp_pool_set_tracking(h, true));
    REFUSED(mp_pool_set_policy(h, &pol));
    REFUSED(mp_pool_thread_cache(h, &tc));
    REFUSED(mp_pool_deallocate_on_stream(h, &dummy, NULL));
#undef REFUSED
    ck_assert_ptr_null(ptr);
    ck_assert_ptr_null(text);
}

START_TEST(garbage_handles_are_refused_without_being_read)
{
    mp_pool *keep = new_pool("keep", cfg_variable(1 << 16)); /* the slot table exists */
    long junk[256];
    memset(junk, 0xff, sizeof junk);
    void *heap = malloc(4096);
    memset(heap, 0, 4096);
    long page = sysconf(_SC_PAGESIZE);
    void *gone = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(gone, MAP_FAILED);
    munmap(gone, (size_t)page);
    mp_pool *bad[] = {(mp_pool *)junk, (mp_pool *)heap, (mp_pool *)gone, (mp_pool *)(uintptr_t)0x10,
                      (mp_pool *)(uintptr_t)0xdeadbeef000, (mp_pool *)(uintptr_t)UINTPTR_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        refused_everywhere(bad[i], "is not a pool handle");
    free(heap);
    ck_intact(keep);
    mp_pool_destroy(keep);
}
END_TEST

START_TEST(a_destroyed_handle_is_refused_and_never_reaches_a_newer_pool)
{
    mp_pool *old = new_pool("old", cfg_variable(1 << 16));
    alloc_ok(old, 64);
    ck_ok(mp_pool_destroy(old));
    refused_everywhere(old, "is stale: its pool was destroyed");

    /* The next pools take the freed slot (last in, first out). */
    mp_pool *fresh = new_pool("fresh", cfg_variable(1 << 16));
    void *blocks[4];
    for (int i = 0; i < 4; i++)
        blocks[i] = alloc_ok(fresh, 64);
    ck_status(mp_pool_deallocate(old, blocks[0]), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_reset(old), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_destroy(old), MP_ERR_INVALID_ARGUMENT);
    mp_stats s = stats_of(fresh);
    ck_assert_uint_eq(s.live_allocations, 4);
    ck_intact(fresh);
    for (int i = 0; i < 4; i++)
        ck_ok(mp_pool_deallocate(fresh, blocks[i]));
    const char *name;
    ck_ok(mp_pool_get_name(fresh, &name));
    ck_assert_str_eq(name, "fresh");
    mp_pool_destroy(fresh);
}
END_TEST

START_TEST(handles_of_pools_destroyed_long_ago_stay_refused)
{
    mp_pool *first = new_pool("first", cfg_fixed(64, 4096));
    mp_pool_destroy(first);
    for (int i = 0; i < 3000; i++) { /* the slot serves thousands of pools meanwhile */
        mp_pool *p = new_pool("churn", cfg_fixed(64, 4096));
        ck_status(mp_pool_trim(first, 0), MP_ERR_INVALID_ARGUMENT);
        mp_pool_destroy(p);
    }
}
END_TEST

START_TEST(a_router_is_not_a_pool_and_a_pool_is_not_a_router)
{
    mp_router *r;
    ck_ok(mp_router_create("r", &r));
    mp_pool *p = new_pool("p", cfg_variable(1 << 16));
    refused_everywhere((mp_pool *)r, "is a router handle, not a pool handle");
    void *ptr;
    ck_status(mp_router_allocate((mp_router *)p, 8, &ptr), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("is a pool handle, not a router handle");
    ck_status(mp_router_add(r, 64, (mp_pool *)r), MP_ERR_INVALID_ARGUMENT);
    ck_ok(mp_router_destroy(r));
    ck_status(mp_router_destroy(r), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("router handle");
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(a_router_whose_pool_was_destroyed_answers_cleanly)
{
    mp_router *r;
    ck_ok(mp_router_create("routes", &r));
    mp_pool *small = new_pool("small", cfg_fixed(64, 4096)), *rest = new_pool("rest", cfg_variable(1 << 16));
    ck_ok(mp_router_add(r, 64, small));
    ck_ok(mp_router_add(r, SIZE_MAX, rest));
    void *a, *b;
    ck_ok(mp_router_allocate(r, 32, &a));
    ck_ok(mp_router_allocate(r, 1000, &b));
    ck_ok(mp_pool_destroy(small));
    void *c = NULL;
    ck_status(mp_router_allocate(r, 32, &c), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("stale");
    ck_assert_ptr_null(c);
    ck_status(mp_router_deallocate(r, a), MP_ERR_INVALID_POINTER); /* its chunk went with its pool */
    ck_ok(mp_router_deallocate(r, b));
    ck_intact(rest);
    mp_router_destroy(r);
    mp_pool_destroy(rest);
}
END_TEST

static Suite *handles_suite(void)
{
    Suite *s = suite_create("handles");
    TCase *t = tcase_create("handles");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, garbage_handles_are_refused_without_being_read);
    tcase_add_test(t, a_destroyed_handle_is_refused_and_never_reaches_a_newer_pool);
    tcase_add_test(t, handles_of_pools_destroyed_long_ago_stay_refused);
    tcase_add_test(t, a_router_is_not_a_pool_and_a_pool_is_not_a_router);
    tcase_add_test(t, a_router_whose_pool_was_destroyed_answers_cleanly);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(handles_suite)
