/* mp_pool_reallocate and mp_pool_usable_size. Two suites in one binary:
 *   test_realloc      - host pools: every kind, every refusal, stats, debug
 *                       guards, the lock-free front
 *   test_realloc gpu  - device, pinned and managed memory; skips (exit 77)
 *                       without a CUDA device
 * A refused call leaves the block, its bytes, the stats and *out_ptr as
 * they were. */
#include "mp_test.h"

#include <pthread.h>
#include <sched.h>
#ifdef MP_TEST_CUDART
#include <cuda_runtime_api.h>
#endif

#define SKIP 77

static int same_stats(mp_stats a, mp_stats b)
{
    return a.total_allocated == b.total_allocated && a.current_used == b.current_used &&
           a.peak_usage == b.peak_usage && a.allocation_count == b.allocation_count &&
           a.deallocation_count == b.deallocation_count && a.reserved_bytes == b.reserved_bytes &&
           a.chunk_count == b.chunk_count && a.live_allocations == b.live_allocations;
}

static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed + i * 7);
}

static void ck_filled(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(b[i] == (unsigned char)(seed + i * 7), "byte %zu of %zu changed", i, n);
}

/* A reallocation refused with want: detail has word, and nothing changed:
 * not the stats, not the block's bytes (n of them, seed), not *out. */
#define REFUSED(pool, ptr, size, want, word, n, seed)                                              \
    do {                                                                                           \
        mp_stats before_ = stats_of(pool);                                                         \
        void *out_ = (void *)0x5A5A;                                                               \
        ck_status(mp_pool_reallocate(pool, ptr, size, &out_), want);                               \
        ck_detail_has(word);                                                                       \
        ck_assert_ptr_eq(out_, (void *)0x5A5A);                                                    \
        ck_assert_msg(same_stats(before_, stats_of(pool)), "a refused reallocate changed the pool"); \
        ck_filled(ptr, n, seed);                                                                   \
        ck_intact(pool);                                                                           \
    } while (0)

static void *realloc_ok(mp_pool *p, void *ptr, size_t n)
{
    void *out = NULL;
    ck_ok(mp_pool_reallocate(p, ptr, n, &out));
    ck_assert_ptr_nonnull(out);
    ck_intact(p);
    return out;
}

static size_t usable(const mp_pool *p, const void *ptr)
{
    size_t n = 0;
    ck_ok(mp_pool_usable_size(p, ptr, &n));
    return n;
}

static mp_config untracked(mp_config c)
{
    c.track_stats = false;
    return c;
}

static mp_config lock_free(mp_config c)
{
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.track_stats = false;
    return c;
}

static mp_config debugging(mp_config c)
{
    c.enable_debugging = true;
    return c;
}

/* ---- arguments ------------------------------------------------------------ */

