/* Attacks on GPU pools whose memory is mapped on demand (core/backing.h),
 * stream-ordered frees and steals (gpu/stream.c), on the host-side
 * stand-in for a device (backend/cuda_sim.h). A model of the live blocks
 * checks, after every call, what must hold whatever the calls were:
 *
 *  - mp_pool_check is MP_OK, live_allocations matches the model;
 *  - reserved_bytes is the stand-in's device usage, and (one pool) the
 *    peaks agree;
 *  - every live block lies on device memory (mp__sim_mapped);
 *  - a block goes to work on a stream only once every earlier use of its
 *    bytes has completed or that stream waits for it (mp__sim_watch: each
 *    free first tells the stand-in that the stream it is ordered on uses
 *    the block; mp__sim_handout_safe);
 *  - nothing is unmapped under work that may still use it, mapped twice,
 *    unmapped twice, or left mapped in freed address space (the stand-in's
 *    violations);
 *  - max_size bounds reserved_bytes; destroy gives all device memory back.
 *
 * The test hooks mp__sim_mapped/_watch/_handout_safe and the violations
 * count were added to the stand-in for this suite. */
#include "mp_test.h"

#include "backend/cuda_sim.h"

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)
#define GRANULE (2 * MiB)

static mp__sim_config sim_cfg;

static void sim_on(int devices, size_t memory, size_t granule)
{
    sim_cfg = (mp__sim_config){.devices = devices, .memory = memory, .granule = granule};
    mp__sim_begin(&sim_cfg);
}

/* A fresh device of the same kind: its peak is the next pool's alone. */
static void sim_again(void)
{
    mp__sim_end();
    mp__sim_begin(&sim_cfg);
}

static void setup(void) { sim_on(1, 1024 * MiB, GRANULE); }
static void teardown(void) { mp__sim_end(); }

static mp__sim_usage usage(int device)
{
    mp__sim_usage u;
    mp__sim_usage_get(device, &u);
    return u;
}

/* p intact, destroyed, and nothing left on either device, nothing done
 * that a device would not forgive. */
static void destroyed_clean(mp_pool *p)
{
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use + usage(1).in_use, 0);
    ck_assert_uint_eq(usage(0).violations, 0);
}

static void *const S1 = (void *)(uintptr_t)0x5000, *const S2 = (void *)(uintptr_t)0x6000,
                  *const S3 = (void *)(uintptr_t)0x7000;

#define TRACE(...) (getenv("ATTACK_TRACE") ? (void)fprintf(stderr, __VA_ARGS__) : (void)0)

/* ---- the model ----------------------------------------------------------- */

#define LIVE_MAX 512

typedef struct model {
    mp_pool *pool;
    void *pool_stream;
    size_t max_size;   /* 0: none */
    bool one_pool;     /* the stand-in's figures are this pool's alone */
    bool fixed;
    bool debug;
    size_t block_size; /* fixed pools */
    int device;
    void *p[LIVE_MAX];
    void *home[LIVE_MAX]; /* the stream whose order p[i] was last handed or used in (the pool's after a reallocate) */
    size_t n;
    unsigned seed;
    const char *what; /* the last operation, for messages */
} model;

static void model_init(model *m, mp_pool *pool, size_t max_size, unsigned seed)
{
    *m = (model){.pool = pool, .max_size = max_size, .one_pool = true, .seed = seed, .what = "create"};
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_pool_get_config(pool, &c));
    m->fixed = c.allocator_type == MP_ALLOCATOR_FIXED_SIZE;
    m->block_size = c.block_size;
    m->debug = c.enable_debugging;
    ck_ok(mp_pool_get_device(pool, &m->device));
}

static size_t usable(const model *m, void *p)
{
    size_t n = 0;
    mp_status s = mp_pool_usable_size(m->pool, p, &n);
    ck_assert_msg(s == MP_OK, "after %s: live block %p: %s (%s)", m->what, p, mp_status_name(s),
                  mp_last_error_message());
    return n;
}

/* Everything that must hold while no call runs. */
static void invariants(model *m)
{
    mp_status s = mp_pool_check(m->pool);
    ck_assert_msg(s == MP_OK, "after %s: mp_pool_check: %s (%s)", m->what, mp_status_name(s), mp_last_error_message());
    mp_stats st = stats_of(m->pool);
    mp__sim_usage u = usage(m->device);
    ck_assert_msg(u.violations == 0, "after %s: %llu device violations", m->what, (unsigned long long)u.violations);
    if (m->one_pool) {
        ck_assert_msg(st.reserved_bytes == u.in_use, "after %s: reserved %llu, device in use %zu", m->what,
                      (unsigned long long)st.reserved_bytes, u.in_use);
        ck_assert_msg(st.peak_reserved_bytes == u.peak, "after %s: peak reserved %llu, device peak %zu", m->what,
                      (unsigned long long)st.peak_reserved_bytes, u.peak);
    }
    if (m->max_size)
        ck_assert_msg(st.reserved_bytes <= m->max_size, "after %s: reserved %llu over max_size %zu", m->what,
                      (unsigned long long)st.reserved_bytes, m->max_size);
    ck_assert_msg(st.live_allocations == m->n, "after %s: %llu live, the model has %zu", m->what,
                  (unsigned long long)st.live_allocations, m->n);
    for (size_t i = 0; i < m->n; i++) {
        size_t n = usable(m, m->p[i]);
        ck_assert_msg(mp__sim_mapped(m->p[i], n), "after %s: live block %p (%zu bytes) lies on unmapped memory",
                      m->what, m->p[i], n);
    }
}

/* A new block for work on stream: safe to hand there, and not overlapping
 * a live one. */
static void handed(model *m, void *p, void *stream)
{
    size_t n = usable(m, p);
    ck_assert_msg(mp__sim_handout_safe(p, n, stream),
                  "after %s: %p (%zu bytes) handed to stream %p while earlier work may still use it", m->what, p, n,
                  stream);
    for (size_t i = 0; i < m->n; i++) {
        size_t k = usable(m, m->p[i]);
        ck_assert_msg((uintptr_t)p + n <= (uintptr_t)m->p[i] || (uintptr_t)m->p[i] + k <= (uintptr_t)p,
                      "after %s: %p overlaps live %p", m->what, p, m->p[i]);
    }
    ck_assert_uint_lt(m->n, LIVE_MAX);
    TRACE("%s -> %p+%zu for %p\n", m->what, p, n, stream);
    m->home[m->n] = stream;
    m->p[m->n++] = p;
}

static size_t rnd(model *m, size_t n) { return (size_t)rand_r(&m->seed) % n; }

static size_t some_size(model *m)
{
    if (m->fixed)
        return 1 + rnd(m, m->block_size);
    size_t top = (size_t)1 << rnd(m, 24); /* up to 8 MiB, log-uniform */
    return top + rnd(m, top);
}

static void *some_stream(model *m)
{
    void *s[] = {NULL, S1, S2, S3};
    return s[rnd(m, 4)];
}

static void drop(model *m, size_t i)
{
    m->n--;
    m->p[i] = m->p[m->n];
    m->home[i] = m->home[m->n];
}

/* What a caller does before freeing on stream a block that was handed to,
 * or used on, another stream (home): stream waits for that work (an event
 * and cudaStreamWaitEvent). mp_pool_deallocate_on_stream orders the free
 * after stream's work only, as cudaFreeAsync does, and a block freed on a
 * stream goes back to that stream's own allocations at once. */
