/* Attacks on on-demand runs (core/backing.h): the granules a block lacks
 * map as one physical allocation per run of them, MP__BACKED_RUN granules
 * at most, and an allocation goes back whole once every granule of it is
 * idle (trim, the release threshold's decay, reclaim when the device is
 * full or max_size would be passed). On the host-side stand-in
 * (backend/cuda_sim.h). After every step of a walk:
 *
 *  - mp_pool_check is MP_OK (mp__backed_check: each mapped granule lies in
 *    exactly one run);
 *  - the stand-in saw no violation; reserved_bytes is the device's in_use
 *    and peak_reserved_bytes its peak;
 *  - every mapping the stand-in holds is whole granules, MP__BACKED_RUN of
 *    them at most;
 *  - live blocks do not overlap and lie on mapped memory;
 *  - max_size bounds reserved_bytes;
 *  - after mp_pool_trim(p, 0) every mapping has a live block on it.
 *
 * The stand-in's mp__sim_fail_maps and mp__sim_mappings were added for
 * this suite. */
#include "mp_test.h"

#include "backend/cuda_sim.h"
#include "core/backing.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)
#define GRANULE (2 * MiB) /* an H200's */
#define RUN (MP__BACKED_RUN * GRANULE) /* the most one mapping covers */

static mp__sim_config sim_cfg;

static void sim_on_with(int devices, size_t memory, size_t granule)
{
    sim_cfg = (mp__sim_config){.devices = devices, .memory = memory, .granule = granule};
    mp__sim_begin(&sim_cfg);
}

static void sim_on(int devices, size_t memory) { sim_on_with(devices, memory, GRANULE); }

static void setup(void) { sim_on(1, 1024 * MiB); }
static void teardown(void) { mp__sim_end(); }

static mp__sim_usage usage(int device)
{
    mp__sim_usage u;
    mp__sim_usage_get(device, &u);
    return u;
}

static mp_config preset(int which)
{
    mp_config c = MP_CONFIG_INIT;
    switch (which) {
    case 0: ck_ok(mp_config_default_gpu(&c)); break;
    case 1: ck_ok(mp_config_high_performance_gpu(&c, 0)); break;
    default: ck_ok(mp_config_fixed_size_gpu(&c, 3 * MiB, 0)); break;
    }
    return c;
}

/* The end of a test: the pool goes, and the device is empty and saw no
 * violation. */
static void destroy_clean(mp_pool *p)
{
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use, 0);
    ck_assert_uint_eq(usage(0).violations, 0);
}

#define MAPS_MAX 4096
static void *map_va[MAPS_MAX];
static size_t map_size[MAPS_MAX];

/* The stand-in's mappings now. */
static size_t mappings(void)
{
    size_t n = mp__sim_mappings(map_va, map_size, MAPS_MAX);
    ck_assert_uint_le(n, MAPS_MAX);
    return n;
}

/* Frees go on (the pool reads its clock every 32nd free past the
 * threshold), each block at where when that is not NULL. */
static void frees_go_on(mp_pool *p, void *where)
{
    for (int i = 0; i < 64; i++) {
        void *x = alloc_ok(p, 256);
        if (where)
            ck_assert_ptr_eq(x, where);
        ck_ok(mp_pool_deallocate(p, x));
    }
}

/* ---- the walk ------------------------------------------------------------ */

#define LIVE_MAX 64

typedef struct walk {
    mp_pool *pool;
    size_t max_size;
    bool fixed;
    size_t block_size;
    bool failing;      /* maps may fail (mp__sim_fail_maps): MP_ERR_CUDA is a clean answer too */
    size_t threshold;  /* the release threshold set last */
    void *p[LIVE_MAX];
    size_t n;
    unsigned seed;
    int step;
    int ooms, cudas;   /* refusals seen (RUNS_TRACE prints them) */
    const char *what;
} walk;

static size_t rnd(walk *w, size_t n) { return (size_t)rand_r(&w->seed) % n; }

/* 256 B .. 96 MiB, log-uniform: runs of one to three allocations. */
static size_t some_size(walk *w)
{
    if (w->fixed)
        return 1 + rnd(w, w->block_size);
    size_t top = (size_t)256 << rnd(w, 19);
    size_t n = top + rnd(w, top);
    return n > 96 * MiB ? 96 * MiB : n;
}

static size_t usable(walk *w, void *p)
{
    size_t n = 0;
    mp_status s = mp_pool_usable_size(w->pool, p, &n);
    ck_assert_msg(s == MP_OK, "step %d (%s): live %p: %s (%s)", w->step, w->what, p, mp_status_name(s),
                  mp_last_error_message());
    return n;
}

static bool on_live(walk *w, uintptr_t va, size_t size)
{
    for (size_t i = 0; i < w->n; i++) {
        uintptr_t a = (uintptr_t)w->p[i];
        if (a < va + size && va < a + usable(w, w->p[i]))
            return true;
    }
    return false;
}

/* Whether every mapping has a live block on it: no whole idle allocation left. */
static bool all_runs_live(walk *w)
{
    size_t n = mappings();
    for (size_t i = 0; i < n; i++)
        if (!on_live(w, (uintptr_t)map_va[i], map_size[i]))
            return false;
    return true;
}

/* mp_pool_trim(p, keep): down to keep where whole idle allocations allow
 * (else none is left), and no further than one allocation below it. The
 * lower bound only where no decay runs meanwhile (the caches' blocks are
 * freed in the trim, and a free may give back what has decayed). */
static void trim_to(walk *w, size_t keep)
{
    size_t before = stats_of(w->pool).reserved_bytes;
    ck_ok(mp_pool_trim(w->pool, keep));
    size_t after = stats_of(w->pool).reserved_bytes;
    ck_assert_msg(after <= keep || all_runs_live(w), "step %d: trim(%zu) left %zu reserved and an idle allocation",
                  w->step, keep, after);
    if (before > keep && w->threshold == SIZE_MAX)
        ck_assert_msg(after + MP__BACKED_RUN * sim_cfg.granule > keep || after == before, "step %d: trim(%zu) went from %zu to %zu", w->step,
                      keep, before, after);
}