START_TEST(a_null_pointer_allocates)
{
    mp_pool *p = new_pool("null", cfg_variable(1 << 16));
    void *b = NULL;
    ck_ok(mp_pool_reallocate(p, NULL, 40, &b));
    ck_assert_ptr_nonnull(b);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 1);
    ck_assert_uint_eq(s.current_used, 40);
    ck_assert_uint_eq(s.live_allocations, 1);
    /* As mp_pool_allocate: its refusals, with *out_ptr left alone. */
    void *out = (void *)0x5A5A;
    ck_status(mp_pool_reallocate(p, NULL, 0, &out), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("size 0");
    ck_status(mp_pool_reallocate(p, NULL, (size_t)1 << 49, &out), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("2^48");
    ck_assert_ptr_eq(out, (void *)0x5A5A);
    ck_ok(mp_pool_deallocate(p, b));
    mp_pool_destroy(p);
}
END_TEST

START_TEST(null_pool_and_null_out_are_invalid_arguments)
{
    mp_pool *p = new_pool("args", cfg_variable(1 << 16));
    void *b = alloc_ok(p, 32), *out = NULL;
    size_t n;
    ck_status(mp_pool_reallocate(NULL, b, 64, &out), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("pool is NULL");
    ck_status(mp_pool_usable_size(NULL, b, &n), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("pool is NULL");
    ck_status(mp_pool_reallocate(p, b, 64, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("out_ptr is NULL");
    ck_status(mp_pool_usable_size(p, b, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_detail_has("out_size is NULL");
    ck_status(mp_pool_usable_size(p, NULL, &n), MP_ERR_INVALID_POINTER);
    ck_detail_has("ptr is NULL");
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_ok(mp_pool_deallocate(p, b));
    mp_pool_destroy(p);
}
END_TEST

/* Every host pool kind the suite runs on: tracked, untracked, debug,
 * unsynchronised, lock-free; variable and fixed (128-byte blocks). */
enum { KINDS = 10 };
static mp_pool *pool_of_kind(int i, const char *name)
{
    mp_config v = cfg_variable(1 << 16), f = cfg_fixed(128, 1 << 16);
    mp_config k[KINDS] = {v, f, untracked(v), untracked(f), debugging(v), debugging(f), v, f, lock_free(v),
                          lock_free(f)};
    k[6].thread_safe = k[7].thread_safe = false;
    return new_pool(name, k[i]);
}

START_TEST(size_zero_is_refused_and_the_block_stays)
{
    for (int i = 0; i < KINDS; i++) {
        mp_pool *p = pool_of_kind(i, "zero");
        void *b = alloc_ok(p, 100);
        fill(b, 100, 3);
        REFUSED(p, b, 0, MP_ERR_INVALID_ARGUMENT, "to 0 bytes", 100, 3);
        ck_detail_has("mp_pool_deallocate");
        ck_ok(mp_pool_deallocate(p, b)); /* still live: freed as usual */
        mp_pool_destroy(p);
    }
}
END_TEST

START_TEST(huge_sizes_are_refused_and_the_block_stays)
{
    size_t huge[] = {SIZE_MAX, SIZE_MAX / 2 + 1, ((size_t)1 << 48) + 1, (size_t)1 << 49};
    for (int i = 0; i < KINDS; i++) {
        mp_pool *p = pool_of_kind(i, "huge");
        mp_config c = MP_CONFIG_INIT;
        ck_ok(mp_pool_get_config(p, &c));
        bool fixed = c.allocator_type == MP_ALLOCATOR_FIXED_SIZE;
        void *b = alloc_ok(p, 100);
        fill(b, 100, 5);
        for (size_t j = 0; j < sizeof huge / sizeof *huge; j++) {
            if (fixed) /* as mp_pool_allocate: beyond the block size is an invalid argument */
                REFUSED(p, b, huge[j], MP_ERR_INVALID_ARGUMENT, "fixed pool of 128-byte blocks", 100, 5);
            else
                REFUSED(p, b, huge[j], MP_ERR_OUT_OF_MEMORY, "beyond the 2^48-byte limit", 100, 5);
        }
        ck_ok(mp_pool_deallocate(p, b));
        mp_pool_destroy(p);
    }
}
END_TEST

/* ---- pointers that are not live blocks ------------------------------------- */

/* reallocate and usable_size refuse ptr with the detail deallocate gives. */
static void refused_as_deallocate_refuses(mp_pool *p, void *ptr, const char *word)
{
    size_t n = 77;
    ck_status(mp_pool_usable_size(p, ptr, &n), MP_ERR_INVALID_POINTER);
    ck_detail_has(word);
    ck_assert_uint_eq(n, 77);
    mp_stats before = stats_of(p);
    void *out = (void *)0x5A5A;
    ck_status(mp_pool_reallocate(p, ptr, 64, &out), MP_ERR_INVALID_POINTER);
    ck_detail_has(word);
    char mine[512];
    snprintf(mine, sizeof mine, "%s", mp_last_error_message());
    ck_assert_ptr_eq(out, (void *)0x5A5A);
    ck_assert(same_stats(before, stats_of(p)));
    ck_intact(p);
    ck_status(mp_pool_deallocate(p, ptr), MP_ERR_INVALID_POINTER);
    ck_assert_str_eq(mp_last_error_message(), mine);
}

START_TEST(foreign_interior_freed_and_other_pools_pointers_are_refused)
{
    mp_pool *theirs = new_pool("theirs", cfg_fixed(64, 4096));
    void *their_block = alloc_ok(theirs, 64);
    for (int i = 0; i < KINDS; i++) {
        mp_pool *p = pool_of_kind(i, "subject");
        int on_stack;
        void *heap = malloc(64);
        unsigned char *keep = alloc_ok(p, 100), *gone = alloc_ok(p, 100);
        fill(keep, 100, 9);
        ck_ok(mp_pool_deallocate(p, gone));
        refused_as_deallocate_refuses(p, &on_stack, "was not allocated by this pool");
        refused_as_deallocate_refuses(p, heap, "was not allocated by this pool");
        refused_as_deallocate_refuses(p, (void *)(uintptr_t)8, "pool 'subject'");
        refused_as_deallocate_refuses(p, keep + 16, "not the start of a live block");
        refused_as_deallocate_refuses(p, keep + 1, "pool 'subject'");
        refused_as_deallocate_refuses(p, gone, i == 4 || i == 5 ? "double free" : "pool 'subject'");
        refused_as_deallocate_refuses(p, their_block, "belongs to pool 'theirs'");
        ck_filled(keep, 100, 9);
        ck_assert_uint_eq(stats_of(theirs).live_allocations, 1);
        ck_ok(mp_pool_deallocate(p, keep));
        free(heap);
        mp_pool_destroy(p);
    }
    ck_ok(mp_pool_deallocate(theirs, their_block));
    mp_pool_destroy(theirs);
}
END_TEST

/* ---- usable size -------------------------------------------------------------- */

START_TEST(usable_size_covers_the_request)
{
    for (int i = 0; i < KINDS; i++) {
        mp_pool *p = pool_of_kind(i, "usable");
        mp_config c = MP_CONFIG_INIT;
        ck_ok(mp_pool_get_config(p, &c));
        for (size_t n = 1; n <= 128; n += 9) {
            void *b = alloc_ok(p, n);
            size_t u = usable(p, b);
            if (c.enable_debugging) /* the back guard follows the request */
                ck_assert_uint_eq(u, n);
            else if (c.allocator_type == MP_ALLOCATOR_FIXED_SIZE)
                ck_assert_uint_eq(u, 128);
            else
                ck_assert(u >= n && u <= n + 1024);
            ck_ok(mp_pool_deallocate(p, b));
        }
        mp_pool_destroy(p);
    }
}
END_TEST

/* ---- in place ------------------------------------------------------------------ */

START_TEST(an_untracked_variable_block_grows_and_shrinks_in_place)
{
    mp_pool *p = new_pool("inplace", untracked(cfg_variable(1 << 16)));
    void *b = alloc_ok(p, 100);
    fill(b, 100, 1);
    size_t u = usable(p, b);
    ck_assert_ptr_eq(realloc_ok(p, b, 10), b);
    ck_filled(b, 10, 1);
    ck_assert_ptr_eq(realloc_ok(p, b, u), b); /* all of it, at once */
    ck_filled(b, 10, 1);
    fill(b, u, 2);
    ck_assert_uint_eq(usable(p, b), u);
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    void *moved = realloc_ok(p, b, u + 1); /* past the block: moves */
    ck_assert_ptr_ne(moved, b);
    ck_filled(moved, u, 2);
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_ok(mp_pool_deallocate(p, moved));
    mp_pool_destroy(p);
}
END_TEST

/* In place is the same allocation: the bytes in use and the lifetime total
 * move by the difference, the counts stay, the record keeps its number. */
START_TEST(a_fixed_block_resizes_in_place_and_the_stats_follow)
{
    mp_pool *p = new_pool("fixed", cfg_fixed(128, 1 << 16));
    void *other = alloc_ok(p, 20);
    void *b = alloc_ok(p, 50);
    fill(b, 50, 4);
    mp_stats s0 = stats_of(p);
    ck_assert_uint_eq(s0.current_used, 70);
    ck_assert_ptr_eq(realloc_ok(p, b, 120), b); /* grows */
    ck_filled(b, 50, 4);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 140);
    ck_assert_uint_eq(s.peak_usage, 140);
    ck_assert_uint_eq(s.total_allocated, s0.total_allocated + 70);
    ck_assert_uint_eq(s.allocation_count, 2);
    ck_assert_uint_eq(s.deallocation_count, 0);
    ck_assert_uint_eq(s.live_allocations, 2);
    ck_assert_ptr_eq(realloc_ok(p, b, 8), b); /* shrinks */
    ck_filled(b, 8, 4);
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 28);
    ck_assert_uint_eq(s.peak_usage, 140);
    ck_assert_uint_eq(s.total_allocated, s0.total_allocated + 70);
    ck_assert_uint_eq(s.allocation_count, 2);
    ck_assert_uint_eq(s.deallocation_count, 0);
    mp_allocation_info recs[2] = {{.struct_size = sizeof(mp_allocation_info)}};
    size_t n = 0;
    ck_ok(mp_pool_get_allocations(p, recs, 2, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_eq(recs[1].ptr, b);
    ck_assert_uint_eq(recs[1].size, 8);
    ck_assert_uint_eq(recs[1].sequence, 2);
    /* Beyond the block size: refused as mp_pool_allocate refuses it. */
    REFUSED(p, b, 129, MP_ERR_INVALID_ARGUMENT, "129 bytes requested from a fixed pool", 8, 4);
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_deallocate(p, other));
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.deallocation_count, 2);
    ck_assert_uint_eq(s.live_allocations, 0);
    mp_pool_destroy(p);
}
END_TEST

/* ---- moving ------------------------------------------------------------------- */

/* A tracked block of a variable pool that outgrows its block moves: one
 * allocation and one free are counted, and the old address is dead. One
 * that fits its block is resized in place, its record rewritten. */
START_TEST(a_tracked_variable_block_moves_when_it_outgrows_its_block)
{
    mp_pool *p = new_pool("move", cfg_variable(1 << 16));
    void *b = alloc_ok(p, 100);
    fill(b, 100, 6);
    ck_assert_uint_lt(usable(p, b), 3000);
    void *grown = realloc_ok(p, b, 3000);
    ck_assert_ptr_ne(grown, b);
    ck_filled(grown, 100, 6);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 2);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_assert_uint_eq(s.current_used, 3000);
    ck_assert_uint_eq(s.total_allocated, 3100);
    ck_assert_uint_eq(s.live_allocations, 1);
    refused_as_deallocate_refuses(p, b, "pool 'move'");
    fill(grown, 3000, 7);
    ck_assert_ptr_eq(realloc_ok(p, grown, 30), grown); /* fits: in place */
    ck_filled(grown, 30, 7);
    s = stats_of(p);
    ck_assert_uint_eq(s.allocation_count, 2);
    ck_assert_uint_eq(s.deallocation_count, 1);
    ck_assert_uint_eq(s.current_used, 30);
    ck_assert_uint_eq(s.total_allocated, 3100);
    ck_assert_uint_eq(s.live_allocations, 1);
    mp_allocation_info rec = {.struct_size = sizeof rec};
    size_t n = 0;
    ck_ok(mp_pool_get_allocations(p, &rec, 1, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(rec.ptr, grown);
    ck_assert_uint_eq(rec.size, 30);
    ck_assert_uint_eq(rec.sequence, 2);
    ck_ok(mp_pool_deallocate(p, grown));
    s = stats_of(p);
    ck_assert_uint_eq(s.current_used, 0);
    ck_assert_uint_eq(s.deallocation_count, 2);
    mp_pool_destroy(p);
}
END_TEST

/* In place on a variable pool, small (a size class's block) and large (a
 * TLSF block): the bytes in use follow, the counts stay, the record keeps
 * its number. */
START_TEST(a_tracked_variable_block_resizes_in_place_within_its_block)
{
    mp_pool *p = new_pool("variable", cfg_variable(1 << 20));
    size_t sizes[] = {100, 200000};
    uint64_t total = 0;
    for (int k = 0; k < 2; k++) {
        void *b = alloc_ok(p, sizes[k]);
        total += sizes[k];
        fill(b, sizes[k], 8);
        size_t u = usable(p, b);
        ck_assert_ptr_eq(realloc_ok(p, b, sizes[k] / 3), b); /* shrinks */
        ck_assert_ptr_eq(realloc_ok(p, b, u), b);            /* grows to all of its block */
        total += u - sizes[k] / 3;
        ck_filled(b, sizes[k] / 3, 8);
        mp_stats s = stats_of(p);
        ck_assert_uint_eq(s.allocation_count, 1);
        ck_assert_uint_eq(s.deallocation_count, 0);
        ck_assert_uint_eq(s.current_used, u);
        ck_assert_uint_eq(s.total_allocated, total);
        ck_assert_uint_eq(s.peak_usage, u);
        mp_allocation_info rec = {.struct_size = sizeof rec};
        size_t n = 0;
        ck_ok(mp_pool_get_allocations(p, &rec, 1, &n));
        ck_assert_uint_eq(rec.size, u);
        ck_assert_uint_eq(rec.sequence, (uint64_t)k + 1);
        ck_ok(mp_pool_deallocate(p, b));
        ck_assert_uint_eq(stats_of(p).current_used, 0);
        ck_ok(mp_pool_reset_stats(p));
        total = 0;
    }
    mp_pool_destroy(p);
}
END_TEST

/* An over-aligned block keeps its place while it fits; a move gives the
 * pool's alignment, as the documentation says, and keeps the bytes. */
START_TEST(an_aligned_block_resizes_in_place_and_moves_with_its_bytes)
{
    mp_pool *p = new_pool("aligned", cfg_variable(1 << 20));
    void *b = NULL;
    ck_ok(mp_pool_allocate_aligned(p, 3000, 4096, &b));
    ck_assert_uint_eq((uintptr_t)b % 4096, 0);
    fill(b, 3000, 9);
    ck_assert_ptr_eq(realloc_ok(p, b, 1000), b);
    ck_filled(b, 1000, 9);
    void *moved = realloc_ok(p, b, 300000);
    ck_filled(moved, 1000, 9);
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_ok(mp_pool_deallocate(p, moved));
    mp_pool_destroy(p);
}
END_TEST

/* Content survives any chain of sizes, on every kind. */
START_TEST(content_survives_a_chain_of_resizes)
{
    size_t sizes[] = {1, 17, 128, 64, 100, 3, 128, 128, 40};
    for (int i = 0; i < KINDS; i++) {
        mp_pool *p = pool_of_kind(i, "chain");
        void *b = alloc_ok(p, 9);
        size_t have = 9;
        fill(b, have, 11);
        for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
            size_t keep = have < sizes[j] ? have : sizes[j];
            b = realloc_ok(p, b, sizes[j]);
            ck_filled(b, keep, 11);
            fill(b, sizes[j], 11);
            have = sizes[j];
            ck_assert(usable(p, b) >= have);
            ck_assert_uint_eq(stats_of(p).live_allocations, 1);
        }
        ck_ok(mp_pool_deallocate(p, b));
        ck_assert_uint_eq(stats_of(p).live_allocations, 0);
        mp_pool_destroy(p);
    }
}
END_TEST

/* A move that cannot get memory leaves the old block as it was, and the
 * caller's pointer too: p = realloc(p) leaks nothing. */
START_TEST(a_failed_move_leaves_the_old_block_intact)
{
    mp_config c = cfg_variable(1 << 16);
    c.max_size = 1 << 16;
    mp_pool *p = new_pool("full", c);
    void *b = alloc_ok(p, 1000);
    void *keep = b;
    fill(b, 1000, 8);
    mp_stats before = stats_of(p);
    ck_status(mp_pool_reallocate(p, b, 1 << 17, &b), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("max_size");
    ck_assert_ptr_eq(b, keep);
    ck_filled(b, 1000, 8);
    mp_stats after = stats_of(p);
    ck_assert_uint_eq(after.failed_allocations, before.failed_allocations + 1);
    after.failed_allocations = before.failed_allocations;
    ck_assert(same_stats(before, after));
    ck_intact(p);
    b = realloc_ok(p, b, 2000); /* room for that */
    ck_filled(b, 1000, 8);
    ck_ok(mp_pool_deallocate(p, b));
    mp_pool_destroy(p);
}
END_TEST

/* ---- debug pools ---------------------------------------------------------------- */

static void debug_guards_follow(mp_config c)
{
    mp_pool *p = new_pool("guards", debugging(c));
    unsigned char *b = alloc_ok(p, 40);
    fill(b, 40, 12);
    b = realloc_ok(p, b, 100);
    ck_filled(b, 40, 12);
    for (int i = 40; i < 100; i++) /* fresh bytes carry the fresh fill */
        ck_assert_uint_eq(b[i], 0xCD);
    ck_assert_uint_eq(usable(p, b), 100);
    b[100] = 0; /* one past the new end: caught */
    ck_status(mp_pool_check(p), MP_ERR_CORRUPTION);
    ck_detail_has("overflow");
    ck_detail_has("100 bytes");
    b[100] = 0xFD;
    ck_intact(p);
    ck_assert_ptr_eq(realloc_ok(p, b, 24), b); /* shrinks in place: guards re-laid */
    ck_filled(b, 24, 12);
    ck_assert_uint_eq(usable(p, b), 24);
    b[24] = 0;
    ck_status(mp_pool_check(p), MP_ERR_CORRUPTION);
    ck_detail_has("24 bytes");
    /* Damaged guards: refused before anything changes; the block stays. */
    fill(b, 24, 13);
    mp_stats before = stats_of(p);
    void *out = (void *)0x5A5A;
    ck_status(mp_pool_reallocate(p, b, 64, &out), MP_ERR_CORRUPTION);
    ck_detail_has("overflow");
    ck_assert_ptr_eq(out, (void *)0x5A5A);
    ck_assert(same_stats(before, stats_of(p)));
    ck_filled(b, 24, 13);
    b[24] = 0xFD;
    ck_intact(p);
    ck_assert_ptr_eq(realloc_ok(p, b, 24), b); /* repaired; the size it has: nothing to do */
    b = realloc_ok(p, b, 25);
    ck_filled(b, 24, 13);
    ck_ok(mp_pool_deallocate(p, b));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    mp_pool_destroy(p);
}

START_TEST(debug_guards_follow_the_new_size_variable) { debug_guards_follow(cfg_variable(1 << 16)); }
END_TEST
START_TEST(debug_guards_follow_the_new_size_fixed) { debug_guards_follow(cfg_fixed(128, 1 << 16)); }
END_TEST

/* A fixed debug pool resizes in place: guards re-laid, the block kept. */
START_TEST(a_fixed_debug_block_resizes_in_place)
{
    mp_pool *p = new_pool("fixed-debug", debugging(cfg_fixed(128, 1 << 16)));
    void *b = alloc_ok(p, 16);
    ck_assert_ptr_eq(realloc_ok(p, b, 128), b);
    ck_assert_ptr_eq(realloc_ok(p, b, 1), b);
    ck_assert_uint_eq(stats_of(p).allocation_count, 1);
    ck_ok(mp_pool_deallocate(p, b));
    ck_status(mp_pool_deallocate(p, b), MP_ERR_INVALID_POINTER);
    ck_detail_has("double free");
    ck_detail_has("1 bytes");
    mp_pool_destroy(p);
}
END_TEST

/* ---- lock-free pools ------------------------------------------------------------- */

static void lock_free_blocks(mp_config c, bool via_tcache)
{
    mp_pool *p = new_pool("lf", lock_free(c));
    mp_tcache *tc = NULL;
    ck_ok(mp_pool_thread_cache(p, &tc));
    void *b = NULL, *spare = NULL;
    ck_ok(via_tcache ? mp_tcache_allocate(tc, 48, &b) : mp_pool_allocate(p, 48, &b));
    ck_ok(via_tcache ? mp_tcache_allocate(tc, 48, &spare) : mp_pool_allocate(p, 48, &spare));
    fill(b, 48, 14);
    size_t u = usable(p, b);
    ck_assert(u >= 48);
    ck_assert_ptr_eq(realloc_ok(p, b, u), b); /* a cached class's block: in place */
    ck_filled(b, 48, 14);
    void *moved = realloc_ok(p, b, 4096); /* past it: moves; the old block goes to the cache */
    ck_assert_ptr_ne(moved, b);
    ck_filled(moved, 48, 14);
    refused_as_deallocate_refuses(p, b, "not the start of a live block");
    /* A block freed into the thread cache is live to the strategy, not to the caller. */
    ck_ok(via_tcache ? mp_tcache_deallocate(tc, spare) : mp_pool_deallocate(p, spare));
    refused_as_deallocate_refuses(p, spare, "not the start of a live block");
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_ok(mp_pool_deallocate(p, moved));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}

START_TEST(lock_free_variable_blocks_resize) { lock_free_blocks(cfg_variable(1 << 16), false); }
END_TEST
START_TEST(lock_free_variable_blocks_of_the_inline_cache_resize) { lock_free_blocks(cfg_variable(1 << 16), true); }
END_TEST

START_TEST(lock_free_fixed_blocks_resize_in_place)
{
    mp_pool *p = new_pool("lf-fixed", lock_free(cfg_fixed(128, 1 << 16)));
    void *b = alloc_ok(p, 10), *spare = alloc_ok(p, 10);
    fill(b, 10, 15);
    ck_assert_ptr_eq(realloc_ok(p, b, 128), b);
    ck_filled(b, 10, 15);
    REFUSED(p, b, 129, MP_ERR_INVALID_ARGUMENT, "fixed pool", 10, 15);
    ck_ok(mp_pool_deallocate(p, spare));
    refused_as_deallocate_refuses(p, spare, "not the start of a live block");
    ck_ok(mp_pool_deallocate(p, b));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    mp_pool_destroy(p);
}
END_TEST

/* Many threads resize their own blocks on one lock-free pool at once. */
static void *resize_loop(void *arg)
{
    mp_pool *p = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    void *b = NULL;
    size_t have = 0;
    for (int i = 0; i < mp_test_scaled(4000); i++) {
        size_t n = 1 + rand_r(&seed) % 3000;
        void *nb = NULL;
        if (mp_pool_reallocate(p, b, n, &nb) != MP_OK)
            return (void *)"reallocate failed";
        const unsigned char *c = nb;
        for (size_t j = 0; j < (have < n ? have : n); j++)
            if (c[j] != (unsigned char)(uintptr_t)arg + (unsigned char)j)
                return (void *)"a byte changed";
        memset(nb, 0, n);
        for (size_t j = 0; j < n; j++)
            ((unsigned char *)nb)[j] = (unsigned char)((uintptr_t)arg + j);
        b = nb;
        have = n;
    }
    return mp_pool_deallocate(p, b) == MP_OK ? NULL : (void *)"free failed";
}

START_TEST(threads_resize_on_one_lock_free_pool)
{
    mp_pool *p = new_pool("lf-threads", lock_free(cfg_variable(1 << 20)));
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, resize_loop, p), 0);
    for (int i = 0; i < 4; i++) {
        void *why = NULL;
        pthread_join(t[i], &why);
        ck_assert_msg(why == NULL, "thread %d: %s", i, (const char *)why);
    }
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* A growth hook runs while a moving reallocate waits for its new block,
 * and may call back in: one that resets (and trims) the pool leaves the old
 * pointer dead, which the reallocate must see before reading it. */
static mp_status grow_and_reset(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    (void)detail;
    (void)cap;
    mp_pool_reset(pool);
    if (user)
        mp_pool_trim(pool, 0);
    *out = need;
    return MP_OK;
}

START_TEST(a_hook_that_resets_the_pool_mid_move_gets_a_clean_refusal)
{
    for (int trim = 0; trim < 2; trim++) {
        mp_pool *p = new_pool("hook-reset", cfg_variable(1 << 20));
        void *a = alloc_ok(p, 100000);
        alloc_ok(p, 900000);
        mp_policy pol = {sizeof pol, trim ? (void *)1 : NULL, grow_and_reset, NULL, NULL, NULL};
        ck_ok(mp_pool_set_policy(p, &pol));
        void *q = (void *)0x1;
        ck_status(mp_pool_reallocate(p, a, 300000, &q), MP_ERR_INVALID_POINTER);
        ck_detail_has("by a hook that ran while reallocating it");
        ck_assert_ptr_eq(q, (void *)0x1); /* not written */
        ck_assert_uint_eq(stats_of(p).live_allocations, 0);
        ck_intact(p);
        mp_pool_destroy(p);
    }
}
END_TEST

static Suite *host_suite(void)
{
    Suite *s = suite_create("realloc");
    TCase *t = tcase_create("realloc");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, a_null_pointer_allocates);
    tcase_add_test(t, a_hook_that_resets_the_pool_mid_move_gets_a_clean_refusal);
    tcase_add_test(t, null_pool_and_null_out_are_invalid_arguments);
    tcase_add_test(t, size_zero_is_refused_and_the_block_stays);
    tcase_add_test(t, huge_sizes_are_refused_and_the_block_stays);
    tcase_add_test(t, foreign_interior_freed_and_other_pools_pointers_are_refused);
    tcase_add_test(t, usable_size_covers_the_request);
    tcase_add_test(t, an_untracked_variable_block_grows_and_shrinks_in_place);
    tcase_add_test(t, a_fixed_block_resizes_in_place_and_the_stats_follow);
    tcase_add_test(t, a_tracked_variable_block_moves_when_it_outgrows_its_block);
    tcase_add_test(t, a_tracked_variable_block_resizes_in_place_within_its_block);
    tcase_add_test(t, an_aligned_block_resizes_in_place_and_moves_with_its_bytes);
    tcase_add_test(t, content_survives_a_chain_of_resizes);
    tcase_add_test(t, a_failed_move_leaves_the_old_block_intact);
    tcase_add_test(t, debug_guards_follow_the_new_size_variable);
    tcase_add_test(t, debug_guards_follow_the_new_size_fixed);
    tcase_add_test(t, a_fixed_debug_block_resizes_in_place);
    tcase_add_test(t, lock_free_variable_blocks_resize);
    tcase_add_test(t, lock_free_variable_blocks_of_the_inline_cache_resize);
    tcase_add_test(t, lock_free_fixed_blocks_resize_in_place);
    tcase_add_test(t, threads_resize_on_one_lock_free_pool);
    suite_add_tcase(s, t);
    return s;
}

/* ---- GPU memory ------------------------------------------------------------------- */

/* Host bytes through a device block and back, by the pool's copy helpers. */
static void put(mp_pool *p, void *d, size_t n, unsigned seed)
{
    unsigned char *h = malloc(n);
    fill(h, n, seed);
    ck_ok(mp_pool_copy_host_to_device(p, d, h, n));
    free(h);
}

static void ck_device_filled(mp_pool *p, const void *d, size_t n, unsigned seed)
{
    unsigned char *h = malloc(n);
    ck_ok(mp_pool_copy_device_to_host(p, h, d, n));
    ck_filled(h, n, seed);
    free(h);
}

static void device_blocks_resize(mp_config c, bool moves)
{
    mp_pool *p = new_gpu_pool("device", c);
    void *b = alloc_ok(p, 1000);
    put(p, b, 1000, 21);
    void *grown = realloc_ok(p, b, 1 << 20);
    if (moves)
        ck_assert_ptr_ne(grown, b);
    ck_device_filled(p, grown, 1000, 21);
    void *shrunk = realloc_ok(p, grown, 100);
    ck_device_filled(p, shrunk, 100, 21);
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    refused_as_deallocate_refuses(p, (char *)shrunk + 256, "not the start of a live block");
    ck_ok(mp_pool_deallocate(p, shrunk));
    mp_pool_destroy(p);
}

START_TEST(device_blocks_move_with_their_bytes)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    device_blocks_resize(c, true);
}
END_TEST

START_TEST(untracked_device_blocks_resize)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_high_performance_gpu(&c, 0));
    c.initial_size = 4 << 20;
    device_blocks_resize(c, false);
}
END_TEST

START_TEST(fixed_device_blocks_resize_in_place)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_fixed_size_gpu(&c, 4096, 0));
    c.initial_size = 1 << 20;
    mp_pool *p = new_gpu_pool("fixed-device", c);
    void *b = alloc_ok(p, 100);
    put(p, b, 100, 22);
    ck_assert_ptr_eq(realloc_ok(p, b, 4096), b);
    ck_device_filled(p, b, 100, 22);
    ck_assert_uint_eq(stats_of(p).current_used, 4096);
    ck_assert_uint_eq(usable(p, b), 4096);
    ck_ok(mp_pool_deallocate(p, b));
    mp_pool_destroy(p);
}
END_TEST

