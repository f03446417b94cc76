/* Configuration: the presets, validation of every field, the
 * struct_size protocol, version and status queries. */
#include "mp_test.h"

#include <stddef.h>

START_TEST(default_cpu_preset_matches_the_seed)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_cpu(&c));
    ck_assert_int_eq(c.allocator_type, MP_ALLOCATOR_VARIABLE_SIZE);
    ck_assert_uint_eq(c.initial_size, 1024 * 1024);
    ck_assert_uint_eq(c.block_size, 256);
    ck_assert(c.thread_safe);
    ck_assert_int_eq(c.sync_type, MP_SYNC_MUTEX);
    ck_assert(c.track_stats);
    ck_assert(!c.enable_debugging);
    ck_assert_int_eq(c.device_id, 0);
    ck_assert(!c.use_pinned_memory && !c.use_managed_memory);
    ck_assert_uint_eq(c.alignment, MP_DEFAULT_ALIGNMENT);
    ck_assert_uint_eq(c.growth_factor, 2);
    ck_assert_uint_eq(c.max_size, 0);
    ck_assert_uint_eq(c.struct_size, sizeof(mp_config));
}
END_TEST

START_TEST(each_preset_sets_its_distinguishing_fields)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    ck_assert_uint_eq(c.alignment, MP_DEFAULT_GPU_ALIGNMENT);
    ck_ok(mp_config_fixed_size_cpu(&c, 100));
    ck_assert_int_eq(c.allocator_type, MP_ALLOCATOR_FIXED_SIZE);
    ck_assert_uint_eq(c.block_size, 100);
    ck_ok(mp_config_fixed_size_gpu(&c, 4096, 3));
    ck_assert_int_eq(c.allocator_type, MP_ALLOCATOR_FIXED_SIZE);
    ck_assert_uint_eq(c.block_size, 4096);
    ck_assert_int_eq(c.device_id, 3);
    ck_ok(mp_config_high_performance_cpu(&c));
    ck_assert_int_eq(c.sync_type, MP_SYNC_LOCK_FREE);
    ck_assert(!c.track_stats);
    ck_assert_uint_eq(c.initial_size, 64u << 20);
    ck_assert_uint_eq(c.alignment, 64);
    ck_ok(mp_config_high_performance_gpu(&c, 1));
    ck_assert_int_eq(c.device_id, 1);
    ck_assert_uint_eq(c.initial_size, 256u << 20);
    ck_ok(mp_config_debug_cpu(&c));
    ck_assert(c.enable_debugging && c.track_stats);
    ck_ok(mp_config_debug_gpu(&c, 2));
    ck_assert(c.enable_debugging);
    ck_assert_int_eq(c.device_id, 2);
    ck_ok(mp_config_general_purpose_cpu(&c));
    ck_assert_int_eq(c.allocator_type, MP_ALLOCATOR_VARIABLE_SIZE);
    ck_assert(c.thread_safe && c.sync_type == MP_SYNC_LOCK_FREE);
    ck_assert(c.track_stats && c.counters_only && !c.enable_debugging);
    ck_assert_uint_eq(c.alignment, 16);
    ck_assert_uint_eq(c.initial_size, (size_t)64 << 20);
    ck_assert_uint_eq(c.growth_factor, 2);
    ck_ok(mp_config_default_cpu(&c));
    ck_assert(!c.counters_only);
}
END_TEST

/* The general-purpose preset makes a heap for any sizes and threads: thread
 * caches (the exported calls and the inline ones), counters, no records. */