/* What must hold between calls; trimmed: right after mp_pool_trim(p, 0). */
static void invariants(walk *w, bool trimmed)
{
    mp_status s = mp_pool_check(w->pool);
    ck_assert_msg(s == MP_OK, "step %d (%s): check: %s (%s)", w->step, w->what, mp_status_name(s),
                  mp_last_error_message());
    mp_stats st = stats_of(w->pool);
    mp__sim_usage u = usage(0);
    ck_assert_msg(u.violations == 0, "step %d (%s): %llu violations", w->step, w->what,
                  (unsigned long long)u.violations);
    ck_assert_msg(st.reserved_bytes == u.in_use, "step %d (%s): reserved %llu, device %zu", w->step, w->what,
                  (unsigned long long)st.reserved_bytes, u.in_use);
    ck_assert_msg(st.peak_reserved_bytes == u.peak, "step %d (%s): peak %llu, device peak %zu", w->step, w->what,
                  (unsigned long long)st.peak_reserved_bytes, u.peak);
    if (w->max_size)
        ck_assert_msg(st.reserved_bytes <= w->max_size, "step %d (%s): reserved %llu over max_size %zu", w->step,
                      w->what, (unsigned long long)st.reserved_bytes, w->max_size);
    ck_assert_msg(st.live_allocations == w->n, "step %d (%s): %llu live, model %zu", w->step, w->what,
                  (unsigned long long)st.live_allocations, w->n);
    size_t n = mappings(), sum = 0;
    for (size_t i = 0; i < n; i++) {
        size_t g = sim_cfg.granule;
        ck_assert_msg(map_size[i] && map_size[i] % g == 0 && map_size[i] <= MP__BACKED_RUN * g &&
                          (uintptr_t)map_va[i] % g == 0,
                      "step %d (%s): a mapping of %zu bytes at %p", w->step, w->what, map_size[i], map_va[i]);
        ck_assert_msg(!trimmed || on_live(w, (uintptr_t)map_va[i], map_size[i]),
                      "step %d (%s): trim(0) left %zu idle bytes mapped at %p", w->step, w->what, map_size[i],
                      map_va[i]);
        sum += map_size[i];
    }
    ck_assert_uint_eq(sum, u.in_use);
    for (size_t i = 0; i < w->n; i++) {
        size_t k = usable(w, w->p[i]);
        ck_assert_msg(mp__sim_mapped(w->p[i], k), "step %d (%s): live %p (%zu bytes) on unmapped memory", w->step,
                      w->what, w->p[i], k);
        for (size_t j = 0; j < i; j++) {
            size_t l = usable(w, w->p[j]);
            ck_assert_msg((uintptr_t)w->p[i] + k <= (uintptr_t)w->p[j] || (uintptr_t)w->p[j] + l <= (uintptr_t)w->p[i],
                          "step %d (%s): %p+%zu overlaps %p+%zu", w->step, w->what, w->p[i], k, w->p[j], l);
        }
    }
}

/* An allocation's answer: a block, or a clean refusal. */
static void answered(walk *w, mp_status s, void *p)
{
    if (s == MP_OK) {
        ck_assert_ptr_nonnull(p);
        if (w->n < LIVE_MAX)
            w->p[w->n++] = p;
        else
            ck_ok(mp_pool_deallocate(w->pool, p));
        return;
    }
    w->ooms += s == MP_ERR_OUT_OF_MEMORY;
    w->cudas += s == MP_ERR_CUDA;
    ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY || (w->failing && s == MP_ERR_CUDA), "step %d (%s): %s (%s)", w->step,
                  w->what, mp_status_name(s), mp_last_error_message());
    ck_assert_msg(strstr(mp_last_error_message(), "pool '") != NULL, "step %d (%s): bare detail \"%s\"", w->step,
                  w->what, mp_last_error_message());
}

static void free_at(walk *w, size_t i)
{
    void *p = w->p[i];
    w->p[i] = w->p[--w->n];
    ck_ok(mp_pool_deallocate(w->pool, p));
}

static void *const S1 = (void *)(uintptr_t)0x5000, *const S2 = (void *)(uintptr_t)0x6000;