/* A block freed on another stream waits for its event: not live. */
#ifdef MP_TEST_CUDART
/* Holds its stream until *arg is set: the event of a free on it stays
 * pending however often the pool looks (stats look too). */
static void CUDART_CB hold_stream(void *arg)
{
    while (!__atomic_load_n((int *)arg, __ATOMIC_ACQUIRE))
        sched_yield();
}
#endif

START_TEST(a_block_waiting_on_a_stream_is_refused)
{
#ifdef MP_TEST_CUDART
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    mp_pool *p = new_gpu_pool("waiting", c);
    cudaStream_t busy;
    ck_assert_int_eq(cudaStreamCreate(&busy), cudaSuccess);
    static int go;
    __atomic_store_n(&go, 0, __ATOMIC_RELEASE);
    ck_assert_int_eq(cudaLaunchHostFunc(busy, hold_stream, &go), cudaSuccess);
    void *b = alloc_ok(p, 256);
    ck_ok(mp_pool_deallocate_on_stream(p, b, busy));
    refused_as_deallocate_refuses(p, b, "already freed on a stream");
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    ck_assert_int_eq(cudaStreamSynchronize(busy), cudaSuccess);
    ck_ok(mp_pool_destroy(p));
    cudaStreamDestroy(busy);
#endif
}
END_TEST