static void order_after(void *stream, void *home)
{
    void *ev = NULL;
    if (stream != home && mp__sim_event_record(0, home, &ev) == MP_OK) {
        mp__sim_stream_wait(stream, ev);
        mp__sim_event_drop(ev);
    }
}

/* Frees live block i ordered on stream (the pool's: plain), and checks a
 * second free of it is refused. */
static void free_one(model *m, size_t i, void *stream, bool plain)
{
    void *p = m->p[i];
    order_after(plain ? m->pool_stream : stream, m->home[i]);
    mp__sim_watch(p, usable(m, p), stream);
    TRACE("%s %p on %p%s\n", m->what, p, stream, plain ? " (plain)" : "");
    drop(m, i);
    if (plain)
        ck_ok(mp_pool_deallocate(m->pool, p));
    else
        ck_ok(mp_pool_deallocate_on_stream(m->pool, p, stream));
    if (rnd(m, 4) == 0) { /* a double free: ordered, or on a stream */
        mp_status s = rnd(m, 2) ? mp_pool_deallocate(m->pool, p) : mp_pool_deallocate_on_stream(m->pool, p, some_stream(m));
        ck_assert_msg(s == MP_ERR_INVALID_POINTER, "double free of %p (%s): %s", p, m->what, mp_status_name(s));
    }
}

/* One random operation. */
static void step(model *m)
{
    void *p = NULL, *stream;
    size_t n;
    mp_status s;
    switch (rnd(m, 21)) {
    case 0: case 1: case 2: case 3:
        m->what = "allocate";
        s = mp_pool_allocate(m->pool, some_size(m), &p);
        if (s == MP_OK)
            handed(m, p, m->pool_stream);
        else
            ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY, "allocate: %s (%s)", mp_status_name(s), mp_last_error_message());
        break;
    case 4: case 5: case 6:
        m->what = "allocate_on_stream";
        stream = some_stream(m);
        s = mp_pool_allocate_on_stream(m->pool, some_size(m), stream, &p);
        if (s == MP_OK)
            handed(m, p, stream);
        else
            ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY, "allocate_on_stream: %s (%s)", mp_status_name(s),
                          mp_last_error_message());
        break;
    case 7:
        m->what = "allocate_aligned";
        n = (size_t)256 << rnd(m, 14); /* up to 2 MiB */
        s = mp_pool_allocate_aligned(m->pool, some_size(m), n, &p);
        if (s == MP_OK) {
            ck_assert_uint_eq((uintptr_t)p % n, 0);
            handed(m, p, m->pool_stream);
        } else {
            ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY || (m->fixed && s == MP_ERR_INVALID_ARGUMENT) ||
                              (m->debug && s == MP_ERR_UNSUPPORTED),
                          "allocate_aligned: %s (%s)", mp_status_name(s), mp_last_error_message());
        }
        break;
    case 8: case 9: case 10:
        m->what = "deallocate";
        if (m->n)
            free_one(m, rnd(m, m->n), m->pool_stream, true);
        break;
    case 11: case 12: case 13:
        m->what = "deallocate_on_stream";
        if (m->n)
            free_one(m, rnd(m, m->n), some_stream(m), false);
        break;
    case 14:
        m->what = "reallocate";
        if (m->n) {
            size_t i = rnd(m, m->n);
            void *old = m->p[i];
            size_t before = usable(m, old);
            order_after(m->pool_stream, m->home[i]); /* the copy runs on the pool's stream */
            mp__sim_watch(old, before, m->pool_stream); /* read by the copy, freed in the pool's order */
            s = mp_pool_reallocate(m->pool, old, some_size(m), &p);
            if (s == MP_OK) {
                drop(m, i);
                handed(m, p, m->pool_stream);
                /* handed on the pool's stream; resized in place: the watch stands */
            } else {
                m->home[i] = m->pool_stream; /* kept, and the watch above stands */
                ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY, "reallocate: %s (%s)", mp_status_name(s),
                              mp_last_error_message());
            }
        }
        break;
    case 15:
        m->what = "sync";
        if (rnd(m, 3)) {
            stream = some_stream(m);
            TRACE("sync %p\n", stream);
            mp__sim_sync(stream);
        } else {
            TRACE("sync all\n");
            mp__sim_sync_all();
        }
        break;
    case 16:
        m->what = "advance";
        mp__sim_advance((uint64_t)rnd(m, 1500) * 1000000u);
        break;
    case 17:
        m->what = "trim";
        ck_ok(mp_pool_trim(m->pool, rnd(m, 2) ? 0 : rnd(m, 64) * MiB));
        break;
    case 18:
        m->what = "set_release_threshold";
        {
            size_t t[] = {0, GRANULE, 7 * MiB, 64 * MiB, SIZE_MAX};
            ck_ok(mp_pool_set_release_threshold(m->pool, t[rnd(m, 5)]));
        }
        break;
    case 20:
        if (rnd(m, 4) == 0) { /* rare: every block goes */
            m->what = "reset";
            for (size_t i = 0; i < m->n; i++) { /* freed in the pool stream's order */
                order_after(m->pool_stream, m->home[i]);
                mp__sim_watch(m->p[i], usable(m, m->p[i]), m->pool_stream);
            }
            TRACE("reset\n");
            ck_ok(mp_pool_reset(m->pool));
            m->n = 0;
        }
        break;
    case 19:
        m->what = "bad input";
        {
            int x;
            ck_status(mp_pool_deallocate(m->pool, &x), MP_ERR_INVALID_POINTER);
            ck_status(mp_pool_deallocate_on_stream(m->pool, &x, S1), MP_ERR_INVALID_POINTER);
            if (m->n) { /* an interior pointer */
                void *q = m->p[rnd(m, m->n)];
                if (usable(m, q) > 256)
                    ck_status(mp_pool_deallocate_on_stream(m->pool, (char *)q + 256, S2), MP_ERR_INVALID_POINTER);
            }
            ck_status(mp_pool_allocate(m->pool, 0, &p), MP_ERR_INVALID_ARGUMENT);
            ck_status(mp_pool_allocate_on_stream(m->pool, (size_t)1 << 62, S1, &p), m->fixed ? MP_ERR_INVALID_ARGUMENT
                                                                                            : MP_ERR_OUT_OF_MEMORY);
        }
        break;
    }
    invariants(m);
}

static void model_free_all(model *m)
{
    m->what = "free all";
    while (m->n) {
        if (rnd(m, 2))
            free_one(m, m->n - 1, m->pool_stream, true);
        else
            free_one(m, m->n - 1, some_stream(m), false);
    }
    invariants(m);
}

static void fuzz(const char *name, mp_config c, int steps, unsigned seed)
{
    sim_again();
    mp_pool *p = new_gpu_pool(name, c);
    model m;
    model_init(&m, p, c.max_size, seed);
    invariants(&m);
    for (int i = 0; i < steps; i++)
        step(&m);
    model_free_all(&m);
    ck_ok(mp_pool_trim(p, 0));
    m.what = "trim 0";
    invariants(&m);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(m.device).in_use, 0);
    ck_assert_uint_eq(usage(m.device).violations, 0);
}

static mp_config preset(int which)
{
    mp_config c = MP_CONFIG_INIT;
    switch (which) {
    case 0: ck_ok(mp_config_default_gpu(&c)); break;
    case 1: ck_ok(mp_config_high_performance_gpu(&c, 0)); break;
    case 2: ck_ok(mp_config_fixed_size_gpu(&c, 3 * MiB, 0)); break;
    case 3: ck_ok(mp_config_fixed_size_gpu(&c, 4096, 0)); break;
    default: ck_ok(mp_config_debug_gpu(&c, 0)); break;
    }
    return c;
}

