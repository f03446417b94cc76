/* Debug mode: guard bytes catch overflows and underflows on free and on
 * demand, fill patterns mark fresh and freed memory, and double frees are
 * reported as such. */
#include "mp_test.h"

static mp_pool *debug_pool(mp_allocator_type type)
{
    mp_config c = MP_CONFIG_INIT;
    if (type == MP_ALLOCATOR_FIXED_SIZE)
        mp_config_fixed_size_cpu(&c, 64);
    else
        mp_config_debug_cpu(&c);
    c.enable_debugging = true;
    c.initial_size = 1 << 16;
    return new_pool("dbg", c);
}

static void overflow_is_caught_on_free(mp_allocator_type type)
{
    mp_pool *p = debug_pool(type);
    unsigned char *b = alloc_ok(p, 40);
    b[40] = 0; /* one byte past the end */
    ck_status(mp_pool_deallocate(p, b), MP_ERR_CORRUPTION);
    ck_detail_has("overflow");
    ck_detail_has("40 bytes");
    /* The block was freed all the same: a second free is a double free. */
    ck_status(mp_pool_deallocate(p, b), MP_ERR_INVALID_POINTER);
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}

START_TEST(overflow_is_caught_on_free_variable) { overflow_is_caught_on_free(MP_ALLOCATOR_VARIABLE_SIZE); }
END_TEST
START_TEST(overflow_is_caught_on_free_fixed) { overflow_is_caught_on_free(MP_ALLOCATOR_FIXED_SIZE); }
END_TEST

START_TEST(underflow_is_caught_by_check)
{
    mp_pool *p = debug_pool(MP_ALLOCATOR_VARIABLE_SIZE);
    unsigned char *b = alloc_ok(p, 16);
    ck_intact(p);
    b[-3] = 1;
    ck_status(mp_pool_check(p), MP_ERR_CORRUPTION);
    ck_detail_has("underflow");
    b[-3] = 0xFD; /* repaired: the check passes again */
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, b));
    mp_pool_destroy(p);
}
END_TEST

START_TEST(fresh_and_freed_memory_carry_fill_patterns)
{
    mp_pool *p = debug_pool(MP_ALLOCATOR_VARIABLE_SIZE);
    unsigned char *b = alloc_ok(p, 32);
    for (int i = 0; i < 32; i++)
        ck_assert_uint_eq(b[i], 0xCD);
    memset(b, 1, 32);
    ck_ok(mp_pool_deallocate(p, b));
    for (int i = 0; i < 32; i++) /* the pool's memory stays mapped: reading shows the free fill */
        ck_assert_uint_eq(b[i], 0xDD);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(double_free_names_the_allocation)
{
    mp_pool *p = debug_pool(MP_ALLOCATOR_FIXED_SIZE);
    alloc_ok(p, 8);
    void *b = alloc_ok(p, 24);
    ck_ok(mp_pool_deallocate(p, b));
    ck_status(mp_pool_deallocate(p, b), MP_ERR_INVALID_POINTER);
    ck_detail_has("double free");
    ck_detail_has("allocation #2, 24 bytes");
    ck_intact(p);
    /* Reused addresses are live again, not "double freed". */
    void *c = alloc_ok(p, 24);
    ck_assert_ptr_eq(c, b);
    ck_ok(mp_pool_deallocate(p, c));
    mp_pool_destroy(p);
}
END_TEST

START_TEST(foreign_pointer_is_reported_in_debug_mode)
{
    mp_pool *p = debug_pool(MP_ALLOCATOR_VARIABLE_SIZE);
    char local[32];
    ck_status(mp_pool_deallocate(p, local + 16), MP_ERR_INVALID_POINTER);
    ck_detail_has("was not allocated by this pool");
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(user_pointers_stay_aligned_behind_the_guard)
{
    mp_config c = MP_CONFIG_INIT;
    mp_config_debug_cpu(&c);
    c.alignment = 256;
    mp_pool *p = new_pool("dbg-aligned", c);
    for (int i = 1; i < 40; i++) {
        void *b = alloc_ok(p, (size_t)i * 11);
        ck_assert_uint_eq((uintptr_t)b % 256, 0);
    }
    size_t n = 0;
    mp_allocation_info rec[1] = {{.struct_size = sizeof(mp_allocation_info)}};
    ck_status(mp_pool_get_allocations(p, rec, 1, &n), MP_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq((uintptr_t)rec[0].ptr % 256, 0); /* records show the user's address */
    ck_assert_uint_eq(rec[0].size, 11);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

static Suite *debug_suite(void)
{
    Suite *s = suite_create("debug");
    TCase *t = tcase_create("debug");
    tcase_add_test(t, overflow_is_caught_on_free_variable);
    tcase_add_test(t, overflow_is_caught_on_free_fixed);
    tcase_add_test(t, underflow_is_caught_by_check);
    tcase_add_test(t, fresh_and_freed_memory_carry_fill_patterns);
    tcase_add_test(t, double_free_names_the_allocation);
    tcase_add_test(t, foreign_pointer_is_reported_in_debug_mode);
    tcase_add_test(t, user_pointers_stay_aligned_behind_the_guard);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(debug_suite)
