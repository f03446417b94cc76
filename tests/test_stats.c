/* Statistics: exact counters, peak, tracking on and off, live allocation
 * records, leak checks, text and JSON, and old or new struct sizes. */
#include "mp_test.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(counters_are_exact)
{
    mp_pool *p = new_pool("count", cfg_variable(1 << 20));
    void *a = alloc_ok(p, 100), *b = alloc_ok(p, 200), *c = alloc_ok(p, 300);
    ck_ok(mp_pool_deallocate(p, b));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.total_allocated, 600);
    ck_assert_uint_eq(s.current_used, 400);
    ck_assert_uint_eq(s.peak_usage, 600);
    ck_assert_uint_eq(s.allocation_count, 3);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_assert_uint_eq(s.live_allocations, 2);
    ck_assert_uint_eq(s.reserved_bytes, 1 << 20);
    ck_assert_uint_eq(s.chunk_count, 1);
    ck_assert_uint_eq(s.failed_allocations, 0);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_deallocate(p, c));
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.peak_usage, 600);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(reset_stats_keeps_what_is_live)
{
    mp_pool *p = new_pool("rs", cfg_variable(1 << 20));
    void *live = alloc_ok(p, 100);
    void *b = alloc_ok(p, 50);
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_reset_stats(p));
    mp_stats s = stats_of(p);
    /* The counts start again from the live block: consistent with what follows. */
    ck_assert_uint_eq(s.total_allocated, 100);
    ck_assert_uint_eq(s.allocation_count, 1);
    ck_assert_uint_eq(s.deallocation_count, 0);
    ck_assert_uint_eq(s.current_used, 100);
    ck_assert_uint_eq(s.peak_usage, 100);
    ck_assert_uint_eq(s.live_allocations, 1);
    ck_ok(mp_pool_deallocate(p, live));
    s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 1);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.total_allocated, 100);
    mp_pool_destroy(p);
}
END_TEST

/* peak_reserved_bytes: raised by every chunk, kept through a trim, brought
 * down to what is reserved by mp_pool_reset_stats (not by mp_pool_reset). */
static void peak_reserved_round_trip(mp_pool *p, size_t big)
{
    mp_stats s = stats_of(p);
    uint64_t first = s.reserved_bytes;
    ck_assert_uint_eq(s.peak_reserved_bytes, first);
    void *b = alloc_ok(p, big); /* past the first chunk: the pool grows */
    s = stats_of(p);
    ck_assert_uint_gt(s.reserved_bytes, first + big - 1);
    ck_assert_uint_eq(s.peak_reserved_bytes, s.reserved_bytes);
    uint64_t peak = s.reserved_bytes;
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_reset(p));
    ck_ok(mp_pool_trim(p, 0));
    s = stats_of(p);
    ck_assert_uint_lt(s.reserved_bytes, peak);
    ck_assert_uint_eq(s.peak_reserved_bytes, peak); /* a trim leaves the peak */
    ck_ok(mp_pool_reset_stats(p));
    s = stats_of(p);
    ck_assert_uint_eq(s.peak_reserved_bytes, s.reserved_bytes);
    b = alloc_ok(p, big);
    s = stats_of(p);
    ck_assert_uint_eq(s.peak_reserved_bytes, s.reserved_bytes);
    ck_assert_uint_gt(s.peak_reserved_bytes, big - 1);
    ck_ok(mp_pool_deallocate(p, b));
    ck_intact(p);
}

START_TEST(peak_reserved_follows_growth_trim_and_reset_stats)
{
    mp_pool *p = new_pool("peak-res-var", cfg_variable(1 << 16));
    peak_reserved_round_trip(p, 200000);
    mp_pool_destroy(p);
    mp_config c = MP_CONFIG_INIT;
    mp_config_general_purpose_cpu(&c);
    c.initial_size = 1 << 16;
    p = new_pool("peak-res-gp", c);
    peak_reserved_round_trip(p, 300000);
    mp_pool_destroy(p);
    c = cfg_fixed(1 << 20, 1 << 20); /* one block a chunk */
    p = new_pool("peak-res-fixed", c);
    alloc_ok(p, 1); /* the first chunk is busy: the pool grows by a second */
    peak_reserved_round_trip(p, 1 << 20);
    mp_pool_destroy(p);
}
END_TEST