static void step(walk *w)
{
    void *p = NULL, *stream = rnd(w, 2) ? S1 : S2;
    mp_status s;
    bool trimmed = false;
    if (w->failing && rnd(w, 8) == 0)
        mp__sim_fail_maps((unsigned)rnd(w, 3), 1 + (unsigned)rnd(w, 2));
    switch (rnd(w, 19)) {
    case 0: case 1: case 2: case 3: case 4:
        w->what = "allocate";
        s = mp_pool_allocate(w->pool, some_size(w), &p);
        answered(w, s, p);
        break;
    case 5:
        w->what = "allocate_aligned";
        s = mp_pool_allocate_aligned(w->pool, some_size(w), (size_t)256 << rnd(w, 19), &p);
        if (w->fixed && s == MP_ERR_INVALID_ARGUMENT)
            break; /* beyond a fixed pool's alignment */
        answered(w, s, p);
        break;
    case 6: case 7: case 8: case 9:
        w->what = "deallocate";
        if (w->n)
            free_at(w, rnd(w, w->n));
        break;
    case 10:
        w->what = "trim";
        mp__sim_sync_all(); /* blocks freed on streams go back in the trim: none keeps a run */
        if (rnd(w, 2)) {
            ck_ok(mp_pool_trim(w->pool, 0));
            trimmed = true;
        } else {
            trim_to(w, rnd(w, 80) * MiB);
        }
        break;
    case 11:
        w->what = "set_release_threshold";
        {
            size_t t[] = {0, GRANULE, 5 * MiB, RUN, 48 * MiB, SIZE_MAX};
            w->threshold = t[rnd(w, 6)];
            ck_ok(mp_pool_set_release_threshold(w->pool, w->threshold));
        }
        break;
    case 12:
        w->what = "advance";
        if (rnd(w, 2))
            mp__sim_sync(NULL);
        mp__sim_advance((uint64_t)rnd(w, 1200) * 1000000u);
        break;
    case 13:
        w->what = "reallocate";
        if (w->n) {
            size_t i = rnd(w, w->n);
            s = mp_pool_reallocate(w->pool, w->p[i], some_size(w), &p);
            if (s == MP_OK) {
                w->p[i] = p;
            } else {
                ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY || (w->failing && s == MP_ERR_CUDA),
                              "step %d: reallocate: %s (%s)", w->step, mp_status_name(s), mp_last_error_message());
            }
        }
        break;
    case 14:
        w->what = "reset";
        if (rnd(w, 6) == 0) {
            ck_ok(mp_pool_reset(w->pool));
            w->n = 0;
        }
        break;
    case 15:
        w->what = "free several";
        for (size_t k = rnd(w, 8); k-- > 0 && w->n;)
            free_at(w, rnd(w, w->n));
        break;
    case 16:
        w->what = "allocate_on_stream";
        s = mp_pool_allocate_on_stream(w->pool, some_size(w), stream, &p);
        answered(w, s, p);
        break;
    case 17:
        w->what = "deallocate_on_stream";
        if (w->n) {
            size_t i = rnd(w, w->n);
            p = w->p[i];
            w->p[i] = w->p[--w->n];
            ck_ok(mp_pool_deallocate_on_stream(w->pool, p, stream));
        }
        break;
    case 18:
        w->what = "sync";
        mp__sim_sync(stream);
        break;
    }
    invariants(w, trimmed);
}

/* A walk of steps on a fresh pool; at its end one small block stays while
 * the rest goes: trim(0) keeps the one allocation under it, then nothing. */
static void run_walk(const char *name, mp_config c, size_t memory, size_t granule, int steps, unsigned seed,
                     bool failing)
{
    mp__sim_end();
    sim_on_with(1, memory, granule);
    if (c.max_size && c.initial_size > c.max_size)
        c.initial_size = 0;
    mp_pool *pool = new_gpu_pool(name, c);
    walk w = {.pool = pool, .max_size = c.max_size, .fixed = c.allocator_type == MP_ALLOCATOR_FIXED_SIZE,
              .block_size = c.block_size, .failing = failing, .threshold = MP_DEFAULT_RELEASE_THRESHOLD,
              .seed = seed, .what = "create"};
    invariants(&w, false);
    for (w.step = 0; w.step < steps; w.step++)
        step(&w);
    mp__sim_fail_maps(0, 0);
    if (getenv("RUNS_TRACE"))
        fprintf(stderr, "%s: maps %llu unmaps %llu peak %zu oom %d cuda %d live %zu\n", name,
                (unsigned long long)usage(0).maps, (unsigned long long)usage(0).unmaps, usage(0).peak, w.ooms,
                w.cudas, w.n);
    w.what = "one small block";
    mp__sim_sync_all();
    void *small = NULL;
    mp_status s = mp_pool_allocate(pool, 256, &small);
    ck_assert_msg(s == MP_OK || s == MP_ERR_OUT_OF_MEMORY, "%s", mp_last_error_message());
    while (w.n)
        free_at(&w, w.n - 1);
    if (small)
        w.p[w.n++] = small;
    ck_ok(mp_pool_trim(pool, 0));
    invariants(&w, true);
    /* One allocation under each granule the block lies on at most (a fixed
     * pool's block is 3 MiB); one for 256 bytes within a granule. */
    size_t n = mappings(), k = small ? usable(&w, small) : 0;
    size_t g = sim_cfg.granule;
    size_t granules = small ? ((uintptr_t)small + k - 1) / g - (uintptr_t)small / g + 1 : 0;
    ck_assert_uint_ge(n, small != NULL);
    ck_assert_uint_le(n, granules);
    ck_assert_uint_le(usage(0).in_use, granules * MP__BACKED_RUN * g);
    while (w.n)
        free_at(&w, w.n - 1);
    mp__sim_sync_all();
    ck_ok(mp_pool_trim(pool, 0));
    w.what = "all freed, trim(0)";
    invariants(&w, true);
    ck_assert_uint_eq(stats_of(pool).reserved_bytes, 0);
    destroy_clean(pool);
    ck_assert_uint_eq(usage(0).maps, usage(0).unmaps);
}

/* Devices of 24 to 64 MiB: out of memory and reclaim_idle all the time. */
START_TEST(walks_on_small_devices_keep_runs_whole_and_the_device_in_step)
{
    size_t memory[] = {24 * MiB, 40 * MiB, 64 * MiB, 256 * MiB};
    for (unsigned k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "walk-%d-%u", _i, k);
        run_walk(name, preset(_i), memory[k], GRANULE, mp_test_scaled(2500), 7919u * (k + 1) + (unsigned)_i, false);
    }
}
END_TEST

/* The same with maps failing now and then, in the middle of multi-run acquires. */
START_TEST(walks_with_failing_maps_leak_nothing)
{
    size_t memory[] = {32 * MiB, 64 * MiB, 512 * MiB};
    for (unsigned k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "failing-%d-%u", _i, k);
        run_walk(name, preset(_i), memory[k], GRANULE, mp_test_scaled(2500), 104729u * (k + 1) + (unsigned)_i,
                 true);
    }
}
END_TEST

/* max_size of 16 granules and more (on demand): runs never pass it. */
START_TEST(walks_near_max_size_never_pass_it)
{
    size_t caps[] = {32 * MiB, 34 * MiB, 40 * MiB, 66 * MiB, 100 * MiB};
    for (unsigned k = 0; k < 5; k++) {
        mp_config c = preset(_i);
        c.max_size = caps[k];
        char name[32];
        snprintf(name, sizeof name, "cap-%d-%u", _i, k);
        run_walk(name, c, k % 2 ? 48 * MiB : 1024 * MiB, GRANULE, mp_test_scaled(2000),
                 15485863u * (k + 1) + (unsigned)_i, k == 4);
    }
}
END_TEST