START_TEST(fuzz_presets)
{
    for (unsigned seed = 1; seed <= 6; seed++) {
        char name[32];
        snprintf(name, sizeof name, "fuzz-%d-%u", _i, seed);
        fuzz(name, preset(_i), mp_test_scaled(600), seed * 7717u + (unsigned)_i);
    }
}
END_TEST

START_TEST(fuzz_max_size)
{
    size_t caps[] = {24 * MiB, 64 * MiB, 96 * MiB}; /* under 16 granules: cudaMalloc chunks; above: on demand */
    for (unsigned seed = 1; seed <= 6; seed++) {
        mp_config c = preset(_i);
        c.max_size = caps[seed % 3];
        if (c.initial_size > c.max_size)
            c.initial_size = 0;
        char name[32];
        snprintf(name, sizeof name, "cap-%d-%u", _i, seed);
        fuzz(name, c, mp_test_scaled(600), seed * 104729u + (unsigned)_i);
    }
}
END_TEST

START_TEST(fuzz_tiny_device)
{
    mp__sim_end();
    sim_on(1, 24 * MiB, GRANULE);
    for (unsigned seed = 1; seed <= 6; seed++) {
        char name[32];
        snprintf(name, sizeof name, "tiny-%d-%u", _i, seed);
        fuzz(name, preset(_i), mp_test_scaled(600), seed * 15485863u + (unsigned)_i);
    }
}
END_TEST

START_TEST(fuzz_without_on_demand_mapping)
{
    mp__sim_end();
    sim_on(1, 256 * MiB, 0);
    for (unsigned seed = 1; seed <= 3; seed++) {
        char name[32];
        snprintf(name, sizeof name, "vmmless-%d-%u", _i, seed);
        fuzz(name, preset(_i), mp_test_scaled(400), seed * 31u + (unsigned)_i);
    }
}
END_TEST

/* ---- bugs found, one test each ---------------------------------------- */

/* A mapping that fails part way gives back what it mapped, but the device
 * had that memory for a moment: the pool's peak says so too. A run of
 * missing granules maps as one allocation, so part way means between two
 * runs: here the block needs granule 0 and granules 2-4, with 1 mapped. */
START_TEST(a_mapping_that_fails_part_way_counts_in_the_peak)
{
    mp__sim_end();
    sim_on(1, 9 * MiB, GRANULE);
    mp_config c = preset(0);
    mp_pool *p = new_gpu_pool("transient", c);
    ck_ok(mp_pool_set_release_threshold(p, SIZE_MAX));
    void *x = alloc_ok(p, 2 * MiB), *y = alloc_ok(p, 2 * MiB);
    ck_assert_ptr_eq((char *)y, (char *)x + 2 * MiB);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_trim(p, 2 * MiB)); /* x's granule goes, y's stays */
    ck_ok(mp_pool_deallocate(p, y)); /* granule 1: mapped and idle */
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 2 * MiB);
    /* 10 MiB at x: granule 0 maps (4 MiB in use), granules 2-4 (6 MiB
     * more) do not fit the 9 MiB device; granule 0 goes back, then the
     * idle one, and a last try for all five fails too. */
    void *d = NULL;
    ck_status(mp_pool_allocate(p, 10 * MiB, &d), MP_ERR_OUT_OF_MEMORY);
    ck_assert_uint_eq(usage(0).peak, 4 * MiB);
    ck_assert_uint_eq(stats_of(p).peak_reserved_bytes, usage(0).peak);
    ck_assert_uint_eq(usage(0).in_use, stats_of(p).reserved_bytes);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use, 0);
}
END_TEST

/* A reset frees every block, but a block freed on another stream is still
 * in use there: handed out again, or its memory unmapped, it must wait
 * for that stream's work as it would have without the reset. */
START_TEST(reset_keeps_blocks_freed_on_other_streams_behind_their_work)
{
    for (int which = 0; which < 2; which++) {
        mp_pool *p = new_gpu_pool(which ? "reset-streams-hp" : "reset-streams", preset(which));
        void *a = alloc_ok(p, 8 * MiB);
        mp__sim_watch(a, 8 * MiB, S1);
        ck_ok(mp_pool_deallocate_on_stream(p, a, S1)); /* S1's kernel still reads it */
        ck_ok(mp_pool_reset(p));
        void *b = alloc_ok(p, 8 * MiB);
        ck_assert_msg(mp__sim_handout_safe(b, 8 * MiB, NULL), "a block in use on S1 went to the pool's stream");
        ck_ok(mp_pool_deallocate(p, b));
        ck_ok(mp_pool_trim(p, 0)); /* syncs the pool's stream: unmapping must not beat S1 either */
        ck_assert_uint_eq(usage(0).violations, 0);
        /* The same for another stream that had waited for the pool's
         * before: the reset freed blocks in the pool stream's order. */
        void *c = NULL, *d = NULL;
        ck_ok(mp_pool_allocate_on_stream(p, 4 * MiB, S2, &c)); /* S2 waits for the pool's stream now */
        void *e = alloc_ok(p, 4 * MiB);
        mp__sim_watch(e, 4 * MiB, NULL);        /* the pool's stream uses e... */
        mp__sim_watch(c, 4 * MiB, S3);
        ck_ok(mp_pool_deallocate_on_stream(p, c, S3)); /* ...and S3 uses c */
        ck_ok(mp_pool_reset(p));                 /* e and c are free */
        ck_ok(mp_pool_allocate_on_stream(p, 4 * MiB, S2, &c));
        ck_ok(mp_pool_allocate_on_stream(p, 4 * MiB, S2, &d));
        ck_assert_msg(mp__sim_handout_safe(c, 4 * MiB, S2) && mp__sim_handout_safe(d, 4 * MiB, S2),
                      "after a reset, a block still in use went to S2 unordered");
        ck_ok(mp_pool_deallocate_on_stream(p, c, S2));
        ck_ok(mp_pool_deallocate_on_stream(p, d, S2));
        ck_assert_uint_eq(usage(0).violations, 0);
        ck_intact(p);
        ck_ok(mp_pool_destroy(p));
        mp__sim_sync_all();
    }
}
END_TEST

/* ---- hooks that call back in ------------------------------------------ */

typedef struct hookstate {
    void *held[8];
    int nheld;
    int grows, ooms, trims;
    bool reset_in_oom;
    int resets;
} hookstate;

static mp_status grow_back_in(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    (void)detail, (void)cap;
    hookstate *h = user;
    h->grows++;
    void *x = NULL;
    if (mp_pool_allocate(pool, 1 * MiB, &x) == MP_OK) { /* nested: grows without hooks */
        mp__sim_watch(x, MiB, NULL);
        mp_pool_deallocate(pool, x);
    }
    mp_pool_trim(pool, 0);
    mp_stats st = MP_STATS_INIT;
    mp_pool_get_stats(pool, &st);
    mp_pool_check(pool);
    *out = need;
    return MP_OK;
}

