/* The registry: named pools, defaults on first use, destroy, reset-all,
 * listings, and the allocate/deallocate helpers by name. */
#include "mp_test.h"

#include <pthread.h>

START_TEST(created_pool_is_found_by_name)
{
    mp_config c = cfg_variable(1 << 16);
    mp_pool *made = NULL, *found = NULL;
    ck_ok(mp_registry_create_cpu_pool("images", &c, &made));
    ck_ok(mp_registry_get_cpu_pool("images", &found));
    ck_assert_ptr_eq(made, found);
    const char *name = NULL;
    ck_ok(mp_pool_get_name(found, &name));
    ck_assert_str_eq(name, "images");
    ck_ok(mp_registry_destroy("images"));
    ck_status(mp_registry_get_cpu_pool("images", &found), MP_ERR_NOT_FOUND);
    ck_detail_has("images");
}
END_TEST

START_TEST(find_sees_either_type_and_never_creates)
{
    mp_config c = cfg_variable(1 << 16);
    mp_pool *made = NULL, *found = NULL;
    ck_ok(mp_registry_create_cpu_pool("findable", &c, &made));
    ck_ok(mp_registry_find("findable", &found));
    ck_assert_ptr_eq(found, made);
    ck_status(mp_registry_find("default", &found), MP_ERR_NOT_FOUND); /* not made on first use */
    char *names = NULL;
    ck_ok(mp_registry_names(&names));
    ck_assert_str_eq(names, "findable\n");
    mp_string_free(names);
    ck_status(mp_registry_find(NULL, &found), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_registry_find("findable", NULL), MP_ERR_INVALID_ARGUMENT);
    ck_ok(mp_registry_destroy("findable"));
    ck_status(mp_registry_find("findable", &found), MP_ERR_NOT_FOUND);
}
END_TEST

START_TEST(duplicate_name_is_refused_and_the_first_pool_stays)
{
    mp_config c = cfg_variable(1 << 16);
    mp_pool *first = NULL, *second = (mp_pool *)1;
    ck_ok(mp_registry_create_cpu_pool("dup", &c, &first));
    void *a = alloc_ok(first, 10);
    ck_status(mp_registry_create_cpu_pool("dup", &c, &second), MP_ERR_ALREADY_EXISTS);
    ck_detail_has("dup");
    mp_pool *found = NULL;
    ck_ok(mp_registry_get_cpu_pool("dup", &found));
    ck_assert_ptr_eq(found, first);
    ck_ok(mp_pool_deallocate(found, a));
    ck_ok(mp_registry_destroy("dup"));
}
END_TEST

START_TEST(default_cpu_pool_appears_on_first_use)
{
    mp_pool *p = NULL, *again = NULL;
    ck_ok(mp_registry_get_cpu_pool("default", &p));
    ck_ok(mp_registry_get_cpu_pool("default", &again));
    ck_assert_ptr_eq(p, again);
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_pool_get_config(p, &c));
    ck_assert_int_eq(c.allocator_type, MP_ALLOCATOR_VARIABLE_SIZE);
    ck_assert_uint_eq(c.initial_size, 1 << 20);
}
END_TEST

START_TEST(default_gpu_pool_needs_a_device)
{
    int devices = 0;
    ck_ok(mp_gpu_device_count(&devices));
    mp_pool *p = NULL;
    if (devices == 0) {
        ck_status(mp_registry_get_gpu_pool("default_gpu", &p), MP_ERR_UNSUPPORTED);
        void *x = (void *)1;
        ck_status(mp_allocate_gpu(NULL, 64, &x), MP_ERR_UNSUPPORTED);
        ck_assert_ptr_null(x);
    } else {
        ck_ok(mp_registry_get_gpu_pool("default_gpu", &p));
    }
}
END_TEST

START_TEST(pool_of_the_other_type_is_an_invalid_operation)
{
    mp_pool *p = NULL;
    ck_ok(mp_registry_get_cpu_pool("default", &p));
    ck_status(mp_registry_get_gpu_pool("default", &p), MP_ERR_INVALID_OPERATION);
    ck_detail_has("CPU pool");
    void *x;
    ck_status(mp_allocate_gpu("default", 8, &x), MP_ERR_INVALID_OPERATION);
}
END_TEST