/* Other granules: runs of 16 are 1 MiB of 64 KiB granules (96 of them
 * under the largest blocks), 128 MiB of 8 MiB ones (more than the device). */
START_TEST(walks_with_other_granules)
{
    size_t granule[] = {64 << 10, 512 << 10, 8 * MiB};
    size_t memory[] = {48 * MiB, 64 * MiB, 96 * MiB};
    for (unsigned k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "granule-%d-%u", _i, k);
        run_walk(name, preset(_i), memory[k], granule[k], mp_test_scaled(1500), 49157u * (k + 1) + (unsigned)_i,
                 k == 1);
    }
}
END_TEST

/* ---- a map failing part way ------------------------------------------------ */

/* 96 MiB is three allocations of 16 granules; the k-th fails: the ones
 * before it go back, the peak saw them, the error says what failed. */
START_TEST(a_map_failing_between_runs_gives_back_the_runs_before_it)
{
    for (unsigned k = 0; k < 3; k++) {
        mp__sim_end();
        sim_on(1, 1024 * MiB);
        mp_pool *p = new_gpu_pool("fail-part-way", preset(0));
        mp__sim_fail_maps(k, 1000); /* every map from the k+1-th on: an allocation may try twice */
        void *x = NULL;
        ck_status(mp_pool_allocate(p, 96 * MiB, &x), MP_ERR_CUDA);
        mp__sim_fail_maps(0, 0);
        ck_detail_has("no device memory for a 100663296-byte block");
        ck_detail_has("cuMemCreate of 33554432 bytes on device 0 failed");
        ck_assert_ptr_null(x);
        ck_assert_uint_eq(usage(0).in_use, 0);
        ck_assert_uint_eq(usage(0).maps, k);
        ck_assert_uint_eq(usage(0).unmaps, k);
        ck_assert_uint_eq(usage(0).peak, k * RUN);
        mp_stats st = stats_of(p);
        ck_assert_uint_eq(st.reserved_bytes, 0);
        ck_assert_uint_eq(st.peak_reserved_bytes, k * RUN);
        ck_assert_uint_eq(st.live_allocations, 0);
        ck_intact(p);
        ck_assert_uint_eq(mappings(), 0);
        /* The pool works afterwards: the same request, three maps. */
        x = alloc_ok(p, 96 * MiB);
        ck_assert_uint_eq(usage(0).maps, k + 3);
        ck_assert(mp__sim_mapped(x, 96 * MiB));
        ck_assert_uint_eq(stats_of(p).reserved_bytes, 96 * MiB);
        ck_intact(p);
        ck_ok(mp_pool_deallocate(p, x));
        ck_ok(mp_pool_trim(p, 0));
        ck_assert_uint_eq(usage(0).in_use, 0);
        destroy_clean(p);
    }
}
END_TEST

/* A run mapped before the acquire, between its missing runs, is not the
 * acquire's to give back when a later map fails. */
START_TEST(a_failed_acquire_keeps_the_runs_it_did_not_map)
{
    mp_pool *p = new_gpu_pool("keeps-older", preset(0));
    ck_ok(mp_pool_set_release_threshold(p, SIZE_MAX));
    void *a = alloc_ok(p, 40 * MiB); /* runs [0, 16) and [16, 20) */
    ck_assert_uint_eq(usage(0).maps, 2);
    ck_ok(mp_pool_deallocate(p, a));
    void *pin = alloc_ok(p, 256); /* at 0: run [0, 16) stays */
    ck_assert_ptr_eq(pin, a);
    ck_ok(mp_pool_trim(p, 0)); /* run [16, 20) goes */
    ck_ok(mp_pool_deallocate(p, pin));
    ck_assert_uint_eq(usage(0).in_use, RUN);
    /* 96 MiB at 0: [0, 16) is there, [16, 32) maps, [32, 48) fails. */
    mp__sim_fail_maps(1, 1000);
    void *x = NULL;
    ck_status(mp_pool_allocate(p, 96 * MiB, &x), MP_ERR_CUDA);
    mp__sim_fail_maps(0, 0);
    ck_assert_uint_eq(usage(0).in_use, RUN);
    ck_assert_uint_eq(usage(0).peak, 2 * RUN);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, RUN);
    ck_assert_uint_eq(stats_of(p).peak_reserved_bytes, 2 * RUN);
    ck_assert_uint_eq(mappings(), 1);
    ck_assert_ptr_eq(map_va[0], a);
    ck_intact(p);
    x = alloc_ok(p, 96 * MiB);
    ck_assert_ptr_eq(x, a);
    ck_assert(mp__sim_mapped(x, 96 * MiB));
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, x));
    destroy_clean(p);
}
END_TEST

/* The device runs out in the middle of a multi-run acquire: the run before
 * goes back, the peak counts it, nothing is idle to reclaim, the answer is
 * out of memory, and the pool serves what fits afterwards. */
START_TEST(the_device_running_out_between_runs_is_a_clean_out_of_memory)
{
    mp__sim_end();
    sim_on(1, 64 * MiB);
    mp_pool *p = new_gpu_pool("oom-part-way", preset(0));
    void *l = alloc_ok(p, 16 * MiB);
    void *x = NULL;
    ck_status(mp_pool_allocate(p, 96 * MiB, &x), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("no device memory for a 100663296-byte block");
    ck_detail_has("cudaErrorMemoryAllocation");
    ck_assert_uint_eq(usage(0).in_use, 16 * MiB);
    ck_assert_uint_eq(usage(0).peak, 16 * MiB + RUN); /* the first run was there for a moment */
    ck_assert_uint_eq(stats_of(p).peak_reserved_bytes, usage(0).peak);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 16 * MiB);
    ck_intact(p);
    x = alloc_ok(p, 48 * MiB); /* what the device has left */
    ck_assert(mp__sim_mapped(x, 48 * MiB));
    ck_assert_uint_eq(usage(0).in_use, 64 * MiB);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, l));
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(usage(0).in_use, 0);
    destroy_clean(p);
}
END_TEST