static mp_status oom_back_in(void *user, mp_pool *pool, size_t size, char *detail, size_t cap)
{
    (void)size, (void)detail, (void)cap;
    hookstate *h = user;
    h->ooms++;
    if (h->reset_in_oom) {
        for (int i = 0; i < h->nheld; i++)
            mp__sim_watch(h->held[i], MiB, NULL);
        mp_pool_reset(pool);
        h->resets++;
        h->nheld = 0;
        return MP_OK;
    }
    if (h->nheld) { /* one freed on a stream, the pool made to wait for it */
        void *x = h->held[--h->nheld];
        mp__sim_watch(x, MiB, S1);
        mp_pool_deallocate_on_stream(pool, x, S1);
    }
    mp_pool_trim(pool, 0);
    return MP_OK; /* try again */
}

static mp_status trim_back_in(void *user, mp_pool *pool, size_t reserved, size_t in_use, size_t *keep, char *detail,
                              size_t cap)
{
    (void)reserved, (void)detail, (void)cap;
    hookstate *h = user;
    h->trims++;
    void *x = NULL;
    if (mp_pool_allocate_on_stream(pool, 3 * MiB, S2, &x) == MP_OK) {
        mp__sim_watch(x, 3 * MiB, S2);
        mp_pool_deallocate_on_stream(pool, x, S2);
    }
    *keep = in_use;
    return MP_OK;
}

START_TEST(hooks_call_back_into_a_gpu_pool)
{
    mp__sim_end();
    sim_on(1, 32 * MiB, GRANULE);
    for (int reset = 0; reset < 2; reset++) {
        sim_again();
        hookstate h = {.reset_in_oom = reset};
        mp_pool *p = new_gpu_pool(reset ? "hooks-reset" : "hooks", preset(_i));
        mp_policy pol = {sizeof pol, &h, grow_back_in, oom_back_in, trim_back_in, NULL};
        ck_ok(mp_pool_set_policy(p, &pol));
        model m;
        model_init(&m, p, 0, 99u + (unsigned)_i);
        for (int i = 0; i < 200; i++) {
            if (m.fixed)
                break;
            void *x = NULL;
            size_t n = (size_t)(i % 7 + 1) * 3 * MiB; /* up to 21 MiB on a 32 MiB device */
            m.what = "allocate with hooks";
            h.nheld = h.nheld < 0 ? 0 : h.nheld;
            int before = h.resets;
            mp_status st = mp_pool_allocate(p, n, &x);
            if (h.resets != before) { /* the hook freed everything */
                m.n = 0;
                h.nheld = 0;
            }
            if (st == MP_OK) {
                handed(&m, x, NULL);
                if (h.nheld < 8 && i % 2) {
                    h.held[h.nheld++] = x; /* the hook's to free */
                    m.n--;                 /* (the model forgets it: the hook owns it now) */
                }
            } else {
                ck_assert_msg(st == MP_ERR_OUT_OF_MEMORY, "%s", mp_last_error_message());
            }
            /* the model's own blocks, freed now and then */
            if (m.n > 2)
                free_one(&m, 0, m.pool_stream, true);
            /* held blocks are live too: the model checks them through the pool */
            for (int k = 0; k < h.nheld; k++) {
                size_t u = 0;
                ck_ok(mp_pool_usable_size(p, h.held[k], &u));
                ck_assert(mp__sim_mapped(h.held[k], u));
            }
            if (i % 10 == 0)
                ck_ok(mp_pool_trim_auto(p));
            if (i % 13 == 0)
                mp__sim_sync_all();
            ck_intact(p);
            mp_stats stats = stats_of(p);
            ck_assert_uint_eq(stats.reserved_bytes, usage(0).in_use);
            ck_assert_uint_eq(stats.peak_reserved_bytes, usage(0).peak);
            ck_assert_uint_eq(usage(0).violations, 0);
            ck_assert_uint_le(stats.chunk_count, 4); /* address space does not pile up */
        }
        for (int k = 0; k < h.nheld; k++)
            ck_ok(mp_pool_deallocate(p, h.held[k]));
        model_free_all(&m);
        ck_ok(mp_pool_set_policy(p, NULL));
        ck_ok(mp_pool_destroy(p));
        ck_assert_uint_eq(usage(0).in_use, 0);
        ck_assert_uint_eq(usage(0).violations, 0);
    }
}
END_TEST

/* An out-of-memory hook that says "try again" after freeing nothing of
 * this pool must not leave a new span of address space (as large as the
 * device) behind each time: the memory ran short, not the room. */
static mp_status oom_retry(void *user, mp_pool *pool, size_t size, char *detail, size_t cap)
{
    (void)user, (void)pool, (void)size, (void)detail, (void)cap;
    return MP_OK;
}

START_TEST(an_oom_hook_that_retries_does_not_pile_up_address_space)
{
    mp__sim_end();
    sim_on(1, 32 * MiB, GRANULE);
    mp_pool *p = new_gpu_pool("oom-retry", preset(0));
    mp_policy pol = {sizeof pol, NULL, NULL, oom_retry, NULL, NULL};
    ck_ok(mp_pool_set_policy(p, &pol));
    void *a = alloc_ok(p, 20 * MiB), *x = NULL;
    for (int i = 0; i < 50; i++)
        ck_status(mp_pool_allocate(p, 16 * MiB, &x), MP_ERR_OUT_OF_MEMORY);
    ck_assert_uint_le(stats_of(p).chunk_count, 2);
    ck_ok(mp_pool_deallocate(p, a));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* n bytes, or a fixed pool's block size if that is less. (No Check
 * assertion: threads and forked children call it.) */
static size_t fit(mp_pool *p, size_t n)
{
    mp_config c = MP_CONFIG_INIT;
    mp_pool_get_config(p, &c);
    return c.allocator_type == MP_ALLOCATOR_FIXED_SIZE && c.block_size < n ? c.block_size : n;
}

/* ---- fork --------------------------------------------------------------- */

static volatile int churning;

static void *churn_on(void *arg)
{
    mp_pool *p = arg;
    unsigned seed = 5;
    while (__atomic_load_n(&churning, __ATOMIC_RELAXED)) {
        void *x = NULL;
        if (mp_pool_allocate(p, fit(p, (size_t)1 << (rand_r(&seed) % 22)), &x) == MP_OK) {
            if (rand_r(&seed) % 2)
                mp_pool_deallocate(p, x);
            else
                mp_pool_deallocate_on_stream(p, x, S1);
        }
        if (rand_r(&seed) % 64 == 0)
            mp_pool_trim(p, 0);
        if (rand_r(&seed) % 16 == 0)
            mp__sim_sync(S1);
    }
    return NULL;
}

static bool clean(mp_status s) { return s == MP_OK || (s > 0 && mp_status_name(s) != NULL); }

/* The child of a fork, taken while another thread is inside the pool,
 * may use the pool: clean statuses, no crash, no hang. */
