/* Bad input: every case gets its own status and a detail message, and the
 * pool is left exactly as it was (same stats, invariants intact). */
#include "mp_test.h"

static int same_stats(mp_stats a, mp_stats b)
{
    return a.total_allocated == b.total_allocated && a.current_used == b.current_used &&
           a.allocation_count == b.allocation_count && a.deallocation_count == b.deallocation_count &&
           a.reserved_bytes == b.reserved_bytes && a.chunk_count == b.chunk_count &&
           a.live_allocations == b.live_allocations;
}

/* Runs stmt against a pool with live blocks and checks status, detail and
 * that nothing changed. */
#define REJECTS(pool, stmt, want, word)                                                            \
    do {                                                                                           \
        mp_stats before_ = stats_of(pool);                                                         \
        ck_status(stmt, want);                                                                     \
        ck_detail_has(word);                                                                       \
        ck_assert_msg(same_stats(before_, stats_of(pool)), "%s changed the pool", #stmt);          \
        ck_intact(pool);                                                                           \
    } while (0)

static void each_pool_kind(void (*body)(mp_pool *))
{
    mp_config kinds[4] = {cfg_variable(1 << 16), cfg_fixed(128, 1 << 16), cfg_variable(1 << 16),
                          cfg_fixed(128, 1 << 16)};
    kinds[2].enable_debugging = true;
    kinds[3].thread_safe = false;
    for (int i = 0; i < 4; i++) {
        mp_pool *p = new_pool("subject", kinds[i]);
        alloc_ok(p, 100);
        alloc_ok(p, 50);
        body(p);
        mp_pool_destroy(p);
    }
}

START_TEST(null_pool_is_an_invalid_argument_everywhere)
{
    void *ptr = NULL;
    mp_stats st = MP_STATS_INIT;
    mp_config cfg = MP_CONFIG_INIT;
    mp_memory_type mt;
    mp_backend_kind bk;
    const char *name;
    bool flag;
    size_t n;
    char *text;
    int dev;
    mp_status results[] = {
        mp_pool_allocate(NULL, 8, &ptr),
        mp_pool_allocate_flags(NULL, 8, MP_ALLOC_NONE, &ptr),
        mp_pool_deallocate(NULL, &ptr),
        mp_pool_reset(NULL),
        mp_pool_trim(NULL, 0),
        mp_pool_destroy(NULL),
        mp_pool_get_memory_type(NULL, &mt),
        mp_pool_get_backend(NULL, &bk),
        mp_pool_get_name(NULL, &name),
        mp_pool_get_config(NULL, &cfg),
        mp_pool_owns(NULL, ptr, &flag),
        mp_pool_check(NULL),
        mp_pool_get_stats(NULL, &st),
        mp_pool_reset_stats(NULL),
        mp_pool_set_tracking(NULL, true),
        mp_pool_get_tracking(NULL, &flag),
        mp_pool_has_leaks(NULL, &flag),
        mp_pool_get_allocations(NULL, NULL, 0, &n),
        mp_pool_stats_string(NULL, &text),
        mp_pool_stats_json(NULL, &text),
        mp_pool_set_device(NULL, 0),
        mp_pool_get_device(NULL, &dev),
        mp_pool_set_stream(NULL, NULL),
        mp_pool_get_stream(NULL, &ptr),
        mp_pool_copy_host_to_device(NULL, &n, &n, 1),
        mp_pool_copy_device_to_host(NULL, &n, &n, 1),
        mp_pool_copy_device_to_device(NULL, &n, &n, 1),
        mp_pool_deallocate_on_stream(NULL, &n, NULL),
    };
    for (size_t i = 0; i < sizeof results / sizeof *results; i++)
        ck_assert_msg(results[i] == MP_ERR_INVALID_ARGUMENT, "call %zu returned %s", i, mp_status_name(results[i]));
    ck_status(mp_pool_check(NULL), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("pool is NULL");
}
END_TEST

START_TEST(a_pointer_that_is_not_a_pool_is_refused)
{
    long junk[64] = {0};
    void *ptr;
    ck_status(mp_pool_allocate((mp_pool *)junk, 8, &ptr), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("is not a pool handle");
}
END_TEST

static void null_out_parameters(mp_pool *p)
{
    REJECTS(p, mp_pool_allocate(p, 8, NULL), MP_ERR_INVALID_ARGUMENT, "out_ptr");
    REJECTS(p, mp_pool_get_stats(p, NULL), MP_ERR_INVALID_ARGUMENT, "out_stats");
    REJECTS(p, mp_pool_get_name(p, NULL), MP_ERR_INVALID_ARGUMENT, "out_name");
    REJECTS(p, mp_pool_get_memory_type(p, NULL), MP_ERR_INVALID_ARGUMENT, "out_type");
    REJECTS(p, mp_pool_owns(p, NULL, NULL), MP_ERR_INVALID_ARGUMENT, "out_owned");
    REJECTS(p, mp_pool_get_tracking(p, NULL), MP_ERR_INVALID_ARGUMENT, "out_enabled");
    REJECTS(p, mp_pool_stats_json(p, NULL), MP_ERR_INVALID_ARGUMENT, "out_json");
}
START_TEST(null_out_parameters_are_refused) { each_pool_kind(null_out_parameters); }
END_TEST

static void zero_and_huge_sizes(mp_pool *p)
{
    void *ptr = (void *)1;
    REJECTS(p, mp_pool_allocate(p, 0, &ptr), MP_ERR_INVALID_ARGUMENT, "size 0");
    ck_assert_ptr_null(ptr);
    mp_config c = MP_CONFIG_INIT;
    mp_pool_get_config(p, &c);
    mp_status want = c.allocator_type == MP_ALLOCATOR_FIXED_SIZE ? MP_ERR_INVALID_ARGUMENT : MP_ERR_OUT_OF_MEMORY;
    size_t huge[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096, SIZE_MAX / 2 + 1, (size_t)1 << 49};
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
        ptr = (void *)1;
        mp_stats before = stats_of(p);
        ck_status(mp_pool_allocate(p, huge[i], &ptr), want);
        ck_assert_ptr_null(ptr);
        ck_assert(same_stats(before, stats_of(p)));
        ck_intact(p);
    }
}
START_TEST(zero_and_near_size_max_requests_are_refused) { each_pool_kind(zero_and_huge_sizes); }
END_TEST

START_TEST(request_beyond_memory_fails_cleanly)
{
    mp_pool *p = new_pool("vast", cfg_variable(1 << 16));
    void *ptr = (void *)1;
    /* Within the 2^48 request limit but beyond any mapping this machine allows. */
    ck_status(mp_pool_allocate(p, (size_t)1 << 47, &ptr), MP_ERR_OUT_OF_MEMORY);
    ck_assert_ptr_null(ptr);
    ck_assert_uint_eq(stats_of(p).failed_allocations, 1);
    ck_assert_uint_eq(stats_of(p).chunk_count, 1);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

static void foreign_pointers(mp_pool *p)
{
    int on_stack;
    void *heap = malloc(64);
    REJECTS(p, mp_pool_deallocate(p, &on_stack), MP_ERR_INVALID_POINTER, "was not allocated by this pool");
    REJECTS(p, mp_pool_deallocate(p, heap), MP_ERR_INVALID_POINTER, "was not allocated by this pool");
    REJECTS(p, mp_pool_deallocate(p, NULL), MP_ERR_INVALID_POINTER, "NULL");
    REJECTS(p, mp_pool_deallocate(p, (void *)(uintptr_t)8), MP_ERR_INVALID_POINTER, "pool 'subject'");
    free(heap);
}
START_TEST(foreign_pointers_are_refused) { each_pool_kind(foreign_pointers); }
END_TEST

static void double_and_interior_frees(mp_pool *p)
{
    unsigned char *a = alloc_ok(p, 64);
    ck_ok(mp_pool_deallocate(p, a));
    REJECTS(p, mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER, "pool 'subject'");
    unsigned char *b = alloc_ok(p, 64);
    REJECTS(p, mp_pool_deallocate(p, b + 16), MP_ERR_INVALID_POINTER, "not the start of a live block");
    REJECTS(p, mp_pool_deallocate(p, b + 1), MP_ERR_INVALID_POINTER, "pool 'subject'");
    ck_ok(mp_pool_deallocate(p, b));
}
START_TEST(double_and_interior_frees_are_refused) { each_pool_kind(double_and_interior_frees); }
END_TEST

START_TEST(pointer_of_another_pool_is_refused_and_its_owner_named)
{
    mp_pool *p = new_pool("mine", cfg_variable(1 << 16));
    mp_pool *q = new_pool("theirs", cfg_fixed(64, 4096));
    alloc_ok(p, 10);
    void *theirs = alloc_ok(q, 64);
    REJECTS(p, mp_pool_deallocate(p, theirs), MP_ERR_INVALID_POINTER, "belongs to pool 'theirs'");
    ck_intact(q);
    ck_assert_uint_eq(stats_of(q).live_allocations, 1);
    ck_ok(mp_pool_deallocate(q, theirs));
    mp_pool_destroy(p);
    mp_pool_destroy(q);
}
END_TEST

START_TEST(unknown_allocation_flags_are_refused)
{
    mp_pool *p = new_pool("flags", cfg_variable(1 << 16));
    void *ptr;
    REJECTS(p, mp_pool_allocate_flags(p, 8, (mp_alloc_flags)3, &ptr), MP_ERR_INVALID_ARGUMENT, "flags");
    REJECTS(p, mp_pool_allocate_flags(p, 8, (mp_alloc_flags)-1, &ptr), MP_ERR_INVALID_ARGUMENT, "flags");
    mp_pool_destroy(p);
}
END_TEST

START_TEST(gpu_calls_on_a_host_pool_are_invalid_operations)
{
    mp_pool *p = new_pool("host", cfg_variable(1 << 16));
    int dev;
    void *s;
    char buf[8];
    REJECTS(p, mp_pool_set_device(p, 0), MP_ERR_INVALID_OPERATION, "host memory");
    REJECTS(p, mp_pool_get_device(p, &dev), MP_ERR_INVALID_OPERATION, "host memory");
    REJECTS(p, mp_pool_set_stream(p, NULL), MP_ERR_INVALID_OPERATION, "host memory");
    REJECTS(p, mp_pool_get_stream(p, &s), MP_ERR_INVALID_OPERATION, "host memory");
    REJECTS(p, mp_pool_copy_host_to_device(p, buf, buf, 8), MP_ERR_INVALID_OPERATION, "host memory");
    REJECTS(p, mp_pool_copy_device_to_host(p, buf, buf, 8), MP_ERR_INVALID_OPERATION, "host memory");
    REJECTS(p, mp_pool_copy_device_to_device(p, buf, buf, 8), MP_ERR_INVALID_OPERATION, "host memory");
    void *b = alloc_ok(p, 8);
    REJECTS(p, mp_pool_deallocate_on_stream(p, b, NULL), MP_ERR_INVALID_OPERATION, "host memory");
    ck_ok(mp_pool_deallocate(p, b));
    mp_pool_destroy(p);
}
END_TEST

START_TEST(create_rejects_bad_arguments)
{
    mp_config c = cfg_variable(0);
    mp_pool *p = (mp_pool *)1;
    ck_status(mp_pool_create("x", MP_MEMORY_CPU, &c, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_create(NULL, MP_MEMORY_CPU, &c, &p), MP_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(p);
    ck_status(mp_pool_create("x", MP_MEMORY_CPU, NULL, &p), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_create("x", (mp_memory_type)9, &c, &p), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_create("bad\x01name", MP_MEMORY_CPU, &c, &p), MP_ERR_INVALID_ARGUMENT);
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *t = tcase_create("errors");
    tcase_add_test(t, null_pool_is_an_invalid_argument_everywhere);
    tcase_add_test(t, a_pointer_that_is_not_a_pool_is_refused);
    tcase_add_test(t, null_out_parameters_are_refused);
    tcase_add_test(t, zero_and_near_size_max_requests_are_refused);
    tcase_add_test(t, request_beyond_memory_fails_cleanly);
    tcase_add_test(t, foreign_pointers_are_refused);
    tcase_add_test(t, double_and_interior_frees_are_refused);
    tcase_add_test(t, pointer_of_another_pool_is_refused_and_its_owner_named);
    tcase_add_test(t, unknown_allocation_flags_are_refused);
    tcase_add_test(t, gpu_calls_on_a_host_pool_are_invalid_operations);
    tcase_add_test(t, create_rejects_bad_arguments);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(errors_suite)