/* A moving reallocate whose new block fails to map keeps the old one. */
START_TEST(a_reallocate_whose_map_fails_keeps_the_block)
{
    mp_pool *p = new_gpu_pool("realloc-fail", preset(0));
    void *a = alloc_ok(p, 8 * MiB);
    size_t before = usage(0).in_use;
    mp__sim_fail_maps(1, 1000);
    void *b = NULL;
    ck_status(mp_pool_reallocate(p, a, 96 * MiB, &b), MP_ERR_CUDA);
    mp__sim_fail_maps(0, 0);
    ck_assert_uint_eq(usage(0).peak, before + RUN); /* its first allocation, for a moment */
    ck_assert_ptr_null(b);
    ck_assert_uint_eq(usage(0).in_use, before);
    ck_assert_uint_eq(stats_of(p).live_allocations, 1);
    ck_assert(mp__sim_mapped(a, 8 * MiB));
    ck_intact(p);
    ck_ok(mp_pool_reallocate(p, a, 96 * MiB, &b));
    ck_assert(mp__sim_mapped(b, 96 * MiB));
    ck_ok(mp_pool_deallocate(p, b));
    destroy_clean(p);
}
END_TEST

/* ---- max_size ---------------------------------------------------------------- */

/* A default pool under max_size that keeps idle memory until told. */
static mp_pool *capped_pool(const char *name, size_t max_size)
{
    mp_config c = preset(0);
    c.max_size = max_size;
    mp_pool *p = new_gpu_pool(name, c);
    ck_ok(mp_pool_set_release_threshold(p, SIZE_MAX));
    return p;
}

/* Under a cap, whole idle allocations go to make room, and a partly live
 * one cannot: the request is refused rather than passing max_size. */
START_TEST(under_max_size_only_whole_idle_runs_make_room)
{
    mp_pool *p = capped_pool("cap-runs", 48 * MiB);
    void *a = alloc_ok(p, 32 * MiB), *b = alloc_ok(p, 2 * MiB); /* runs [0, 16) and [16, 17) */
    ck_ok(mp_pool_deallocate(p, a));
    /* 40 MiB fits no hole of the 48 MiB span: a second span; 34 + 40 would
     * pass 48, so the idle run [0, 16) goes, whole, and 20 granules map. */
    void *x = alloc_ok(p, 40 * MiB);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 42 * MiB);
    ck_assert_uint_eq(usage(0).in_use, 42 * MiB);
    ck_assert_uint_eq(stats_of(p).peak_reserved_bytes, 42 * MiB);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(usage(0).in_use, 0);
    /* Now a run kept by a small block: its idle granules cannot go. */
    a = alloc_ok(p, 32 * MiB);
    ck_ok(mp_pool_deallocate(p, a));
    void *pin = alloc_ok(p, 256); /* on [0, 16) */
    ck_assert_uint_eq(usage(0).in_use, RUN);
    /* 48 MiB fits no hole of the first span; 32 + 48 would pass 48. */
    x = NULL;
    ck_status(mp_pool_allocate(p, 48 * MiB, &x), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("max_size");
    ck_assert_uint_le(stats_of(p).reserved_bytes, 48 * MiB);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, usage(0).in_use);
    ck_assert_uint_eq(usage(0).in_use, RUN); /* the partly live run stayed whole */
    ck_intact(p);
    x = alloc_ok(p, 40 * MiB); /* at 256, on [0, 21): five granules more */
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 42 * MiB);
    ck_assert_uint_le(stats_of(p).reserved_bytes, 48 * MiB);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, pin));
    destroy_clean(p);
}
END_TEST

/* Under a cap, reclaim goes from the top, whole allocations at a time, and
 * may first give back an idle one under the very block it makes room for:
 * that block then needs more, and the idle memory below must go too.
 * Span 0 is 20 granules (max_size 40 MiB); g: granule. */
START_TEST(under_max_size_idle_runs_go_until_the_block_fits)
{
    mp_pool *p = capped_pool("cap-order", 40 * MiB);
    char *f1 = alloc_ok(p, 14 * MiB);              /* g0-6 */
    char *t1 = alloc_ok(p, 256);                   /* g7, its own allocation */
    char *f2 = alloc_ok(p, 14 * MiB - 512);        /* g7-13: g8-13 one allocation */
    char *t2 = alloc_ok(p, 256);                   /* g13: keeps g8-13 */
    char *f3 = alloc_ok(p, 12 * MiB);              /* g14-19 */
    ck_assert_ptr_eq(t1, f1 + 14 * MiB);
    ck_assert_ptr_eq(t2, f1 + 28 * MiB - 256);
    ck_assert_ptr_eq(f3, f1 + 28 * MiB);
    ck_assert_uint_eq(usage(0).in_use, 40 * MiB);
    ck_ok(mp_pool_deallocate(p, f1));
    ck_ok(mp_pool_deallocate(p, f2));
    ck_ok(mp_pool_deallocate(p, f3));
    /* No hole of span 0 holds 16 MiB: q goes to a second span. */
    char *q = alloc_ok(p, 16 * MiB);
    ck_assert((uintptr_t)q + 16 * MiB <= (uintptr_t)f1 || (uintptr_t)q >= (uintptr_t)f1 + 40 * MiB);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(usage(0).in_use, 30 * MiB); /* g7, g8-13, q's 8 */
    char *u1 = alloc_ok(p, 2 * MiB), *u2 = alloc_ok(p, 2 * MiB); /* g14 and g15, one allocation each */
    ck_assert_ptr_eq(u1, f3);
    ck_assert_ptr_eq(u2, f3 + 2 * MiB);
    ck_assert_uint_eq(usage(0).in_use, 34 * MiB);
    ck_ok(mp_pool_deallocate(p, u1));
    ck_ok(mp_pool_deallocate(p, u2));
    ck_ok(mp_pool_deallocate(p, t1)); /* g7 idle */
    /* 12 MiB on g14-19: g16-19 to map, 34 + 8 > 40 by a granule. From the
     * top, g15 goes (the block's own), so it needs a granule more: the
     * rest of the idle memory, g14 and g7, must go too (a plain request
     * that fails tries twice: a second try finds g14 on top, then g7). */
    char *x = alloc_ok(p, 12 * MiB);
    ck_assert_ptr_eq(x, f3);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 40 * MiB);
    ck_assert_uint_eq(usage(0).in_use, 40 * MiB);
    ck_assert(mp__sim_mapped(x, 12 * MiB));
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, t2));
    ck_ok(mp_pool_deallocate(p, q));
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(usage(0).in_use, 0);
    destroy_clean(p);
}
END_TEST