static void tracking_round_trip(mp_config c)
{
    mp_pool *p = new_pool("track", c);
    bool on = false;
    ck_ok(mp_pool_get_tracking(p, &on));
    ck_assert(on);
    void *tracked = alloc_ok(p, 64);
    ck_ok(mp_pool_set_tracking(p, false));
    ck_ok(mp_pool_get_tracking(p, &on));
    ck_assert(!on);
    void *untracked = alloc_ok(p, 32);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 1);
    ck_assert_uint_eq(s.live_allocations, 2);
    /* Freeing the tracked block while tracking is off still counts it. */
    ck_ok(mp_pool_deallocate(p, tracked));
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_ok(mp_pool_set_tracking(p, true));
    ck_ok(mp_pool_deallocate(p, untracked));
    s = stats_of(p);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    alloc_ok(p, 10);
    ck_assert_uint_eq(stats_of(p).current_used, 10);
    ck_intact(p);
    mp_pool_destroy(p);
}

START_TEST(tracking_toggles_keep_counts_exact_in_variable_pools) { tracking_round_trip(cfg_variable(1 << 16)); }
END_TEST

START_TEST(tracking_toggles_keep_counts_exact_in_fixed_pools) { tracking_round_trip(cfg_fixed(64, 4096)); }
END_TEST