START_TEST(a_forked_child_can_use_a_gpu_pool)
{
    mp_pool *p = new_gpu_pool("forked", preset(_i));
    void *live = NULL, *waiting = NULL;
    ck_ok(mp_pool_allocate(p, fit(p, 3 * MiB), &live));
    ck_ok(mp_pool_allocate(p, fit(p, 3 * MiB), &waiting));
    ck_ok(mp_pool_deallocate_on_stream(p, waiting, S2));
    pthread_t t;
    __atomic_store_n(&churning, 1, __ATOMIC_RELAXED);
    pthread_create(&t, NULL, churn_on, p);
    for (int round = 0; round < 20; round++) {
        nanosleep(&(struct timespec){0, 2000000}, NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            alarm(20);
            int bad = 0;
            void *x = NULL, *y = NULL;
            mp_stats st = MP_STATS_INIT;
#define CHILD(call) do { mp_status s_ = (call); if (!clean(s_)) { bad++; fprintf(stderr, "child: %s: %s\n", #call, mp_last_error_message()); } } while (0)
            CHILD(mp_pool_allocate(p, fit(p, 1 * MiB), &x));
            CHILD(mp_pool_allocate_on_stream(p, fit(p, 2 * MiB), S3, &y));
            if (x)
                CHILD(mp_pool_deallocate_on_stream(p, x, S3));
            if (y)
                CHILD(mp_pool_deallocate(p, y));
            CHILD(mp_pool_deallocate(p, live));
            CHILD(mp_pool_trim(p, 0));
            CHILD(mp_pool_get_stats(p, &st));
            CHILD(mp_pool_check(p));
            CHILD(mp_pool_set_release_threshold(p, 0));
            CHILD(mp_pool_reset(p));
            CHILD(mp_pool_destroy(p));
            _exit(bad ? 3 : 0);
        }
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x (signal %d)", status,
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    __atomic_store_n(&churning, 0, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    mp__sim_sync_all();
    ck_ok(mp_pool_deallocate(p, live));
    ck_ok(mp_pool_trim(p, 0));
    ck_intact(p);
    mp_stats st = stats_of(p);
    ck_assert_uint_eq(st.reserved_bytes, usage(0).in_use);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use, 0);
    ck_assert_uint_eq(usage(0).violations, 0);
}
END_TEST

/* ---- devices and streams ---------------------------------------------- */

START_TEST(set_device_moves_an_empty_pool_between_simulated_devices)
{
    mp__sim_end();
    sim_on(2, 64 * MiB, GRANULE);
    mp_pool *p = new_gpu_pool("two-devices", preset(_i));
    void *a = NULL;
    ck_ok(mp_pool_allocate(p, 1000, &a));
    ck_status(mp_pool_set_device(p, 1), MP_ERR_INVALID_OPERATION); /* a live block */
    ck_ok(mp_pool_deallocate_on_stream(p, a, S1));
    ck_status(mp_pool_set_device(p, 1), MP_ERR_INVALID_OPERATION); /* waiting on S1: still on device 0 */
    mp__sim_sync(S1);
    ck_ok(mp_pool_trim(p, 0));
    ck_ok(mp_pool_set_device(p, 1));
    ck_assert_uint_eq(usage(0).in_use, 0);
    int d = -1;
    ck_ok(mp_pool_get_device(p, &d));
    ck_assert_int_eq(d, 1);
    void *b = alloc_ok(p, fit(p, 5 * MiB));
    ck_assert_uint_eq(usage(0).in_use, 0);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, usage(1).in_use);
    ck_assert(mp__sim_mapped(b, fit(p, 5 * MiB)));
    ck_assert(mp_pool_set_device(p, 2) != MP_OK); /* b is live, and there is no device 2 */
    ck_assert(mp_pool_set_device(p, 0) == MP_ERR_INVALID_OPERATION); /* b is live */
    ck_ok(mp_pool_deallocate(p, b));
    mp_status s = mp_pool_set_device(p, 2); /* no such device */
    ck_assert_msg(s != MP_OK, "set_device(2) of 2 devices: MP_OK");
    ck_ok(mp_pool_set_device(p, 0));
    ck_assert_uint_eq(usage(1).in_use, 0);
    b = alloc_ok(p, fit(p, 1 * MiB));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, usage(0).in_use);
    ck_ok(mp_pool_deallocate(p, b));
    destroyed_clean(p);
}
END_TEST

/* The wait for the pool's stream before idle memory is unmapped fails (a
 * device fault): the memory stays mapped and the caller hears why. A trim
 * returns the CUDA error; a move is refused and the pool stays on device 0,
 * whole and usable; once the device answers again both go through. Before,
 * both returned MP_OK and the move left the memory mapped on device 0 under
 * a pool that believed itself on device 1. */
START_TEST(a_failed_wait_before_unmapping_fails_trim_and_set_device_cleanly)
{
    mp__sim_end();
    sim_on(2, 64 * MiB, GRANULE);
    mp_pool *p = new_gpu_pool("failed-sync", preset(_i));
    void *a = alloc_ok(p, fit(p, 5 * MiB));
    ck_ok(mp_pool_deallocate(p, a));
    size_t mapped = usage(0).in_use;
    ck_assert_uint_gt(mapped, 0);
    mp__sim_fail_syncs(0, 1);
    ck_status(mp_pool_trim(p, 0), MP_ERR_CUDA);
    ck_detail_has("cudaStreamSynchronize");
    ck_assert_uint_eq(usage(0).in_use, mapped);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, mapped);
    mp__sim_fail_syncs(0, 1);
    ck_status(mp_pool_set_device(p, 1), MP_ERR_CUDA);
    ck_detail_has("stays there");
    int d = -1;
    ck_ok(mp_pool_get_device(p, &d));
    ck_assert_int_eq(d, 0);
    ck_assert_uint_eq(usage(0).in_use, mapped);
    ck_assert_uint_eq(usage(1).in_use, 0);
    ck_intact(p);
    void *b = alloc_ok(p, fit(p, 5 * MiB)); /* still serves on device 0 */
    ck_assert(mp__sim_mapped(b, fit(p, 5 * MiB)));
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_set_device(p, 1));
    ck_assert_uint_eq(usage(0).in_use, 0);
    ck_ok(mp_pool_trim(p, 0));
    destroyed_clean(p);
}
END_TEST

/* A block freed into the caller's thread cache is free to the user: the
 * move takes it back first, as a trim does. One freed into the cache of
 * another thread, still running, is still on device 0: the move is
 * refused, saying where, until that thread trims. */
typedef struct cache_thread {
    mp_pool *pool;
    void *block;
    pthread_barrier_t freed, refused;
} cache_thread;

static void *free_into_own_cache(void *arg)
{
    cache_thread *c = arg;
    for (int i = 0; i < 2; i++) { /* the second pair comes off and goes back to this thread's cache */
        ck_ok(mp_pool_allocate(c->pool, 256, &c->block));
        ck_ok(mp_pool_deallocate(c->pool, c->block));
    }
    pthread_barrier_wait(&c->freed);
    pthread_barrier_wait(&c->refused); /* alive meanwhile: its cache is its own */
    ck_ok(mp_pool_trim(c->pool, 0));
    return NULL;
}

/* A high-performance pool (thread caches), nothing reserved up front, on
 * a fresh stand-in of two devices. */
static mp_pool *cached_pool_on_two_devices(const char *name)
{
    mp__sim_end();
    sim_on(2, 64 * MiB, GRANULE);
    mp_config cfg = preset(1);
    cfg.initial_size = 0;
    return new_gpu_pool(name, cfg);
}