START_TEST(general_purpose_preset_makes_a_working_heap)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_general_purpose_cpu(&c));
    mp_pool *p = new_pool("general", c);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, (size_t)64 << 20); /* address space, touched on demand */
    void *v[64];
    for (int i = 0; i < 64; i++)
        v[i] = alloc_ok(p, (size_t)1 << (i % 21)); /* 1 byte .. 1 MiB */
    mp_tcache *t = NULL;
    ck_ok(MP_POOL_THREAD_CACHE(p, &t));
    ck_assert_uint_ne(t->owner, 0);
    void *x = NULL;
    ck_ok(mp_tcache_allocate(t, 100, &x));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 65);
    ck_assert_uint_eq(s.live_allocations, 65);
    ck_ok(mp_tcache_deallocate(t, x));
    for (int i = 0; i < 64; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    s = stats_of(p);
    ck_assert_uint_eq(s.deallocation_count, 65);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_ge(s.peak_usage, 1 << 20);
    size_t n;
    ck_status(mp_pool_get_allocations(p, NULL, 0, &n), MP_ERR_INVALID_OPERATION);
    char *text = NULL;
    ck_ok(mp_pool_stats_string(p, &text));
    ck_assert_msg(strstr(text, "sync lock-free, tracking on (counters only)"), "%s", text);
    mp_string_free(text);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(presets_reject_bad_arguments)
{
    mp_config c = MP_CONFIG_INIT;
    ck_status(mp_config_default_cpu(NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_config_fixed_size_cpu(&c, 0), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_config_fixed_size_cpu(&c, SIZE_MAX), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_config_fixed_size_gpu(&c, 64, -1), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_config_high_performance_gpu(&c, -2), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_config_debug_gpu(&c, -1), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_config_general_purpose_cpu(NULL), MP_ERR_INVALID_ARGUMENT);
    mp_config unset = {0};
    ck_status(mp_config_default_cpu(&unset), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("struct_size");
}
END_TEST

START_TEST(every_preset_validates_for_its_memory_type)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_cpu(&c));
    ck_ok(mp_config_validate(&c, MP_MEMORY_CPU));
    ck_ok(mp_config_fixed_size_cpu(&c, 64));
    ck_ok(mp_config_validate(&c, MP_MEMORY_CPU));
    ck_ok(mp_config_high_performance_cpu(&c));
    ck_ok(mp_config_validate(&c, MP_MEMORY_CPU));
    ck_ok(mp_config_debug_cpu(&c));
    ck_ok(mp_config_validate(&c, MP_MEMORY_CPU));
    ck_ok(mp_config_general_purpose_cpu(&c));
    ck_ok(mp_config_validate(&c, MP_MEMORY_CPU));
    int devices = 0;
    ck_ok(mp_gpu_device_count(&devices));
    ck_ok(mp_config_default_gpu(&c));
    ck_status(mp_config_validate(&c, MP_MEMORY_GPU), devices ? MP_OK : MP_ERR_UNSUPPORTED);
}
END_TEST

/* Each invalid configuration gets INVALID_ARGUMENT and names the field. */
START_TEST(invalid_fields_are_rejected_with_their_name)
{
    mp_config c;
#define BAD(stmt, word)                                                                            \
    do {                                                                                           \
        c = cfg_variable(4096);                                                                    \
        stmt;                                                                                      \
        ck_status(mp_config_validate(&c, MP_MEMORY_CPU), MP_ERR_INVALID_ARGUMENT);                 \
        ck_detail_has(word);                                                                       \
        mp_pool *p_ = (mp_pool *)1;                                                                \
        ck_status(mp_pool_create("bad", MP_MEMORY_CPU, &c, &p_), MP_ERR_INVALID_ARGUMENT);         \
        ck_assert_ptr_null(p_);                                                                    \
    } while (0)
    BAD(c.alignment = 0, "alignment");
    BAD(c.alignment = 24, "alignment");
    BAD(c.alignment = (size_t)1 << 31, "alignment");
    BAD((c.allocator_type = MP_ALLOCATOR_FIXED_SIZE, c.block_size = 0), "block_size");
    BAD(c.growth_factor = 0, "growth_factor");
    BAD(c.growth_factor = 65, "growth_factor");
    BAD((c.initial_size = 8192, c.max_size = 4096), "max_size");
    BAD(c.initial_size = SIZE_MAX, "initial_size");
    BAD((c.use_pinned_memory = true, c.use_managed_memory = true), "exclude");
    BAD(c.device_id = -1, "device_id");
    BAD(c.allocator_type = (mp_allocator_type)7, "allocator_type");
    BAD(c.sync_type = (mp_sync_type)9, "sync_type");
#undef BAD
    c = cfg_variable(4096);
    ck_status(mp_config_validate(&c, (mp_memory_type)5), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_config_validate(NULL, MP_MEMORY_CPU), MP_ERR_INVALID_ARGUMENT);
}
END_TEST

/* struct_size protocol: older (smaller) structs are refused below 1.0's
 * size; newer (larger) ones are served if their unknown tail is zero. */
START_TEST(max_size_holds_from_the_first_chunk)
{
    /* Below the smallest chunk the pool can make: refused, naming max_size. */
    mp_config tiny = cfg_variable(1);
    tiny.max_size = 1;
    mp_config fixed = cfg_fixed(4096, 4096);
    fixed.initial_size = 0;
    fixed.max_size = 100;
    mp_config *bad[] = {&tiny, &fixed};
    for (int i = 0; i < 2; i++) {
        mp_pool *p = NULL;
        ck_status(mp_pool_create("capped", MP_MEMORY_CPU, bad[i], &p), MP_ERR_INVALID_ARGUMENT);
        ck_detail_has("max_size");
        ck_assert_ptr_null(p);
    }
    /* Within it: never more reserved than max_size, from creation on. */
    mp_config c = cfg_variable(1);
    c.max_size = 4096;
    mp_pool *p = new_pool("capped", c);
    ck_assert_uint_le(stats_of(p).reserved_bytes, 4096);
    void *x;
    while (mp_pool_allocate(p, 256, &x) == MP_OK)
        ck_assert_uint_le(stats_of(p).reserved_bytes, 4096);
    ck_assert_uint_le(stats_of(p).reserved_bytes, 4096);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(larger_config_from_a_newer_caller_is_accepted_when_its_tail_is_zero)
{
    struct {
        mp_config c;
        uint64_t newer_field;
    } big;
    memset(&big, 0, sizeof big);
    big.c.struct_size = sizeof big;
    ck_ok(mp_config_default_cpu(&big.c));
    ck_assert_uint_eq(big.c.struct_size, sizeof big);
    ck_assert_uint_eq(big.newer_field, 0);
    ck_ok(mp_config_validate(&big.c, MP_MEMORY_CPU));
    mp_pool *p = NULL;
    ck_ok(mp_pool_create("big", MP_MEMORY_CPU, &big.c, &p));
    mp_pool_destroy(p);
    big.newer_field = 1;
    ck_status(mp_config_validate(&big.c, MP_MEMORY_CPU), MP_ERR_UNSUPPORTED);
    ck_detail_has("knows only");
}
END_TEST

START_TEST(preset_writes_zero_into_a_newer_callers_tail)
{
    struct {
        mp_config c;
        uint64_t newer_field;
    } big;
    memset(&big, 0xAB, sizeof big);
    big.c.struct_size = sizeof big;
    ck_ok(mp_config_default_cpu(&big.c));
    ck_assert_uint_eq(big.newer_field, 0);
}
END_TEST

START_TEST(struct_size_out_of_range_is_rejected)
{
    mp_config c = cfg_variable(0);
    c.struct_size = sizeof(size_t);
    ck_status(mp_config_validate(&c, MP_MEMORY_CPU), MP_ERR_INVALID_ARGUMENT);
    c.struct_size = SIZE_MAX;
    ck_status(mp_config_validate(&c, MP_MEMORY_CPU), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_config_default_cpu(&c), MP_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(pool_reports_its_normalised_config)
{
    mp_config c = cfg_fixed(100, 4096);
    c.alignment = 64;
    mp_pool *p = new_pool("norm", c);
    mp_config got = MP_CONFIG_INIT;
    ck_ok(mp_pool_get_config(p, &got));
    ck_assert_uint_eq(got.block_size, 128);
    ck_assert_uint_eq(got.alignment, 64);
    ck_assert_int_eq(got.allocator_type, MP_ALLOCATOR_FIXED_SIZE);
    ck_status(mp_pool_get_config(p, NULL), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(version_query_matches_the_header)
{
    ck_assert_uint_eq(mp_version(), MP_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", MP_VERSION_MAJOR, MP_VERSION_MINOR, MP_VERSION_PATCH);
    ck_assert_msg(strncmp(mp_version_string(), want, strlen(want)) == 0, "%s", mp_version_string());
}
END_TEST

START_TEST(every_status_has_a_name_and_a_string)
{
    static const char *names[] = {"MP_OK", "MP_ERR_INVALID_ARGUMENT", "MP_ERR_OUT_OF_MEMORY",
                                  "MP_ERR_INVALID_POINTER", "MP_ERR_INVALID_OPERATION", "MP_ERR_CUDA",
                                  "MP_ERR_NOT_FOUND", "MP_ERR_ALREADY_EXISTS", "MP_ERR_UNSUPPORTED",
                                  "MP_ERR_CORRUPTION", "MP_ERR_BUFFER_TOO_SMALL"};
    for (int i = 0; i <= MP_ERR_BUFFER_TOO_SMALL; i++) {
        ck_assert_str_eq(mp_status_name((mp_status)i), names[i]);
        ck_assert(strlen(mp_status_string((mp_status)i)) > 3);
    }
    ck_assert_str_eq(mp_status_name((mp_status)999), "MP_ERR_UNKNOWN");
    ck_assert_str_eq(mp_status_name((mp_status)-1), "MP_ERR_UNKNOWN");
    ck_assert_str_eq(mp_status_string((mp_status)999), "unknown status");
}
END_TEST

START_TEST(last_error_is_per_thread_and_kept_across_successes)
{
    ck_status(mp_pool_allocate(NULL, 8, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(mp_last_error(), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("pool is NULL");
    ck_assert_uint_eq(mp_version(), MP_VERSION_NUMBER);
    ck_assert_int_eq(mp_last_error(), MP_ERR_INVALID_ARGUMENT);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("config");
    tcase_add_test(t, default_cpu_preset_matches_the_seed);
    tcase_add_test(t, each_preset_sets_its_distinguishing_fields);
    tcase_add_test(t, general_purpose_preset_makes_a_working_heap);
    tcase_add_test(t, presets_reject_bad_arguments);
    tcase_add_test(t, every_preset_validates_for_its_memory_type);
    tcase_add_test(t, invalid_fields_are_rejected_with_their_name);
    tcase_add_test(t, max_size_holds_from_the_first_chunk);
    tcase_add_test(t, larger_config_from_a_newer_caller_is_accepted_when_its_tail_is_zero);
    tcase_add_test(t, preset_writes_zero_into_a_newer_callers_tail);
    tcase_add_test(t, struct_size_out_of_range_is_rejected);
    tcase_add_test(t, pool_reports_its_normalised_config);
    tcase_add_test(t, version_query_matches_the_header);
    tcase_add_test(t, every_status_has_a_name_and_a_string);
    tcase_add_test(t, last_error_is_per_thread_and_kept_across_successes);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(config_suite)