/* Pinned and managed blocks move within their side arena, so stay of
 * their kind, and keep their bytes. */
START_TEST(pinned_and_managed_blocks_keep_their_kind)
{
    mp_alloc_flags kinds[] = {MP_ALLOC_PINNED, MP_ALLOC_MANAGED};
    for (int k = 0; k < 2; k++) {
        mp_config c = MP_CONFIG_INIT;
        ck_ok(mp_config_default_gpu(&c));
        c.initial_size = 1 << 16;
        mp_pool *p = new_gpu_pool("side", c);
        void *b = NULL;
        ck_ok(mp_pool_allocate_flags(p, 300, kinds[k], &b));
        if (kinds[k] == MP_ALLOC_PINNED)
            fill(b, 300, 23);
        else
            put(p, b, 300, 23);
        void *moved = realloc_ok(p, b, 100000);
        ck_assert_ptr_ne(moved, b);
        if (kinds[k] == MP_ALLOC_PINNED)
            ck_filled(moved, 300, 23);
        else
            ck_device_filled(p, moved, 300, 23);
        void *shrunk = realloc_ok(p, moved, 50);
        if (kinds[k] == MP_ALLOC_PINNED)
            ck_filled(shrunk, 50, 23);
        else
            ck_device_filled(p, shrunk, 50, 23);
#ifdef MP_TEST_CUDART
        void *both[] = {moved, shrunk};
        for (int i = 0; i < 2; i++) {
            struct cudaPointerAttributes a;
            ck_assert_int_eq(cudaPointerGetAttributes(&a, both[i]), cudaSuccess);
            ck_assert_int_eq(a.type, kinds[k] == MP_ALLOC_PINNED ? cudaMemoryTypeHost : cudaMemoryTypeManaged);
        }
#endif
        ck_ok(mp_pool_deallocate(p, shrunk));
        ck_assert_uint_eq(stats_of(p).live_allocations, 0);
        mp_pool_destroy(p);
    }
}
END_TEST

static Suite *gpu_suite(void)
{
    Suite *s = suite_create("realloc-gpu");
    TCase *t = tcase_create("gpu");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, device_blocks_move_with_their_bytes);
    tcase_add_test(t, untracked_device_blocks_resize);
    tcase_add_test(t, fixed_device_blocks_resize_in_place);
    tcase_add_test(t, a_block_waiting_on_a_stream_is_refused);
    tcase_add_test(t, pinned_and_managed_blocks_keep_their_kind);
    suite_add_tcase(s, t);
    return s;
}

int main(int argc, char **argv)
{
    bool gpu = argc > 1 && strcmp(argv[1], "gpu") == 0;
    if (gpu) {
        int devices = 0;
        mp_gpu_device_count(&devices);
        if (devices == 0) {
            printf("SKIP: no CUDA device found (%s); reallocate on GPU memory runs on a machine with one\n",
                   mp_version_string());
            return SKIP;
        }
    }
    SRunner *sr = srunner_create(gpu ? gpu_suite() : host_suite());
    if (gpu) /* CUDA, initialised above, does not survive fork */
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