START_TEST(set_device_takes_back_the_callers_cached_blocks_and_names_other_threads)
{
    mp_pool *p = cached_pool_on_two_devices("cached-move");
    void *a = alloc_ok(p, 256);
    ck_ok(mp_pool_deallocate(p, a)); /* into this thread's cache */
    ck_ok(mp_pool_set_device(p, 1));
    int d = -1;
    ck_ok(mp_pool_get_device(p, &d));
    ck_assert_int_eq(d, 1);
    ck_assert_uint_eq(usage(0).in_use, 0);
    cache_thread c = {.pool = p};
    pthread_barrier_init(&c.freed, NULL, 2);
    pthread_barrier_init(&c.refused, NULL, 2);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, free_into_own_cache, &c), 0);
    pthread_barrier_wait(&c.freed);
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_status(mp_pool_set_device(p, 0), MP_ERR_INVALID_OPERATION);
    ck_detail_has("other threads' caches");
    ck_assert_uint_eq(usage(0).in_use, 0);
    ck_ok(mp_pool_get_device(p, &d));
    ck_assert_int_eq(d, 1);
    pthread_barrier_wait(&c.refused);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_ok(mp_pool_set_device(p, 0));
    ck_assert_uint_eq(usage(1).in_use, 0);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use + usage(1).in_use, 0);
    pthread_barrier_destroy(&c.freed);
    pthread_barrier_destroy(&c.refused);
}
END_TEST

/* A forked child has no thread but the one that forked: blocks that other
 * threads of the parent had freed into their caches stay cached in the
 * child, where no thread can trim them. The move is refused, naming them;
 * a reset (which empties every cache) lets the pool move. Meanwhile another
 * thread of the parent moves the pool back and forth, so that forks land
 * inside its drain and its lock. */
typedef struct mover {
    mp_pool *pool;
    int stop;
} mover;

static void *move_back_and_forth(void *arg)
{
    mover *m = arg;
    for (int i = 0; !__atomic_load_n(&m->stop, __ATOMIC_RELAXED); i++)
        mp_pool_set_device(m->pool, i % 2);
    return NULL;
}

START_TEST(a_forked_child_moves_a_pool_whose_blocks_other_threads_cached_after_a_reset)
{
    mp_pool *p = cached_pool_on_two_devices("forked-move");
    cache_thread c = {.pool = p};
    pthread_barrier_init(&c.freed, NULL, 2);
    pthread_barrier_init(&c.refused, NULL, 2);
    pthread_t t, m;
    ck_assert_int_eq(pthread_create(&t, NULL, free_into_own_cache, &c), 0);
    pthread_barrier_wait(&c.freed); /* its cache holds blocks until it trims */
    mover mv = {.pool = p};
    ck_assert_int_eq(pthread_create(&m, NULL, move_back_and_forth, &mv), 0);
    for (int round = 0; round < 10; round++) {
        nanosleep(&(struct timespec){0, 500000}, NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            alarm(20);
            int d = -1, bad = 0;
            bad += mp_pool_get_device(p, &d) != MP_OK;
            bad += mp_pool_set_device(p, 1 - d) != MP_ERR_INVALID_OPERATION;
            bad += !strstr(mp_last_error_message(), "other threads' caches");
            bad += !strstr(mp_last_error_message(), "mp_pool_reset"); /* the way out where those threads are gone */
            bad += mp_pool_reset(p) != MP_OK;
            bad += mp_pool_set_device(p, 1 - d) != MP_OK;
            void *x = NULL;
            bad += mp_pool_allocate(p, 256, &x) != MP_OK || !mp__sim_mapped(x, 256);
            bad += mp_pool_deallocate(p, x) != MP_OK;
            bad += mp_pool_check(p) != MP_OK;
            bad += mp_pool_destroy(p) != MP_OK;
            if (bad)
                fprintf(stderr, "child: %d wrong (%s)\n", bad, mp_last_error_message());
            _exit(bad ? 3 : 0);
        }
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x (signal %d)", status,
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    __atomic_store_n(&mv.stop, 1, __ATOMIC_RELAXED);
    ck_assert_int_eq(pthread_join(m, NULL), 0);
    pthread_barrier_wait(&c.refused);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    int d = -1;
    ck_ok(mp_pool_get_device(p, &d));
    ck_ok(mp_pool_set_device(p, 1 - d));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use + usage(1).in_use, 0);
    ck_assert_uint_eq(usage(0).violations, 0);
    pthread_barrier_destroy(&c.freed);
    pthread_barrier_destroy(&c.refused);
}
END_TEST

/* A thread frees more small blocks than its cache holds (the rest go to
 * the magazines, shared by all threads) and exits (its cache goes back).
 * A thread that never used the pool then moves it: the magazines' blocks
 * are free to the user and go back first. */
static void *fill_the_magazines(void *arg)
{
    mp_pool *p = arg;
    enum { N = 3000 };
    void **v = malloc(N * sizeof *v);
    for (int i = 0; v && i < N; i++)
        if (mp_pool_allocate(p, 256, &v[i]) != MP_OK)
            return (void *)1;
    for (int i = 0; v && i < N; i++)
        if (mp_pool_deallocate(p, v[i]) != MP_OK)
            return (void *)1;
    free(v);
    return v ? NULL : (void *)1;
}

START_TEST(set_device_takes_back_blocks_in_the_magazines_of_threads_gone)
{
    mp_pool *p = cached_pool_on_two_devices("magazines");
    pthread_t t;
    void *r = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, fill_the_magazines, p), 0);
    ck_assert_int_eq(pthread_join(t, &r), 0);
    ck_assert_ptr_null(r);
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_ok(mp_pool_set_device(p, 1));
    ck_assert_uint_eq(usage(0).in_use, 0);
    void *a = alloc_ok(p, 256);
    ck_assert(mp__sim_mapped(a, 256));
    ck_assert_uint_eq(usage(0).in_use, 0);
    ck_ok(mp_pool_deallocate(p, a));
    destroyed_clean(p);
}
END_TEST

/* Threads allocate and free small blocks through their caches while
 * another thread, which never used the pool, moves it back and forth. In
 * step: each worker frees into its cache and waits (the move is refused,
 * naming the caches), each trims and waits (the move goes through, and
 * nothing is left on the old device); between the steps the workers churn
 * and exit and new ones start while the mover keeps trying, and every
 * block a worker holds lies on device memory. */
#define MOVERS_N 4

typedef struct churner {
    mp_pool *pool;
    unsigned seed;
    size_t block_size; /* fixed pools */
    pthread_barrier_t *bar;
    int rounds;
    char why[256];
} churner;

#define CFAIL(c, ...) (void)((c)->why[0] ? 0 : snprintf((c)->why, sizeof (c)->why, __VA_ARGS__))

static size_t churn_size(churner *c)
{
    return c->block_size ? c->block_size : (size_t)16 << (rand_r(&c->seed) % 9); /* 16 B to 4 KiB */
}

static void churn(churner *c, int ops)
{
    void *held[32] = {0};
    size_t n[32] = {0};
    for (int i = 0; i < ops; i++) {
        int k = rand_r(&c->seed) % 32;
        mp_status s;
        if (held[k]) {
            if (!mp__sim_mapped(held[k], n[k]))
                CFAIL(c, "live %p+%zu not on device memory", held[k], n[k]);
            if ((s = mp_pool_deallocate(c->pool, held[k])) != MP_OK)
                CFAIL(c, "free: %s", mp_last_error_message());
            held[k] = NULL;
        } else {
            n[k] = churn_size(c);
            if ((s = mp_pool_allocate(c->pool, n[k], &held[k])) != MP_OK) {
                CFAIL(c, "allocate %zu: %s", n[k], mp_last_error_message());
                held[k] = NULL;
            } else if (!mp__sim_mapped(held[k], n[k])) {
                CFAIL(c, "new %p+%zu not on device memory", held[k], n[k]);
            }
        }
        if (rand_r(&c->seed) % 64 == 0)
            mp_pool_trim(c->pool, 0);
    }
    for (int k = 0; k < 32; k++)
        if (held[k] && mp_pool_deallocate(c->pool, held[k]) != MP_OK)
            CFAIL(c, "final free: %s", mp_last_error_message());
}