/* ---- release ------------------------------------------------------------------ */

/* The allocation fast path trusts granules [0, lo) to be mapped: a run
 * that trim gave back below one that stays must map again when used. */
START_TEST(a_run_given_back_below_a_kept_one_maps_again)
{
    mp_pool *p = new_gpu_pool("below-lo", preset(0));
    void *big = alloc_ok(p, 64 * MiB); /* runs [0, 16) and [16, 32) */
    ck_ok(mp_pool_deallocate(p, big));
    void *f = alloc_ok(p, 34 * MiB), *pin = alloc_ok(p, 256); /* pin on granule 17 */
    ck_assert_ptr_eq(pin, (char *)big + 34 * MiB);
    ck_ok(mp_pool_deallocate(p, f));
    ck_ok(mp_pool_trim(p, 0)); /* [0, 16) goes, [16, 32) stays whole */
    ck_assert_uint_eq(usage(0).in_use, RUN);
    ck_assert_uint_eq(mappings(), 1);
    ck_assert_ptr_eq(map_va[0], (char *)big + RUN);
    uint64_t maps = usage(0).maps;
    void *y = alloc_ok(p, 4 * MiB);
    ck_assert_ptr_eq(y, big);
    ck_assert_uint_eq(usage(0).maps, maps + 1);
    ck_assert(mp__sim_mapped(y, 4 * MiB));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, RUN + 4 * MiB);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, y));
    ck_ok(mp_pool_deallocate(p, pin));
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(usage(0).in_use, 0);
    destroy_clean(p);
}
END_TEST

/* With one small block left, trim keeps the one allocation under it; a
 * block across two allocations keeps both; none left, nothing stays. */
START_TEST(trim_keeps_the_allocations_under_live_blocks_only)
{
    mp_pool *p = new_gpu_pool("trim-runs", preset(_i));
    void *big = alloc_ok(p, 96 * MiB);
    void *more = alloc_ok(p, 40 * MiB);
    ck_assert_uint_eq(usage(0).maps, 5); /* 16 + 16 + 16, 16 + 4 */
    ck_ok(mp_pool_deallocate(p, big));
    ck_ok(mp_pool_deallocate(p, more));
    void *small = alloc_ok(p, 300);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(mappings(), 1);
    ck_assert_uint_le(usage(0).in_use, RUN);
    ck_assert_uint_eq(usage(0).in_use, stats_of(p).reserved_bytes);
    ck_assert((uintptr_t)small >= (uintptr_t)map_va[0] && (uintptr_t)small + 300 <= (uintptr_t)map_va[0] + map_size[0]);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, small));
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
    ck_assert_uint_eq(usage(0).in_use, 0);
    { /* a block across the boundary of two allocations keeps both */
        void *a = alloc_ok(p, 64 * MiB);
        ck_ok(mp_pool_deallocate(p, a));
        void *f = alloc_ok(p, RUN - 4096), *x = alloc_ok(p, 8192);
        ck_assert_ptr_eq(x, (char *)a + RUN - 4096);
        ck_ok(mp_pool_deallocate(p, f));
        ck_ok(mp_pool_trim(p, 0));
        ck_assert_uint_eq(mappings(), 2);
        ck_assert_uint_eq(usage(0).in_use, 2 * RUN);
        ck_intact(p);
        ck_ok(mp_pool_deallocate(p, x));
        ck_ok(mp_pool_trim(p, 0));
        ck_assert_uint_eq(usage(0).in_use, 0);
    }
    destroy_clean(p);
}
END_TEST

/* The decay gives back an allocation only once its last granule has been
 * idle a decay: a granule freed late, not the allocation's first, holds it. */