START_TEST(registry_pools_are_destroyed_only_through_the_registry)
{
    mp_config c = cfg_variable(1 << 16);
    mp_pool *p = NULL;
    ck_ok(mp_registry_create_cpu_pool("owned", &c, &p));
    ck_status(mp_pool_destroy(p), MP_ERR_INVALID_OPERATION);
    ck_detail_has("mp_registry_destroy");
    ck_ok(mp_registry_destroy("owned"));
    ck_status(mp_registry_destroy("owned"), MP_ERR_NOT_FOUND);
    ck_status(mp_registry_destroy(NULL), MP_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(bad_names_are_refused)
{
    mp_config c = cfg_variable(0);
    mp_pool *p;
    char long_name[MP_NAME_MAX + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    ck_status(mp_registry_create_cpu_pool(NULL, &c, &p), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_registry_create_cpu_pool("", &c, &p), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_registry_create_cpu_pool(long_name, &c, &p), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_registry_create_cpu_pool("tab\there", &c, &p), MP_ERR_INVALID_ARGUMENT);
    long_name[MP_NAME_MAX] = 0;
    ck_ok(mp_registry_create_cpu_pool(long_name, &c, &p));
    ck_ok(mp_registry_destroy(long_name));
    ck_status(mp_registry_get_cpu_pool(NULL, &p), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_registry_get_cpu_pool("x", NULL), MP_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(names_must_be_valid_utf8)
{
    mp_config c = cfg_variable(0);
    mp_pool *p;
    const char *bad[] = {"\xff", "caf\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                         "a\x80z", "\xf8\x88\x80\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_status(mp_registry_create_cpu_pool(bad[i], &c, &p), MP_ERR_INVALID_ARGUMENT);
        ck_detail_has("not valid UTF-8");
        ck_status(mp_pool_create(bad[i], MP_MEMORY_CPU, &c, &p), MP_ERR_INVALID_ARGUMENT);
    }
    const char *c1[] = {"\xc2\x80", "esc\xc2\x9b[2J", "\xc2\x9f", "\x7f"}; /* C1 controls and DEL */
    for (size_t i = 0; i < sizeof c1 / sizeof *c1; i++) {
        ck_status(mp_registry_create_cpu_pool(c1[i], &c, &p), MP_ERR_INVALID_ARGUMENT);
        ck_detail_has("control character");
    }
    const char *good[] = {"caf\xc3\xa9", "\xc2\xa0nbsp", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x90\x8d pool", "\xef\xbf\xbd"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_ok(mp_registry_create_cpu_pool(good[i], &c, &p));
    char *json = NULL;
    ck_ok(mp_registry_stats_json(&json));
    ck_assert_ptr_nonnull(strstr(json, "\"caf\xc3\xa9\":{"));
    mp_string_free(json);
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_ok(mp_registry_destroy(good[i]));
}
END_TEST

START_TEST(reset_all_empties_every_registry_pool)
{
    mp_config c = cfg_variable(1 << 16);
    mp_pool *a, *b;
    ck_ok(mp_registry_create_cpu_pool("ra", &c, &a));
    ck_ok(mp_registry_create_cpu_pool("rb", &c, &b));
    alloc_ok(a, 10);
    alloc_ok(b, 20);
    ck_ok(mp_registry_reset_all());
    ck_assert_uint_eq(stats_of(a).live_allocations, 0);
    ck_assert_uint_eq(stats_of(b).live_allocations, 0);
    ck_intact(a);
    ck_intact(b);
}
END_TEST

START_TEST(names_and_stats_list_every_pool_sorted)
{
    mp_config c = cfg_variable(1 << 16);
    ck_ok(mp_registry_create_cpu_pool("zeta", &c, NULL));
    ck_ok(mp_registry_create_cpu_pool("alpha \"q\"", &c, NULL));
    char *names = NULL;
    ck_ok(mp_registry_names(&names));
    ck_assert_str_eq(names, "alpha \"q\"\nzeta\n");
    mp_string_free(names);
    char *json = NULL;
    ck_ok(mp_registry_stats_json(&json));
    ck_assert_msg(strncmp(json, "{\"alpha \\\"q\\\"\":{\"name\":", 23) == 0, "%s", json);
    ck_assert_ptr_nonnull(strstr(json, ",\"zeta\":{\"name\":\"zeta\""));
    ck_assert_int_eq(json[strlen(json) - 1], '}');
    mp_string_free(json);
    ck_status(mp_registry_names(NULL), MP_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(global_helpers_use_the_named_pool)
{
    void *a = NULL;
    ck_ok(mp_allocate(NULL, 100, &a));
    mp_pool *dflt;
    ck_ok(mp_registry_get_cpu_pool("default", &dflt));
    bool owned = false;
    ck_ok(mp_pool_owns(dflt, a, &owned));
    ck_assert(owned);
    ck_ok(mp_deallocate("default", a));

    mp_config c = cfg_fixed(64, 4096);
    ck_ok(mp_registry_create_cpu_pool("small", &c, NULL));
    void *b = NULL;
    ck_ok(mp_allocate("small", 64, &b));
    ck_status(mp_deallocate(NULL, b), MP_ERR_INVALID_POINTER);
    ck_detail_has("belongs to pool 'small'");
    ck_ok(mp_deallocate("small", b));
    ck_status(mp_allocate("missing", 8, &b), MP_ERR_NOT_FOUND);
    ck_status(mp_deallocate("missing", b), MP_ERR_NOT_FOUND);
    ck_status(mp_allocate(NULL, 8, NULL), MP_ERR_INVALID_ARGUMENT);
}
END_TEST

/* Threads create, use and destroy their own pools and share "default". */
static void *registry_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    char name[32];
    mp_config c = cfg_variable(1 << 14);
    for (int round = 0; round < 200; round++) {
        snprintf(name, sizeof name, "worker-%d-%d", id, round % 3);
        mp_pool *p = NULL;
        if (mp_registry_create_cpu_pool(name, &c, &p) != MP_OK)
            return (void *)1;
        void *x = NULL, *y = NULL;
        if (mp_allocate(name, 64, &x) != MP_OK || mp_allocate(NULL, 32, &y) != MP_OK)
            return (void *)2;
        if (mp_deallocate(name, x) != MP_OK || mp_deallocate("default", y) != MP_OK)
            return (void *)3;
        if (mp_registry_destroy(name) != MP_OK)
            return (void *)4;
    }
    return NULL;
}

START_TEST(registry_is_safe_under_threads)
{
    enum { T = 4 };
    pthread_t th[T];
    for (int i = 0; i < T; i++)
        pthread_create(&th[i], NULL, registry_worker, (void *)(intptr_t)i);
    for (int i = 0; i < T; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_msg(r == NULL, "worker %d failed at step %ld: %s", i, (long)(intptr_t)r, mp_last_error_message());
    }
    mp_pool *d;
    ck_ok(mp_registry_get_cpu_pool("default", &d));
    mp_stats s = stats_of(d);
    ck_assert_uint_eq(s.allocation_count, T * 200);
    ck_assert_uint_eq(s.deallocation_count, T * 200);
    char *names = NULL;
    ck_ok(mp_registry_names(&names));
    ck_assert_str_eq(names, "default\n");
    mp_string_free(names);
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *t = tcase_create("registry");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, created_pool_is_found_by_name);
    tcase_add_test(t, find_sees_either_type_and_never_creates);
    tcase_add_test(t, duplicate_name_is_refused_and_the_first_pool_stays);
    tcase_add_test(t, default_cpu_pool_appears_on_first_use);
    tcase_add_test(t, default_gpu_pool_needs_a_device);
    tcase_add_test(t, pool_of_the_other_type_is_an_invalid_operation);
    tcase_add_test(t, registry_pools_are_destroyed_only_through_the_registry);
    tcase_add_test(t, bad_names_are_refused);
    tcase_add_test(t, names_must_be_valid_utf8);
    tcase_add_test(t, reset_all_empties_every_registry_pool);
    tcase_add_test(t, names_and_stats_list_every_pool_sorted);
    tcase_add_test(t, global_helpers_use_the_named_pool);
    tcase_add_test(t, registry_is_safe_under_threads);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(registry_suite)