static void *churn_in_step(void *arg)
{
    churner *c = arg;
    for (int r = 0; r < c->rounds; r++) {
        churn(c, 200);                   /* the mover tries meanwhile */
        void *x = NULL;
        if (mp_pool_allocate(c->pool, churn_size(c), &x) != MP_OK || mp_pool_deallocate(c->pool, x) != MP_OK)
            CFAIL(c, "allocate and free: %s", mp_last_error_message());
        pthread_barrier_wait(c->bar);    /* 1: x sits in this thread's cache */
        pthread_barrier_wait(c->bar);    /* 2: the mover was refused */
        mp_pool_trim(c->pool, 0);
        pthread_barrier_wait(c->bar);    /* 3: every cache is empty */
        pthread_barrier_wait(c->bar);    /* 4: the mover moved the pool */
    }
    return NULL;
}

static void *churn_and_exit(void *arg)
{
    churner *c = arg;
    churn(c, 300);
    return NULL; /* the cache goes back at exit, blocks and all */
}

START_TEST(set_device_races_threads_on_their_caches)
{
    mp__sim_end();
    sim_on(2, 256 * MiB, GRANULE);
    mp_config cfg = preset(_i ? 3 : 1); /* variable, fixed 4 KiB: both with thread caches */
    cfg.sync_type = MP_SYNC_LOCK_FREE;
    cfg.track_stats = false;
    cfg.initial_size = 0;
    mp_pool *p = new_gpu_pool("racing-move", cfg);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, MOVERS_N + 1);
    pthread_t t[MOVERS_N], extra[MOVERS_N];
    churner c[MOVERS_N], e[MOVERS_N];
    size_t bs = cfg.allocator_type == MP_ALLOCATOR_FIXED_SIZE ? cfg.block_size : 0;
    for (int i = 0; i < MOVERS_N; i++) {
        c[i] = (churner){.pool = p, .seed = 17u * (unsigned)i + 3, .block_size = bs, .bar = &bar, .rounds = 8};
        ck_assert_int_eq(pthread_create(&t[i], NULL, churn_in_step, &c[i]), 0);
    }
    int dev = 0, moved = 0;
    for (int r = 0; r < 8; r++) {
        for (int i = 0; i < MOVERS_N; i++) { /* short-lived threads too */
            e[i] = (churner){.pool = p, .seed = 31u * (unsigned)(r * MOVERS_N + i) + 5, .block_size = bs};
            ck_assert_int_eq(pthread_create(&extra[i], NULL, churn_and_exit, &e[i]), 0);
        }
        for (int k = 0; k < 200; k++) { /* racing: any answer but a wrong one */
            mp_status s = mp_pool_set_device(p, 1 - dev);
            ck_assert_msg(s == MP_OK || s == MP_ERR_INVALID_OPERATION, "move: %s", mp_last_error_message());
            if (s == MP_OK) {
                ck_assert_uint_eq(usage(dev).in_use, 0); /* nothing stays behind */
                dev = 1 - dev;
                moved++;
            }
            int d = -1;
            ck_ok(mp_pool_get_device(p, &d));
            ck_assert_int_eq(d, dev);
            if (k % 16 == 0) { /* whole-pool calls meanwhile, each with its own locks */
                (void)stats_of(p);
                mp_memory_snapshot snap = MP_MEMORY_SNAPSHOT_INIT;
                ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &snap, NULL, 0, NULL, 0));
                ck_intact(p);
                ck_ok(mp_pool_trim(p, 0));
            }
        }
        for (int i = 0; i < MOVERS_N; i++) {
            ck_assert_int_eq(pthread_join(extra[i], NULL), 0);
            ck_assert_msg(!e[i].why[0], "round %d, short-lived thread %d: %s", r, i, e[i].why);
        }
        pthread_barrier_wait(&bar); /* 1 */
        ck_status(mp_pool_set_device(p, 1 - dev), MP_ERR_INVALID_OPERATION);
        ck_detail_has("other threads' caches");
        pthread_barrier_wait(&bar); /* 2 */
        pthread_barrier_wait(&bar); /* 3 */
        ck_ok(mp_pool_set_device(p, 1 - dev));
        ck_assert_uint_eq(usage(dev).in_use, 0);
        dev = 1 - dev;
        pthread_barrier_wait(&bar); /* 4 */
    }
    for (int i = 0; i < MOVERS_N; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_msg(!c[i].why[0], "thread %d: %s", i, c[i].why);
    }
    pthread_barrier_destroy(&bar);
    ck_ok(mp_pool_set_device(p, 1 - dev)); /* the threads are gone, their caches with them */
    ck_assert_uint_eq(usage(dev).in_use, 0);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use + usage(1).in_use, 0);
    ck_assert_uint_eq(usage(0).violations, 0);
    TRACE("racing moves: %d\n", moved);
}
END_TEST

/* A pool whose stream changes: blocks freed in the old stream's order
 * must not go to the new stream's work before the old stream's work. */
START_TEST(set_stream_orders_the_new_stream_after_the_old)
{
    mp_pool *p = new_gpu_pool("restream", preset(_i));
    size_t n = fit(p, 4 * MiB);
    void *a = alloc_ok(p, n);
    mp__sim_watch(a, n, NULL);
    ck_ok(mp_pool_deallocate(p, a)); /* the NULL stream's kernel still uses it */
    ck_ok(mp_pool_set_stream(p, S1));
    void *b = alloc_ok(p, n);
    ck_assert_msg(mp__sim_handout_safe(b, n, S1), "a block in use on the old stream went to the new one");
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_trim(p, 0)); /* syncs S1: the old stream's work must be done before unmapping */
    ck_assert_uint_eq(usage(0).violations, 0);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* ---- threads ----------------------------------------------------------- */

typedef struct racer {
    mp_pool *pool;
    unsigned seed;
    int id, fixed;
    size_t block_size;
    pthread_barrier_t *bar;
    char why[256];
} racer;

#define RFAIL(r, ...) do { if (!(r)->why[0]) snprintf((r)->why, sizeof (r)->why, __VA_ARGS__); } while (0)