START_TEST(the_decay_waits_for_the_last_granule_of_an_allocation)
{
    mp_pool *p = new_gpu_pool("decay-runs", preset(0));
    ck_ok(mp_pool_set_release_threshold(p, 0));
    void *big = alloc_ok(p, 64 * MiB); /* runs R0 = [0, 16), R1 = [16, 32) */
    ck_ok(mp_pool_deallocate(p, big));
    /* A 4 KiB hole at 0 for the frees that drive the decay (they stay on R0,
     * which u keeps), then x on granule 20, inside R1, not its first. */
    void *t = alloc_ok(p, 4096), *u = alloc_ok(p, 4096);
    ck_assert_ptr_eq(t, big);
    ck_ok(mp_pool_deallocate(p, t));
    void *f = alloc_ok(p, 40 * MiB), *x = alloc_ok(p, MiB);
    ck_assert_uint_eq(((uintptr_t)x - (uintptr_t)big) / GRANULE, 20);
    ck_ok(mp_pool_deallocate(p, f));
    mp__sim_sync(NULL);
    mp__sim_advance(1100000000ull);
    frees_go_on(p, t);
    mp__sim_sync(NULL);
    mp__sim_advance(1100000000ull);
    frees_go_on(p, t);
    ck_assert_uint_eq(usage(0).in_use, 2 * RUN); /* x keeps R1, u keeps R0 */
    ck_ok(mp_pool_deallocate(p, x));
    /* R1's granules 16-19 and 21-31 have been idle for seconds, 20 not.
     * The last frees marked a boundary just now, so the next comes half a
     * decay from now at the soonest, and granule 20 (idle since after this
     * one) may go a decay after that: not before 1.5 s, and by 1.6 s with
     * frees every 0.1 s. R1's first granule went idle long ago: that is
     * not enough. */
    uint64_t freed_at = mp__sim_clock_ns(), went = 0;
    for (int i = 0; i < 30 && !went; i++) {
        mp__sim_sync(NULL);
        frees_go_on(p, t);
        if (usage(0).in_use < 2 * RUN)
            went = mp__sim_clock_ns() - freed_at;
        else
            mp__sim_advance(100000000ull);
    }
    ck_assert_uint_eq(usage(0).in_use, RUN); /* R1 went, whole */
    ck_assert_msg(went >= 3 * MP__DECAY_NS / 2 && went <= 16 * MP__DECAY_NS / 10, "R1 went %llu ns after x's free",
                  (unsigned long long)went);
    ck_assert_uint_eq(mappings(), 1);
    ck_assert_ptr_eq(map_va[0], big);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, RUN);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, u));
    destroy_clean(p);
}
END_TEST

/* Destroy gives back every allocation, live, idle and partly live. */
START_TEST(destroy_gives_back_every_allocation)
{
    mp_pool *p = new_gpu_pool("destroy-runs", preset(_i));
    ck_ok(mp_pool_set_release_threshold(p, SIZE_MAX));
    void *a = alloc_ok(p, 96 * MiB), *b = alloc_ok(p, 40 * MiB), *c = alloc_ok(p, 3 * MiB);
    (void)alloc_ok(p, 1000);
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_deallocate(p, a));
    (void)alloc_ok(p, 256); /* on a's first allocation */
    (void)c;
    ck_assert_uint_gt(usage(0).in_use, 0);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use, 0);
    ck_assert_uint_eq(usage(0).maps, usage(0).unmaps);
    ck_assert_uint_eq(mappings(), 0);
    ck_assert_uint_eq(usage(0).violations, 0);
}
END_TEST

/* ---- fork, devices, threads ------------------------------------------------ */

#define CHILD_OK(cond) do { if (!(cond)) { fprintf(stderr, "child: %s failed (%s)\n", #cond, mp_last_error_message()); _exit(3); } } while (0)

/* A forked child may use the pool (runs mapped, idle and partly live) or
 * leave it alone; the parent's pool and device are untouched either way. */
START_TEST(a_forked_child_uses_runs_or_leaves_them)
{
    mp_pool *p = new_gpu_pool("fork-runs", preset(_i % 2));
    void *a = alloc_ok(p, 96 * MiB), *b = alloc_ok(p, 40 * MiB);
    ck_ok(mp_pool_deallocate(p, a));
    void *pin = alloc_ok(p, 256);
    size_t in_use = usage(0).in_use;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (_i < 2) {
            void *x = NULL;
            CHILD_OK(mp_pool_allocate(p, 72 * MiB, &x) == MP_OK);
            CHILD_OK(mp__sim_mapped(x, 72 * MiB));
            CHILD_OK(mp_pool_deallocate(p, x) == MP_OK);
            CHILD_OK(mp_pool_deallocate(p, b) == MP_OK);
            CHILD_OK(mp_pool_trim(p, 0) == MP_OK);
            CHILD_OK(mp_pool_check(p) == MP_OK);
            CHILD_OK(usage(0).in_use <= RUN);
            CHILD_OK(mp_pool_deallocate(p, pin) == MP_OK);
            CHILD_OK(mp_pool_trim(p, 0) == MP_OK);
            CHILD_OK(usage(0).in_use == 0);
            CHILD_OK(mp_pool_destroy(p) == MP_OK);
            CHILD_OK(usage(0).violations == 0);
        }
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x", status);
    ck_assert_uint_eq(usage(0).in_use, in_use);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, in_use);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_deallocate(p, pin));
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(usage(0).in_use, 0);
    destroy_clean(p);
}
END_TEST

/* An empty pool moved between two devices maps its runs on the new one and
 * leaves none behind. */
START_TEST(set_device_takes_no_run_along)
{
    mp__sim_end();
    sim_on(2, 128 * MiB);
    mp_pool *p = new_gpu_pool("two-devices", preset(_i));
    for (int round = 0; round < 3; round++) {
        int d = round % 2, other = !d;
        void *a = alloc_ok(p, 96 * MiB);
        ck_assert(mp__sim_mapped(a, 96 * MiB));
        ck_assert_uint_eq(usage(d).in_use, 96 * MiB);
        ck_assert_uint_eq(usage(other).in_use, 0);
        ck_ok(mp_pool_deallocate(p, a));
        void *pin = alloc_ok(p, 256); /* keeps one allocation: the move must wait */
        ck_status(mp_pool_set_device(p, other), MP_ERR_INVALID_OPERATION);
        ck_ok(mp_pool_deallocate(p, pin));
        ck_ok(mp_pool_trim(p, RUN)); /* the thread caches' blocks too (they count as live) */
        ck_assert_uint_gt(usage(d).in_use, 0); /* idle, mapped */
        ck_ok(mp_pool_set_device(p, other));
        ck_assert_uint_eq(usage(d).in_use, 0);
        ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
        ck_intact(p);
    }
    ck_assert_uint_eq(usage(0).maps, usage(0).unmaps);
    ck_assert_uint_eq(usage(1).maps, usage(1).unmaps);
    ck_assert_uint_ge(usage(1).maps, 3);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use + usage(1).in_use, 0);
    ck_assert_uint_eq(usage(0).violations, 0);
}
END_TEST

typedef struct racer {
    mp_pool *pool;
    unsigned seed;
    bool failing;
    char why[256];
} racer;