START_TEST(fixed_pool_created_untracked_can_start_tracking)
{
    mp_config c = cfg_fixed(64, 4096);
    c.track_stats = false;
    mp_pool *p = new_pool("late", c);
    void *early = alloc_ok(p, 10);
    ck_ok(mp_pool_set_tracking(p, true));
    void *later = alloc_ok(p, 20);
    size_t n = 0;
    ck_ok(mp_pool_get_allocations(p, NULL, 0, &n));
    ck_assert_uint_eq(n, 1);
    ck_ok(mp_pool_deallocate(p, early));
    ck_ok(mp_pool_deallocate(p, later));
    ck_assert_uint_eq(stats_of(p).current_used, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(active_allocations_come_oldest_first)
{
    mp_pool *p = new_pool("active", cfg_variable(1 << 16));
    void *a = alloc_ok(p, 10), *b = alloc_ok(p, 20), *c = alloc_ok(p, 30);
    ck_ok(mp_pool_deallocate(p, b));
    size_t n = 0;
    ck_ok(mp_pool_get_allocations(p, NULL, 0, &n));
    ck_assert_uint_eq(n, 2);
    mp_allocation_info recs[4] = {{.struct_size = sizeof(mp_allocation_info)}};
    ck_ok(mp_pool_get_allocations(p, recs, 4, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_eq(recs[0].ptr, a);
    ck_assert_uint_eq(recs[0].size, 10);
    ck_assert_uint_eq(recs[0].sequence, 1);
    ck_assert_ptr_eq(recs[1].ptr, c);
    ck_assert_uint_eq(recs[1].size, 30);
    ck_assert_uint_eq(recs[1].sequence, 3);
    ck_assert_uint_eq(recs[1].struct_size, sizeof(mp_allocation_info));
    mp_pool_destroy(p);
}
END_TEST

START_TEST(too_small_array_gets_the_first_records_and_the_count)
{
    mp_pool *p = new_pool("small", cfg_variable(1 << 16));
    for (int i = 0; i < 5; i++)
        alloc_ok(p, 8);
    mp_allocation_info recs[2] = {{.struct_size = sizeof(mp_allocation_info)}};
    size_t n = 0;
    ck_status(mp_pool_get_allocations(p, recs, 2, &n), MP_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(recs[1].sequence, 2);
    ck_status(mp_pool_get_allocations(p, NULL, 3, &n), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_get_allocations(p, recs, 2, NULL), MP_ERR_INVALID_ARGUMENT);
    recs[0].struct_size = 3;
    ck_status(mp_pool_get_allocations(p, recs, 2, &n), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(leak_check_sees_live_blocks)
{
    mp_pool *p = new_pool("leaks", cfg_fixed(32, 4096));
    bool leaks = true;
    ck_ok(mp_pool_has_leaks(p, &leaks));
    ck_assert(!leaks);
    void *a = alloc_ok(p, 32);
    ck_ok(mp_pool_has_leaks(p, &leaks));
    ck_assert(leaks);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_has_leaks(p, &leaks));
    ck_assert(!leaks);
    ck_status(mp_pool_has_leaks(p, NULL), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(stats_string_names_the_pool_and_its_numbers)
{
    mp_pool *p = new_pool("textual", cfg_variable(1 << 16));
    alloc_ok(p, 1234);
    char *text = NULL;
    ck_ok(mp_pool_stats_string(p, &text));
    ck_assert_ptr_nonnull(strstr(text, "pool 'textual'"));
    ck_assert_ptr_nonnull(strstr(text, "1234 bytes in 1 allocations"));
    ck_assert_ptr_nonnull(strstr(text, "65536 bytes in 1 chunks"));
    mp_string_free(text);
    ck_status(mp_pool_stats_string(p, NULL), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(stats_json_holds_every_field)
{
    mp_pool *p = new_pool("with \"quotes\"", cfg_variable(1 << 16));
    alloc_ok(p, 77);
    char *json = NULL;
    ck_ok(mp_pool_stats_json(p, &json));
    ck_assert_int_eq(json[0], '{');
    ck_assert_int_eq(json[strlen(json) - 1], '}');
    static const char *want[] = {"\"name\":\"with \\\"quotes\\\"\"", "\"current_used\":77", "\"total_allocated\":77",
                                 "\"peak_usage\":77", "\"allocation_count\":1", "\"deallocation_count\":0",
                                 "\"fragmentation_ratio\":0.", "\"reserved_bytes\":65536", "\"chunk_count\":1",
                                 "\"failed_allocations\":0", "\"live_allocations\":1", "\"pending_frees\":0",
                                 "\"memory_type\":\"cpu\""};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(strstr(json, want[i]), "%s lacks %s", json, want[i]);
    mp_string_free(json);
    mp_pool_destroy(p);
}
END_TEST

/* mp_stats' fields as the generated manifest lists them ("name:type,...",
 * tests/CMakeLists.txt): the formatters are generated too, so this list is
 * the independent witness that none of them was left out. */
#ifndef MP_STATS_FIELDS
#error "tests/CMakeLists.txt defines MP_STATS_FIELDS from docs/abi-manifest.tsv"
#endif

typedef struct stats_field {
    char name[64];
    double value;
} stats_field;

/* Reads the fields after struct_size out of st, laid out as C lays out their
 * types; returns how many. */
static size_t stats_fields(const mp_stats *st, stats_field *out, size_t cap)
{
    const char *s = MP_STATS_FIELDS;
    size_t n = 0, off = 0;
    while (*s) {
        char name[64], type[32];
        ck_assert_int_eq(sscanf(s, "%63[^:]:%31[^,]", name, type), 2);
        s += strlen(name) + 1 + strlen(type);
        s += *s == ',';
        size_t size = strcmp(type, "uint32_t") == 0 ? 4 : 8;
        ck_assert_msg(strcmp(type, "uint64_t") == 0 || strcmp(type, "size_t") == 0 || strcmp(type, "double") == 0 ||
                          strcmp(type, "uint32_t") == 0,
                      "mp_stats.%s: teach this test type %s", name, type);
        off = (off + size - 1) / size * size;
        ck_assert_uint_le(off + size, sizeof *st);
        const char *at = (const char *)st + off;
        off += size;
        if (strcmp(name, "struct_size") == 0)
            continue;
        ck_assert_uint_lt(n, cap);
        stats_field *f = &out[n++];
        snprintf(f->name, sizeof f->name, "%s", name);
        if (strcmp(type, "double") == 0)
            f->value = *(const double *)at;
        else if (size == 4)
            f->value = *(const uint32_t *)at;
        else
            f->value = (double)*(const uint64_t *)at;
    }
    ck_assert_uint_eq((off + 7) / 8 * 8, sizeof *st); /* the list covers the whole struct */
    return n;
}

static bool near(double x, double y) { return (x > y ? x - y : y - x) <= 1e-6; } /* text has 6 decimals */

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(every_stats_field_is_in_the_json_and_the_text)
{
    mp_config c = cfg_variable(1 << 16);
    c.max_size = 1 << 16;
    mp_pool *p = new_pool("fields", c);
    void *a = alloc_ok(p, 100), *big;
    alloc_ok(p, 300);
    alloc_ok(p, 50);
    ck_ok(mp_pool_deallocate(p, a));
    ck_status(mp_pool_allocate(p, 1 << 17, &big), MP_ERR_OUT_OF_MEMORY); /* past max_size */
    mp_stats st = stats_of(p);
    ck_assert_uint_eq(st.failed_allocations, 1);
    stats_field f[64];
    size_t n = stats_fields(&st, f, 64);
    ck_assert_uint_ge(n, 11); /* 1.1 has eleven, pending_frees the last */

    /* JSON: each field under its name, with the struct's value. */
    char *json = NULL, key[80];
    ck_ok(mp_pool_stats_json(p, &json));
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "\"%.63s\":", f[i].name);
        const char *at = strstr(json, key);
        ck_assert_msg(at, "the JSON lacks %s: %s", f[i].name, json);
        double v = strtod(at + strlen(key), NULL);
        ck_assert_msg(near(v, f[i].value), "JSON %s is %g, the struct says %g", f[i].name, v, f[i].value);
    }
    mp_string_free(json);

    /* Text: after the pool's line, one number per field, the struct's values. */
    char *text = NULL;
    ck_ok(mp_pool_stats_string(p, &text));
    double got[64];
    size_t m = 0;
    for (const char *c = strchr(text, '\n'); c && *c;) {
        if (isdigit((unsigned char)*c)) {
            char *end;
            ck_assert_uint_lt(m, 64);
            got[m++] = strtod(c, &end);
            c = end;
        } else {
            c++;
        }
    }
    ck_assert_msg(m == n, "the text shows %zu numbers for %zu fields:\n%s", m, n, text);
    double want[64];
    for (size_t i = 0; i < n; i++)
        want[i] = f[i].value;
    qsort(got, m, sizeof *got, by_value);
    qsort(want, n, sizeof *want, by_value);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(near(got[i], want[i]), "the text's values differ from the struct's:\n%s", text);
    mp_string_free(text);
    mp_pool_destroy(p);
}
END_TEST

/* A program compiled against 1.0 passes the 1.0 size; one compiled against a
 * later header passes more. Both are served without overrun. */
START_TEST(old_and_new_sized_stats_structs_are_served)
{
    mp_pool *p = new_pool("sizes", cfg_variable(1 << 16));
    alloc_ok(p, 5);
    struct {
        mp_stats s;
        uint64_t future[2];
    } big;
    memset(&big, 0xEE, sizeof big);
    big.s.struct_size = sizeof big;
    ck_ok(mp_pool_get_stats(p, &big.s));
    ck_assert_uint_eq(big.s.current_used, 5);
    ck_assert_uint_eq(big.future[0], 0);
    ck_assert_uint_eq(big.future[1], 0);
    ck_assert_uint_eq(big.s.struct_size, sizeof big);

    /* An older caller whose struct ends before live_allocations. */
    mp_stats old;
    memset(&old, 0xEE, sizeof old);
    old.struct_size = offsetof(mp_stats, live_allocations);
    ck_status(mp_pool_get_stats(p, &old), MP_ERR_INVALID_ARGUMENT); /* below the 1.0 size */
    /* A program built against 1.0, whose mp_stats ends at live_allocations:
     * served, and the 1.1 field past its end left alone. */
    old.struct_size = offsetof(mp_stats, pending_frees);
    ck_ok(mp_pool_get_stats(p, &old));
    ck_assert_uint_eq(old.live_allocations, 1);
    ck_assert_uint_eq(old.pending_frees, 0xEEEEEEEEEEEEEEEEull);
    old.struct_size = sizeof old;
    ck_ok(mp_pool_get_stats(p, &old));
    ck_assert_uint_eq(old.pending_frees, 0);
    mp_pool_destroy(p);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *t = tcase_create("stats");
    tcase_add_test(t, counters_are_exact);
    tcase_add_test(t, reset_stats_keeps_what_is_live);
    tcase_add_test(t, peak_reserved_follows_growth_trim_and_reset_stats);
    tcase_add_test(t, tracking_toggles_keep_counts_exact_in_variable_pools);
    tcase_add_test(t, tracking_toggles_keep_counts_exact_in_fixed_pools);
    tcase_add_test(t, fixed_pool_created_untracked_can_start_tracking);
    tcase_add_test(t, active_allocations_come_oldest_first);
    tcase_add_test(t, too_small_array_gets_the_first_records_and_the_count);
    tcase_add_test(t, leak_check_sees_live_blocks);
    tcase_add_test(t, stats_string_names_the_pool_and_its_numbers);
    tcase_add_test(t, stats_json_holds_every_field);
    tcase_add_test(t, every_stats_field_is_in_the_json_and_the_text);
    tcase_add_test(t, old_and_new_sized_stats_structs_are_served);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(stats_suite)