static void *race(void *arg)
{
    racer *r = arg;
    void *held[48] = {0};
    void *home[48] = {0}; /* the stream held[k] was handed to or last used on (see order_after) */
    void *streams[] = {NULL, S1, S2, S3};
    int rounds = mp_test_scaled(3000);
    for (int i = 0; i < rounds; i++) {
        if (i % 1000 == 999) { /* a reset, with every thread between calls */
            for (int k = 0; k < 48; k++)
                if (held[k]) {
                    size_t n = 0;
                    mp_pool_usable_size(r->pool, held[k], &n);
                    order_after(NULL, home[k]);
                    mp__sim_watch(held[k], n, NULL);
                }
            pthread_barrier_wait(r->bar);
            if (r->id == 0 && mp_pool_reset(r->pool) != MP_OK)
                RFAIL(r, "reset: %s", mp_last_error_message());
            pthread_barrier_wait(r->bar);
            memset(held, 0, sizeof held);
            memset(home, 0, sizeof home);
        }
        int k = (int)(rand_r(&r->seed) % 48);
        unsigned op = (unsigned)rand_r(&r->seed) % 16;
        void *st = streams[rand_r(&r->seed) % 4];
        mp_status s = MP_OK;
        if (held[k]) {
            size_t n = 0;
            if ((s = mp_pool_usable_size(r->pool, held[k], &n)) != MP_OK)
                RFAIL(r, "usable_size %p: %s", held[k], mp_last_error_message());
            if (!mp__sim_mapped(held[k], n))
                RFAIL(r, "live %p+%zu unmapped", held[k], n);
            if (op < 8) {
                if (op < 4)
                    st = NULL; /* a plain free: in the pool stream's order */
                order_after(st, home[k]);
                mp__sim_watch(held[k], n, st);
                s = op < 4 ? mp_pool_deallocate(r->pool, held[k]) : mp_pool_deallocate_on_stream(r->pool, held[k], st);
                if (s != MP_OK) /* (no double free here: another thread may have the block by now) */
                    RFAIL(r, "free: %s", mp_last_error_message());
                held[k] = NULL;
            } else if (op < 10) {
                void *q = NULL;
                size_t want = r->fixed ? 1 + (size_t)rand_r(&r->seed) % r->block_size : 1 + (size_t)rand_r(&r->seed) % (6 * MiB);
                order_after(NULL, home[k]); /* the copy runs on the pool's stream */
                mp__sim_watch(held[k], n, NULL);
                s = mp_pool_reallocate(r->pool, held[k], want, &q);
                home[k] = NULL; /* kept or moved: in the pool stream's order */
                if (s == MP_OK)
                    held[k] = q;
                else if (s != MP_ERR_OUT_OF_MEMORY)
                    RFAIL(r, "reallocate: %s", mp_last_error_message());
            }
        } else if (op < 10) {
            size_t want = r->fixed ? 1 + (size_t)rand_r(&r->seed) % r->block_size
                                   : (size_t)1 << (rand_r(&r->seed) % 23);
            void *q = NULL;
            s = op < 5 ? mp_pool_allocate(r->pool, want, &q) : mp_pool_allocate_on_stream(r->pool, want, st, &q);
            if (op < 5)
                st = NULL;
            if (s == MP_OK) {
                size_t n = 0;
                mp_pool_usable_size(r->pool, q, &n);
                if (!mp__sim_handout_safe(q, n, st))
                    RFAIL(r, "%p+%zu handed to %p while in use", q, n, st);
                held[k] = q;
                home[k] = st;
            } else if (s != MP_ERR_OUT_OF_MEMORY) {
                RFAIL(r, "allocate: %s", mp_last_error_message());
            }
        }
        mp_stats stats = MP_STATS_INIT;
        switch (op) {
        case 10: mp_pool_trim(r->pool, rand_r(&r->seed) % 2 ? 0 : 16 * MiB); break;
        case 11: mp_pool_set_release_threshold(r->pool, rand_r(&r->seed) % 2 ? 0 : 8 * MiB); break;
        case 12: mp_pool_get_stats(r->pool, &stats); break;
        case 13:
            if (mp_pool_check(r->pool) != MP_OK)
                RFAIL(r, "check: %s", mp_last_error_message());
            break;
        case 14: mp__sim_sync(st); break;
        case 15: mp__sim_advance(300000000u); break;
        }
    }
    for (int k = 0; k < 48; k++)
        if (held[k]) {
            size_t n = 0;
            mp_pool_usable_size(r->pool, held[k], &n);
            order_after(NULL, home[k]);
            mp__sim_watch(held[k], n, NULL);
            if (mp_pool_deallocate(r->pool, held[k]) != MP_OK)
                RFAIL(r, "final free: %s", mp_last_error_message());
        }
    return NULL;
}

static void race_on(const char *name, mp_config c)
{
    sim_again();
    mp_pool *p = new_gpu_pool(name, c);
    enum { N = 6 };
    pthread_t t[N];
    racer r[N];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, N);
    for (int i = 0; i < N; i++) {
        r[i] = (racer){.pool = p, .seed = (unsigned)i * 7919u + 11, .id = i,
                       .fixed = c.allocator_type == MP_ALLOCATOR_FIXED_SIZE, .block_size = c.block_size, .bar = &bar};
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&bar);
    for (int i = 0; i < N; i++)
        ck_assert_msg(!r[i].why[0], "%s, thread %d: %s", name, i, r[i].why);
    ck_intact(p);
    ck_assert_uint_eq(usage(0).violations, 0);
    mp_stats st = stats_of(p);
    ck_assert_uint_eq(st.live_allocations, 0);
    ck_assert_uint_eq(st.reserved_bytes, usage(0).in_use);
    ck_assert_uint_eq(st.peak_reserved_bytes, usage(0).peak);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, usage(0).in_use);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage(0).in_use, 0);
    ck_assert_uint_eq(usage(0).violations, 0);
}


START_TEST(threads_race_every_call)
{
    char name[32];
    snprintf(name, sizeof name, "race-%d", _i);
    mp_config c = preset(_i);
    race_on(name, c);
    c.max_size = 64 * MiB;
    if (c.initial_size > c.max_size)
        c.initial_size = 0;
    snprintf(name, sizeof name, "race-capped-%d", _i);
    race_on(name, c);
}
END_TEST

START_TEST(threads_race_on_a_tiny_device)
{
    mp__sim_end();
    sim_on(1, 32 * MiB, GRANULE);
    char name[32];
    snprintf(name, sizeof name, "race-tiny-%d", _i);
    race_on(name, preset(_i));
}
END_TEST

static Suite *attack_suite(void)
{
    Suite *s = suite_create("backing_attack");
    TCase *t = tcase_create("fuzz");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, fuzz_presets, 0, 5);
    tcase_add_loop_test(t, fuzz_max_size, 0, 5);
    tcase_add_loop_test(t, fuzz_tiny_device, 0, 5);
    tcase_add_loop_test(t, fuzz_without_on_demand_mapping, 0, 5);
    tcase_add_loop_test(t, threads_race_every_call, 0, 5);
    tcase_add_loop_test(t, hooks_call_back_into_a_gpu_pool, 0, 5);
    tcase_add_loop_test(t, a_forked_child_can_use_a_gpu_pool, 0, 5);
    tcase_add_loop_test(t, set_device_moves_an_empty_pool_between_simulated_devices, 0, 5);
    tcase_add_loop_test(t, a_failed_wait_before_unmapping_fails_trim_and_set_device_cleanly, 0, 2);
    tcase_add_test(t, set_device_takes_back_the_callers_cached_blocks_and_names_other_threads);
    tcase_add_test(t, set_device_takes_back_blocks_in_the_magazines_of_threads_gone);
    tcase_add_test(t, a_forked_child_moves_a_pool_whose_blocks_other_threads_cached_after_a_reset);
    tcase_add_loop_test(t, set_device_races_threads_on_their_caches, 0, 2);
    tcase_add_loop_test(t, set_stream_orders_the_new_stream_after_the_old, 0, 5);
    tcase_add_loop_test(t, threads_race_on_a_tiny_device, 0, 5);
    suite_add_tcase(s, t);
    TCase *b = tcase_create("bugs");
    tcase_add_checked_fixture(b, setup, teardown);
    tcase_add_test(b, a_mapping_that_fails_part_way_counts_in_the_peak);
    tcase_add_test(b, reset_keeps_blocks_freed_on_other_streams_behind_their_work);
    tcase_add_test(b, an_oom_hook_that_retries_does_not_pile_up_address_space);
    suite_add_tcase(s, b);
    return s;
}

MP_TEST_MAIN(attack_suite)