#define RFAIL(r, ...) do { if (!(r)->why[0]) snprintf((r)->why, sizeof (r)->why, __VA_ARGS__); } while (0)

static void *race(void *arg)
{
    racer *r = arg;
    void *held[24] = {0};
    for (int i = 0; i < mp_test_scaled(3000) && !r->why[0]; i++) {
        unsigned op = (unsigned)rand_r(&r->seed) % 12;
        int k = rand_r(&r->seed) % 24;
        if (op < 8) {
            if (held[k]) {
                if (mp_pool_deallocate(r->pool, held[k]) != MP_OK)
                    RFAIL(r, "free: %s", mp_last_error_message());
                held[k] = NULL;
                continue;
            }
            size_t top = (size_t)256 << (rand_r(&r->seed) % 18);
            size_t n = top + (size_t)rand_r(&r->seed) % top;
            mp_status s = mp_pool_allocate(r->pool, n > 48 * MiB ? 48 * MiB : n, &held[k]);
            if (s == MP_OK && !mp__sim_mapped(held[k], n > 48 * MiB ? 48 * MiB : n))
                RFAIL(r, "block %p of %zu bytes on unmapped memory", held[k], n);
            else if (s != MP_OK && s != MP_ERR_OUT_OF_MEMORY && !(r->failing && s == MP_ERR_CUDA))
                RFAIL(r, "allocate: %s", mp_last_error_message());
            if (s != MP_OK)
                held[k] = NULL;
        } else if (op == 8) {
            mp_pool_trim(r->pool, rand_r(&r->seed) % 2 ? 0 : 40 * MiB);
        } else if (op == 9) {
            mp_pool_set_release_threshold(r->pool, rand_r(&r->seed) % 2 ? 0 : RUN);
            mp__sim_advance(200000000u);
            mp__sim_sync(NULL);
        } else if (op == 10) {
            if (mp_pool_check(r->pool) != MP_OK)
                RFAIL(r, "check: %s", mp_last_error_message());
        } else if (r->failing) {
            mp__sim_fail_maps((unsigned)rand_r(&r->seed) % 4, 1);
        }
    }
    for (int k = 0; k < 24; k++)
        if (held[k] && mp_pool_deallocate(r->pool, held[k]) != MP_OK)
            RFAIL(r, "final free: %s", mp_last_error_message());
    return NULL;
}

/* Threads allocate, free, trim and decay at once (the thread-safe preset,
 * and the one with thread caches), with maps failing now and then. */
START_TEST(threads_map_and_give_back_runs_at_once)
{
    for (int failing = 0; failing < 2; failing++) {
        mp__sim_end();
        sim_on(1, 192 * MiB);
        mp_pool *p = new_gpu_pool("race-runs", preset(_i));
        enum { N = 4 };
        pthread_t t[N];
        racer r[N];
        for (int i = 0; i < N; i++) {
            r[i] = (racer){.pool = p, .seed = (unsigned)(i * 7919 + _i * 31 + failing + 1), .failing = failing};
            pthread_create(&t[i], NULL, race, &r[i]);
        }
        for (int i = 0; i < N; i++)
            pthread_join(t[i], NULL);
        mp__sim_fail_maps(0, 0);
        for (int i = 0; i < N; i++)
            ck_assert_msg(!r[i].why[0], "thread %d: %s", i, r[i].why);
        ck_intact(p);
        mp_stats st = stats_of(p);
        ck_assert_uint_eq(st.live_allocations, 0);
        ck_assert_uint_eq(st.reserved_bytes, usage(0).in_use);
        ck_assert_uint_eq(st.peak_reserved_bytes, usage(0).peak);
        ck_assert_uint_eq(usage(0).violations, 0);
        ck_ok(mp_pool_trim(p, 0));
        ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
        ck_assert_uint_eq(usage(0).in_use, 0);
        ck_ok(mp_pool_destroy(p));
        ck_assert_uint_eq(usage(0).maps, usage(0).unmaps);
        ck_assert_uint_eq(usage(0).violations, 0);
    }
}
END_TEST

static Suite *runs_suite(void)
{
    Suite *s = suite_create("backing_runs");
    TCase *w = tcase_create("walks");
    tcase_add_checked_fixture(w, setup, teardown);
    tcase_set_timeout(w, 300);
    tcase_add_loop_test(w, walks_on_small_devices_keep_runs_whole_and_the_device_in_step, 0, 3);
    tcase_add_loop_test(w, walks_with_failing_maps_leak_nothing, 0, 3);
    tcase_add_loop_test(w, walks_near_max_size_never_pass_it, 0, 3);
    tcase_add_loop_test(w, walks_with_other_granules, 0, 3);
    tcase_add_loop_test(w, threads_map_and_give_back_runs_at_once, 0, 2);
    suite_add_tcase(s, w);
    TCase *t = tcase_create("runs");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, a_map_failing_between_runs_gives_back_the_runs_before_it);
    tcase_add_test(t, a_failed_acquire_keeps_the_runs_it_did_not_map);
    tcase_add_test(t, the_device_running_out_between_runs_is_a_clean_out_of_memory);
    tcase_add_test(t, a_reallocate_whose_map_fails_keeps_the_block);
    tcase_add_test(t, under_max_size_only_whole_idle_runs_make_room);
    tcase_add_test(t, under_max_size_idle_runs_go_until_the_block_fits);
    tcase_add_test(t, a_run_given_back_below_a_kept_one_maps_again);
    tcase_add_loop_test(t, trim_keeps_the_allocations_under_live_blocks_only, 0, 2);
    tcase_add_test(t, the_decay_waits_for_the_last_granule_of_an_allocation);
    tcase_add_loop_test(t, destroy_gives_back_every_allocation, 0, 2);
    tcase_add_loop_test(t, a_forked_child_uses_runs_or_leaves_them, 0, 3);
    tcase_add_loop_test(t, set_device_takes_no_run_along, 0, 2);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(runs_suite)
