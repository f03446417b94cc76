/* Attacks on the stream-ordered paths (third round): failures of the CUDA
 * calls that order one stream after another, bad input on the stream
 * calls, hooks that call back in, and threads racing every whole-pool call,
 * on the host-side stand-in (backend/cuda_sim.h). */
#include "mp_streams_test.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static mp_pool *roomy(const char *name, bool on_demand)
{
    mp__sim_end();
    sim_on(1024 * MiB, on_demand ? 2 * MiB : 0);
    mp_config c = gpu_cfg();
    if (!on_demand)
        c.initial_size = 64 * MiB;
    return gpu_pool_of(name, c);
}

/* ---- set_stream when neither a wait nor the host's wait can be had ------ */

/* mp_pool_set_stream orders the new stream after the old one with an event
 * record and a wait, and falls back to a host wait for the old stream when
 * either fails. When that host wait fails too, nothing orders the new
 * stream after the old one's work: the call fails with the CUDA error and
 * the pool keeps its old stream, never handing the new stream a block the
 * old stream still uses, or (on demand) letting a trim unmap it. _i even:
 * the record fails; odd: the wait fails; _i >= 2: a device that maps on
 * demand, trimmed after the call. */
START_TEST(set_stream_whose_record_or_wait_and_sync_fail_hands_out_nothing_in_use)
{
    mp_pool *p = roomy("set-stream-all-fail", _i >= 2);
    void *a = alloc_ok(p, 4 * MiB);
    mp__sim_watch(a, 4 * MiB, NULL); /* the pool's stream (NULL) uses a */
    ck_ok(mp_pool_deallocate(p, a)); /* freed in the pool stream's order */
    if (_i % 2 == 0)
        mp__sim_fail_records(0, 1);
    else
        mp__sim_fail_waits(0, 1);
    mp__sim_fail_syncs(0, 1);
    mp_status s = mp_pool_set_stream(p, S1);
    ck_assert_msg(s == MP_ERR_CUDA, "set_stream -> %s", mp_status_name(s));
    ck_assert_msg(strstr(mp_last_error_message(), "keeps its stream") &&
                      strstr(mp_last_error_message(), "cudaStreamSynchronize"),
                  "%s", mp_last_error_message());
    void *now = NULL;
    if (_i >= 2) { /* on demand: a trim waits for the pool's stream, then unmaps a's idle memory */
        mp_status t = mp_pool_trim(p, 0);
        ck_assert_msg(usage().violations == 0, "set_stream returned %s, trim %s: a's memory was unmapped while the "
                      "old stream still used it", mp_status_name(s), mp_status_name(t));
    }
    ck_ok(mp_pool_get_stream(p, &now));
    void *b = alloc_ok(p, 4 * MiB); /* on the pool's stream, whichever it is now */
    ck_assert_msg(mp__sim_handout_safe(b, 4 * MiB, now),
                  "set_stream returned %s and the pool's stream is now %p: a block the old stream still uses "
                  "went to it", mp_status_name(s), now);
    ck_assert_ptr_eq(now, NULL); /* the old stream stays */
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_set_stream(p, S1)); /* the device is well again: the move goes through */
    ck_ok(mp_pool_get_stream(p, &now));
    ck_assert_ptr_eq(now, S1);
    ends_clean(p);
}
END_TEST

/* mp_pool_reset takes back the blocks freed on other streams with the
 * pool's stream made to wait for their work, and the host waits for the
 * device where such a wait fails. When that fails too, a block freed on a
 * busy stream may still be in use: the reset is refused with the CUDA
 * error, live blocks stay live, and no block the busy stream uses is
 * handed out; once the device is well, the reset goes through. _i 1: a
 * second busy stream whose wait succeeds, so that the reset takes its
 * blocks back before it stops. */
START_TEST(reset_whose_waits_and_device_sync_fail_changes_nothing_in_use)
{
    mp_pool *p = roomy("reset-all-fail", false);
    void *live = alloc_ok(p, 1 * MiB);
    void *busy = NULL, *other = NULL;
    ck_ok(mp_pool_allocate_on_stream(p, 2 * MiB, S1, &busy));
    if (_i) /* before busy waits: a miss on S2 would take S1's lane back */
        ck_ok(mp_pool_allocate_on_stream(p, 2 * MiB, S2, &other));
    mp__sim_watch(busy, 2 * MiB, S1); /* S1's queued work uses busy */
    ck_ok(mp_pool_deallocate_on_stream(p, busy, S1));
    if (_i) {
        mp__sim_watch(other, 2 * MiB, S2);
        ck_ok(mp_pool_deallocate_on_stream(p, other, S2));
    }
    mp_stats before = {.struct_size = sizeof before};
    ck_ok(mp_pool_get_stats(p, &before));
    mp__sim_fail_waits(_i ? 1 : 0, 1); /* S1's lane's wait fails (the steal walks the lanes from the last) */
    mp__sim_fail_syncs(0, 1);
    mp_status s = mp_pool_reset(p);
    mp__sim_fail_waits(0, 0);
    ck_assert_msg(s == MP_ERR_CUDA, "reset -> %s", mp_status_name(s));
    ck_assert_msg(strstr(mp_last_error_message(), "was not reset") &&
                      strstr(mp_last_error_message(), "cudaDeviceSynchronize"),
                  "%s", mp_last_error_message());
    size_t usable = 0;
    ck_ok(mp_pool_usable_size(p, live, &usable)); /* still live */
    ck_assert_uint_ge(usable, 1 * MiB);
    mp_stats after = {.struct_size = sizeof after};
    ck_ok(mp_pool_get_stats(p, &after));
    ck_assert_uint_eq(after.current_used, before.current_used);
    for (int k = 0; k < 8; k++) { /* nothing S1 still uses goes to the pool's stream */
        void *b = alloc_ok(p, 2 * MiB);
        ck_assert_msg(mp__sim_handout_safe(b, 2 * MiB, NULL), "block %p handed out under S1's work", b);
        ck_ok(mp_pool_deallocate(p, b));
    }
    ck_ok(mp_pool_reset(p)); /* the device is well again */
    ck_assert_uint_eq(usage().violations, 0);
    ends_clean(p);
}
END_TEST

/* ---- bad input on the stream calls ------------------------------------- */

static const char *presets[] = {"default", "fixed", "high-perf", "debug"};

static mp_config preset_cfg(int i)
{
    mp_config c = MP_CONFIG_INIT;
    switch (i) {
    case 0: ck_ok(mp_config_default_gpu(&c)); break;
    case 1: ck_ok(mp_config_fixed_size_gpu(&c, 64 * KiB, 0)); break;
    case 2: ck_ok(mp_config_high_performance_gpu(&c, 0)); break;
    default: ck_ok(mp_config_debug_gpu(&c, 0)); break;
    }
    return c;
}

static size_t fit_n(int i, size_t n) { return i == 1 && n > 64 * KiB ? 64 * KiB : n; }

static void refused(mp_status got, mp_status want, const char *what)
{
    ck_assert_msg(got == want, "%s -> %s, expected %s (%s)", what, mp_status_name(got), mp_status_name(want),
                  mp_last_error_message());
    ck_assert_msg(mp_last_error_message() && mp_last_error_message()[0], "%s: no message", what);
}

START_TEST(bad_input_on_the_stream_calls_is_refused_and_the_pool_works_on)
{
    mp_pool *p = gpu_pool_of(presets[_i], preset_cfg(_i));
    mp_pool *q = gpu_pool_of("other", preset_cfg(0));
    size_t n = fit_n(_i, 48 * KiB);
    void *x = NULL, *y = NULL;

    /* NULL pool, NULL out */
    refused(mp_pool_allocate_on_stream(NULL, n, S1, &x), MP_ERR_INVALID_ARGUMENT, "allocate NULL pool");
    refused(mp_pool_deallocate_on_stream(NULL, (void *)0x1000, S1), MP_ERR_INVALID_ARGUMENT, "free NULL pool");
    refused(mp_pool_allocate_on_stream(p, n, S1, NULL), MP_ERR_INVALID_ARGUMENT, "allocate NULL out");
    /* size 0, huge sizes */
    x = (void *)1;
    refused(mp_pool_allocate_on_stream(p, 0, S1, &x), MP_ERR_INVALID_ARGUMENT, "size 0");
    ck_assert_ptr_null(x);
    mp_status s = mp_pool_allocate_on_stream(p, SIZE_MAX, S1, &x);
    ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY || s == MP_ERR_INVALID_ARGUMENT, "SIZE_MAX -> %s", mp_status_name(s));
    ck_assert_ptr_null(x);
    s = mp_pool_allocate_on_stream(p, SIZE_MAX / 2 + 1, S1, &x);
    ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY || s == MP_ERR_INVALID_ARGUMENT, "huge -> %s", mp_status_name(s));
    s = mp_pool_allocate_on_stream(p, 2048 * MiB, S1, &x); /* more than the device */
    ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY || s == MP_ERR_INVALID_ARGUMENT, "device+ -> %s", mp_status_name(s));
    ck_assert_ptr_null(x);

    /* NULL pointer, pointer of another pool, interior pointer */
    refused(mp_pool_deallocate_on_stream(p, NULL, S1), MP_ERR_INVALID_POINTER, "free NULL");
    y = on_stream(q, 4096, S1);
    refused(mp_pool_deallocate_on_stream(p, y, S1), MP_ERR_INVALID_POINTER, "free other pool's");
    ck_ok(mp_pool_deallocate_on_stream(q, y, S1));
    x = on_stream(p, n, S1);
    refused(mp_pool_deallocate_on_stream(p, (char *)x + 16, S2), MP_ERR_INVALID_POINTER, "interior");
    refused(mp_pool_deallocate_on_stream(p, (char *)x + 1, S2), MP_ERR_INVALID_POINTER, "interior+1");
    /* double free on a stream, then plainly, then on the pool's stream */
    mp__sim_watch(x, n, S1);
    ck_ok(mp_pool_deallocate_on_stream(p, x, S1));
    refused(mp_pool_deallocate_on_stream(p, x, S1), MP_ERR_INVALID_POINTER, "double on S1");
    refused(mp_pool_deallocate_on_stream(p, x, S2), MP_ERR_INVALID_POINTER, "double on S2");
    refused(mp_pool_deallocate(p, x), MP_ERR_INVALID_POINTER, "then plainly");
    refused(mp_pool_deallocate_on_stream(p, x, NULL), MP_ERR_INVALID_POINTER, "then on the pool's stream");
    size_t u;
    refused(mp_pool_usable_size(p, x, &u), MP_ERR_INVALID_POINTER, "usable size of a waiting block");
    void *r = NULL;
    refused(mp_pool_reallocate(p, x, n / 2, &r), MP_ERR_INVALID_POINTER, "reallocate a waiting block");
    ck_assert_uint_eq(stats_of(p).pending_frees, 1);
    /* the pool works on */
    void *z = on_stream(p, n, S1); /* S1's own block, at once */
    void *w = on_stream(p, n, S2);
    mp__sim_watch(z, n, S1);
    mp__sim_watch(w, n, S2);
    ck_ok(mp_pool_deallocate_on_stream(p, z, S2));
    ck_ok(mp_pool_deallocate_on_stream(p, w, S1));
    refused(mp_pool_deallocate_on_stream(p, w, S1), MP_ERR_INVALID_POINTER, "double w");
    ck_intact(p);

    /* a destroyed pool's handle */
    ck_ok(mp_pool_destroy(q));
    s = mp_pool_allocate_on_stream(q, 16, S1, &x);
    ck_assert_msg(s != MP_OK && mp_last_error_message()[0], "destroyed allocate -> %s", mp_status_name(s));
    s = mp_pool_deallocate_on_stream(q, z, S1);
    ck_assert_msg(s != MP_OK && mp_last_error_message()[0], "destroyed free -> %s", mp_status_name(s));
    s = mp_pool_set_stream(q, S1);
    ck_assert_msg(s != MP_OK, "destroyed set_stream -> %s", mp_status_name(s));
    s = mp_pool_set_release_threshold(q, 0);
    ck_assert_msg(s != MP_OK, "destroyed set_release_threshold -> %s", mp_status_name(s));
    s = mp_pool_trim(q, 0);
    ck_assert_msg(s != MP_OK, "destroyed trim -> %s", mp_status_name(s));
    ends_clean(p);
}
END_TEST


/* ---- threads on their own streams, freeing on each other's ------------ */

enum { W = 4, WK = 16 };

typedef struct racer3 {
    mp_pool *pool;
    int id;
    unsigned seed;
    volatile int *stop;
    bool fixed;
    char why[256];
} racer3;

#define R3FAIL(r, ...)                                                                             \
    do {                                                                                           \
        if (!(r)->why[0])                                                                          \
            snprintf((r)->why, sizeof (r)->why, __VA_ARGS__);                                      \
    } while (0)

static void *wstream(int i) { return STREAM(20 + i); }

/* stream waits for the work queued on home so far (the caller's order). */
static void after(void *stream, void *home)
{
    void *ev = NULL;
    if (stream != home && mp__sim_event_record(0, home, &ev) == MP_OK) {
        mp__sim_stream_wait(stream, ev);
        mp__sim_event_drop(ev);
    }
}

static void *racer3_run(void *arg)
{
    racer3 *r = arg;
    void *held[WK] = {0};
    size_t n[WK] = {0};
    void *mine = wstream(r->id);
    for (int round = 0; round < mp_test_scaled(20000); round++) {
        int k = (int)(rand_r(&r->seed) % WK);
        if (held[k]) {
            /* used on my stream, freed on another's (ordered after mine) or a shared one */
            unsigned pick = (unsigned)rand_r(&r->seed) % (W + 2);
            void *on = pick < W ? wstream((int)pick) : pick == W ? NULL : S1;
            after(on, mine);
            mp__sim_watch(held[k], n[k], on);
            mp_status s = mp_pool_deallocate_on_stream(r->pool, held[k], on);
            if (s != MP_OK)
                R3FAIL(r, "free %p on %p: %s", held[k], on, mp_last_error_message());
            held[k] = NULL;
        } else {
            size_t want = (size_t)256 << (rand_r(&r->seed) % 15);
            want += (size_t)rand_r(&r->seed) % want;
            if (r->fixed && want > 64 * KiB)
                want = 64 * KiB;
            void *x = NULL;
            mp_status s = mp_pool_allocate_on_stream(r->pool, want, mine, &x);
            if (s == MP_OK) {
                if (!mp__sim_handout_safe(x, want, mine))
                    R3FAIL(r, "%p+%zu handed to %p while in use", x, want, mine);
                mp__sim_watch(x, want, mine);
                held[k] = x;
                n[k] = want;
            } else if (s != MP_ERR_OUT_OF_MEMORY) {
                R3FAIL(r, "allocate: %s", mp_last_error_message());
            }
        }
        if (rand_r(&r->seed) % 16 == 0)
            mp__sim_sync(wstream(rand_r(&r->seed) % W));
        if (rand_r(&r->seed) % 64 == 0)
            mp__sim_sync(S1);
        if (rand_r(&r->seed) % 64 == 0)
            mp__sim_sync(NULL);
    }
    for (int k = 0; k < WK; k++)
        if (held[k]) {
            after(NULL, mine);
            if (mp_pool_deallocate_on_stream(r->pool, held[k], NULL) != MP_OK)
                R3FAIL(r, "final free: %s", mp_last_error_message());
        }
    return NULL;
}

typedef struct controller {
    mp_pool *pool;
    volatile int *stop;
    unsigned seed;
    bool set_stream;
    char why[256];
} controller;

static void *control_run(void *arg)
{
    controller *c = arg;
    while (!__atomic_load_n(c->stop, __ATOMIC_ACQUIRE)) {
        mp_status s = MP_OK;
        switch (rand_r(&c->seed) % 8) {
        case 0: s = mp_pool_trim(c->pool, rand_r(&c->seed) % 2 ? 0 : 16 * MiB); break;
        case 1: {
            mp_stats st = MP_STATS_INIT;
            s = mp_pool_get_stats(c->pool, &st);
            break;
        }
        case 2: {
            mp_memory_snapshot snap = MP_MEMORY_SNAPSHOT_INIT;
            mp_chunk_info chunks[8];
            for (int i = 0; i < 8; i++)
                chunks[i] = (mp_chunk_info){.struct_size = sizeof(mp_chunk_info)};
            s = mp_pool_memory_snapshot(c->pool, MP_SNAPSHOT_NOW, &snap, chunks, 8, NULL, 0);
            if (s == MP_ERR_BUFFER_TOO_SMALL)
                s = MP_OK;
            break;
        }
        case 3: {
            char *j = NULL;
            s = mp_pool_memory_snapshot_json(c->pool, MP_SNAPSHOT_NOW, &j);
            mp_string_free(j);
            break;
        }
        case 4:
            if (c->set_stream) {
                unsigned w = (unsigned)rand_r(&c->seed) % 3;
                s = mp_pool_set_stream(c->pool, w == 0 ? NULL : w == 1 ? S1 : S2);
            }
            break;
        case 5: s = mp_pool_set_release_threshold(c->pool, rand_r(&c->seed) % 2 ? 0 : SIZE_MAX); break;
        case 6: {
            char *j = NULL;
            s = mp_pool_stats_json(c->pool, &j);
            mp_string_free(j);
            break;
        }
        case 7: s = mp_pool_check(c->pool); break;
        }
        if (s != MP_OK && !c->why[0])
            snprintf(c->why, sizeof c->why, "%s", mp_last_error_message());
        mp__sim_advance(50000000u);
    }
    return NULL;
}

/* _i: 0 default, 1 fixed, 2 high performance; +3: set_stream races too. */
START_TEST(threads_free_on_each_others_streams_while_the_pool_is_looked_at)
{
    mp__sim_end();
    sim_on(512 * MiB, _i % 2 ? 0 : 2 * MiB);
    mp_config c = preset_cfg(_i % 3);
    mp_pool *p = new_gpu_pool("race3", c);
    volatile int stop = 0;
    pthread_t t[W], ct;
    racer3 r[W];
    controller ctl = {.pool = p, .stop = &stop, .seed = 99u + (unsigned)_i, .set_stream = _i % 6 >= 3};
    for (int i = 0; i < W; i++) {
        r[i] = (racer3){.pool = p, .id = i, .seed = 7u * (unsigned)i + 13u * (unsigned)_i + 1u, .stop = &stop,
                      .fixed = _i % 3 == 1};
        pthread_create(&t[i], NULL, racer3_run, &r[i]);
    }
    pthread_create(&ct, NULL, control_run, &ctl);
    for (int i = 0; i < W; i++)
        pthread_join(t[i], NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(ct, NULL);
    for (int i = 0; i < W; i++)
        ck_assert_msg(!r[i].why[0], "thread %d: %s", i, r[i].why);
    ck_assert_msg(!ctl.why[0], "controller: %s", ctl.why);
    ck_assert_uint_eq(usage().violations, 0);
    mp_stats st = stats_of(p);
    ck_assert_uint_eq(st.live_allocations, 0);
    ck_assert_uint_eq(st.allocation_count, st.deallocation_count);
    ends_clean(p);
}
END_TEST


/* ---- a walk with every kind of CUDA failure armed for one call ---------- */

typedef struct fwalk {
    mp_pool *pool;
    unsigned seed;
    void *pool_stream;
    int device;
    bool fixed;
    void *x[48];
    size_t n[48];
    void *home[48];
    int handouts, failures;
} fwalk;

static void *any_stream(fwalk *w)
{
    unsigned r = (unsigned)rand_r(&w->seed) % 6;
    return r == 0 ? NULL : STREAM(r);
}

/* One kind of failure armed for the next library call (0: none). */
static void arm(fwalk *w)
{
    unsigned kind = (unsigned)rand_r(&w->seed) % 10, after = (unsigned)rand_r(&w->seed) % 3;
    switch (kind) {
    case 0: mp__sim_fail_waits(after, 1); break;
    case 1: mp__sim_fail_records(after, 1); break;
    case 2: mp__sim_fail_syncs(after, 1); break;
    case 3: mp__sim_fail_maps(after, 1); break;
    default: break;
    }
}

static void disarm(void)
{
    mp__sim_fail_waits(0, 0);
    mp__sim_fail_records(0, 0);
    mp__sim_fail_syncs(0, 0);
    mp__sim_fail_maps(0, 0);
}

static bool overlaps_held(const fwalk *w, int skip, const void *p, size_t n)
{
    for (int k = 0; k < 48; k++)
        if (k != skip && w->x[k] && (uintptr_t)p < (uintptr_t)w->x[k] + w->n[k] &&
            (uintptr_t)w->x[k] < (uintptr_t)p + n)
            return true;
    return false;
}

static void fwalk_step(fwalk *w, int step)
{
    int k = (int)(rand_r(&w->seed) % 48);
    unsigned op = (unsigned)rand_r(&w->seed) % 20;
    void *st = any_stream(w);
    mp_status s;
    if (op < 12 && w->x[k]) { /* free: on a stream, or plainly */
        bool plain = op < 3;
        void *on = plain ? w->pool_stream : st;
        after(on, w->home[k]);
        mp__sim_watch(w->x[k], w->n[k], on);
        arm(w);
        s = plain ? mp_pool_deallocate(w->pool, w->x[k]) : mp_pool_deallocate_on_stream(w->pool, w->x[k], on);
        disarm();
        if (s == MP_OK) {
            w->x[k] = NULL;
        } else {
            ck_assert_msg(s == MP_ERR_CUDA && !plain, "step %d: free -> %s: %s", step, mp_status_name(s),
                          mp_last_error_message());
            w->failures++;
            w->home[k] = on; /* still live, and used on `on` too (after home): the caller frees it later */
            size_t u = 0;
            ck_ok(mp_pool_usable_size(w->pool, w->x[k], &u));
        }
        return;
    }
    if (op < 12) { /* allocate */
        size_t want = (size_t)256 << (rand_r(&w->seed) % 16);
        want += (size_t)rand_r(&w->seed) % want;
        if (w->fixed && want > 64 * KiB)
            want = 64 * KiB;
        bool plain = op < 3;
        void *on = plain ? w->pool_stream : st;
        void *p = NULL;
        arm(w);
        s = plain ? mp_pool_allocate(w->pool, want, &p) : mp_pool_allocate_on_stream(w->pool, want, on, &p);
        disarm();
        if (s != MP_OK) {
            ck_assert_msg(s == MP_ERR_CUDA || s == MP_ERR_OUT_OF_MEMORY, "step %d: allocate -> %s: %s", step,
                          mp_status_name(s), mp_last_error_message());
            ck_assert_ptr_null(p);
            w->failures++;
            return;
        }
        w->handouts++;
        ck_assert_msg(mp__sim_handout_safe(p, want, on), "step %d: %p+%zu handed to %p while in use", step, p,
                      want, on);
        ck_assert_msg(!overlaps_held(w, -1, p, want), "step %d: %p+%zu overlaps a live block", step, p, want);
        ck_assert_msg(mp__sim_mapped(p, want), "step %d: %p+%zu not mapped", step, p, want);
        mp__sim_watch(p, want, on);
        w->x[k] = p;
        w->n[k] = want;
        w->home[k] = on;
        return;
    }
    switch (op) {
    case 12:
        arm(w);
        s = mp_pool_trim(w->pool, rand_r(&w->seed) % 2 ? 0 : 32 * MiB);
        disarm();
        ck_assert_msg(s == MP_OK || s == MP_ERR_CUDA, "trim -> %s", mp_status_name(s));
        break;
    case 13: { /* set_stream: the record or the wait may fail, not the host's wait too (known) */
        void *to = any_stream(w);
        unsigned kind = (unsigned)rand_r(&w->seed) % 3;
        if (kind == 0)
            mp__sim_fail_waits(0, 1);
        else if (kind == 1)
            mp__sim_fail_records(0, 1);
        s = mp_pool_set_stream(w->pool, to);
        disarm();
        ck_assert_msg(s == MP_OK, "set_stream -> %s", mp_status_name(s));
        w->pool_stream = to;
        break;
    }
    case 14: {
        mp_stats stats = stats_of(w->pool);
        ck_assert_uint_le(stats.pending_frees, 48);
        char *j = NULL;
        ck_ok(mp_pool_memory_snapshot_json(w->pool, MP_SNAPSHOT_NOW, &j));
        mp_string_free(j);
        break;
    }
    case 15:
        mp__sim_sync(st);
        break;
    case 16:
        mp__sim_advance(600000000u);
        arm(w);
        ck_ok(mp_pool_set_release_threshold(w->pool, rand_r(&w->seed) % 2 ? 0 : 16 * MiB));
        disarm();
        break;
    case 17: { /* a move: refused while blocks live; when all are free, to the other device */
        int to = 1 - w->device;
        arm(w);
        s = mp_pool_set_device(w->pool, to);
        disarm();
        bool any = false;
        for (int i = 0; i < 48; i++)
            any |= w->x[i] != NULL;
        if (s == MP_OK) {
            ck_assert_msg(!any, "step %d: moved with blocks live", step);
            w->device = to;
        } else {
            ck_assert_msg(s == MP_ERR_INVALID_OPERATION || s == MP_ERR_CUDA, "set_device -> %s: %s",
                          mp_status_name(s), mp_last_error_message());
        }
        break;
    }
    case 18: /* everything freed (plainly, after its stream), now and then */
        if (rand_r(&w->seed) % 4 == 0) {
            for (int i = 0; i < 48; i++)
                if (w->x[i]) {
                    after(w->pool_stream, w->home[i]);
                    mp__sim_watch(w->x[i], w->n[i], w->pool_stream);
                    ck_ok(mp_pool_deallocate(w->pool, w->x[i]));
                    w->x[i] = NULL;
                }
        }
        break;
    case 19:
        if (rand_r(&w->seed) % 8 == 0) { /* a reset: every block free in the pool stream's order */
            for (int i = 0; i < 48; i++)
                if (w->x[i]) {
                    after(w->pool_stream, w->home[i]);
                    mp__sim_watch(w->x[i], w->n[i], w->pool_stream);
                    w->x[i] = NULL;
                }
            arm(w);
            ck_ok(mp_pool_reset(w->pool));
            disarm();
        }
        break;
    }
    ck_assert_uint_eq(usage().violations, 0);
}

/* _i: preset (0 default, 1 fixed, 2 high performance) x (even: on-demand
 * device; odd: cudaMalloc chunks). */
START_TEST(a_walk_with_one_failing_cuda_call_at_a_time_stays_safe)
{
    mp__sim_end();
    mp__sim_begin(&(mp__sim_config){.devices = 2, .memory = 768 * MiB, .granule = _i % 2 ? 0 : 2 * MiB});
    int pr = (_i / 2) % 3;
    fwalk w = {.pool = new_gpu_pool("fwalk", preset_cfg(pr)), .seed = 1234u + (unsigned)_i, .fixed = pr == 1};
    for (int step = 0; step < mp_test_scaled(8000); step++) {
        fwalk_step(&w, step);
        if (step % 97 == 0)
            ck_intact(w.pool);
    }
    ck_assert_int_gt(w.handouts, 1000);
    for (int i = 0; i < 48; i++)
        if (w.x[i]) {
            after(w.pool_stream, w.home[i]);
            mp__sim_watch(w.x[i], w.n[i], w.pool_stream);
            ck_ok(mp_pool_deallocate(w.pool, w.x[i]));
        }
    mp__sim_sync_all();
    ck_ok(mp_pool_trim(w.pool, 0));
    mp_stats st = stats_of(w.pool);
    ck_assert_uint_eq(st.pending_frees, 0);
    ck_assert_uint_eq(st.live_allocations, 0);
    mp__sim_usage u;
    mp__sim_usage_get(w.device, &u);
    ck_assert_uint_eq(st.reserved_bytes, u.in_use);
    ck_assert_uint_eq(u.violations, 0);
    ck_intact(w.pool);
    ck_ok(mp_pool_destroy(w.pool));
    mp__sim_usage_get(0, &u);
    ck_assert_uint_eq(u.in_use, 0);
    mp__sim_usage_get(1, &u);
    ck_assert_uint_eq(u.in_use, 0);
}
END_TEST


/* ---- hooks that call back in on the stream paths ------------------------ */

typedef struct hook3 {
    unsigned seed;
    void *x[8];
    size_t n[8];
    void *home[8];
    int calls, unsafe, bad;
    bool fixed;
    char why[256];
} hook3;

static void hook_work(hook3 *h, mp_pool *pool)
{
    h->calls++;
    for (int round = 0; round < 3; round++) {
        int k = (int)(rand_r(&h->seed) % 8);
        void *st = STREAM(1 + rand_r(&h->seed) % 4);
        mp_status s = MP_OK;
        switch (rand_r(&h->seed) % 7) {
        case 0:
        case 1:
            if (h->x[k]) {
                after(st, h->home[k]);
                mp__sim_watch(h->x[k], h->n[k], st);
                s = mp_pool_deallocate_on_stream(pool, h->x[k], st);
                h->x[k] = NULL;
            } else {
                size_t n = h->fixed ? 64 * KiB : (size_t)64 * KiB << (rand_r(&h->seed) % 8);
                void *p = NULL;
                s = mp_pool_allocate_on_stream(pool, n, st, &p);
                if (s == MP_OK) {
                    if (!mp__sim_handout_safe(p, n, st) && !h->why[0])
                        snprintf(h->why, sizeof h->why, "hook: %p+%zu handed to %p while in use", p, n, st);
                    mp__sim_watch(p, n, st);
                    h->x[k] = p, h->n[k] = n, h->home[k] = st;
                } else if (s == MP_ERR_OUT_OF_MEMORY) {
                    s = MP_OK;
                }
            }
            break;
        case 2: s = mp_pool_trim(pool, 0); break;
        case 3: {
            mp_stats st2 = MP_STATS_INIT;
            s = mp_pool_get_stats(pool, &st2);
            break;
        }
        case 4: {
            char *j = NULL;
            s = mp_pool_memory_snapshot_json(pool, MP_SNAPSHOT_NOW, &j);
            mp_string_free(j);
            break;
        }
        case 5: s = mp_pool_set_stream(pool, rand_r(&h->seed) % 2 ? NULL : STREAM(1 + rand_r(&h->seed) % 4)); break;
        case 6: mp__sim_sync(st); break;
        }
        if (s != MP_OK && !h->why[0])
            snprintf(h->why, sizeof h->why, "hook call: %s", mp_last_error_message());
    }
}

static mp_status grow3(void *user, mp_pool *pool, size_t need, size_t *out, char *detail, size_t cap)
{
    (void)detail, (void)cap;
    hook_work(user, pool);
    *out = need;
    return MP_OK;
}

static mp_status oom3(void *user, mp_pool *pool, size_t size, char *detail, size_t cap)
{
    (void)size, (void)detail, (void)cap;
    hook3 *h = user;
    hook_work(h, pool);
    mp__sim_sync_all();
    return MP_OK;
}

/* _i: preset (0 default, 1 fixed, 2 high performance) x on demand or not. */
START_TEST(hooks_that_call_the_stream_paths_keep_every_handout_safe)
{
    mp__sim_end();
    mp__sim_begin(&(mp__sim_config){.devices = 2, .memory = 64 * MiB, .granule = _i % 2 ? 0 : 2 * MiB});
    int pr = (_i / 2) % 3;
    mp_config c = preset_cfg(pr);
    c.initial_size = 0;
    mp_pool *p = new_gpu_pool("hooks3", c);
    hook3 h = {.seed = 31u + (unsigned)_i, .fixed = pr == 1};
    mp_policy pol = {sizeof pol, &h, grow3, oom3, NULL, NULL};
    ck_ok(mp_pool_set_policy(p, &pol));
    void *x[24] = {0}, *home[24] = {0};
    size_t n[24] = {0};
    unsigned seed = 5u + (unsigned)_i;
    for (int step = 0; step < mp_test_scaled(3000); step++) {
        int k = (int)(rand_r(&seed) % 24);
        void *st = STREAM(1 + rand_r(&seed) % 4);
        if (x[k]) {
            after(st, home[k]);
            mp__sim_watch(x[k], n[k], st);
            ck_ok(mp_pool_deallocate_on_stream(p, x[k], st));
            x[k] = NULL;
            continue;
        }
        size_t want = (size_t)16 * KiB << (rand_r(&seed) % 12);
        if (pr == 1 && want > 64 * KiB)
            want = 64 * KiB;
        void *q = NULL;
        mp_status s = mp_pool_allocate_on_stream(p, want, st, &q);
        ck_assert_msg(!h.why[0], "step %d: %s", step, h.why);
        if (s != MP_OK) {
            ck_assert_msg(s == MP_ERR_OUT_OF_MEMORY, "step %d: %s", step, mp_last_error_message());
            continue;
        }
        ck_assert_msg(mp__sim_handout_safe(q, want, st), "step %d: %p+%zu handed to %p while in use", step, q,
                      want, st);
        mp__sim_watch(q, want, st);
        x[k] = q, n[k] = want, home[k] = st;
        if (step % 50 == 0) {
            ck_intact(p);
            ck_assert_uint_eq(usage().violations, 0);
        }
    }
    if (pr != 1) /* a fixed pool's 64 KiB blocks never run short here */
        ck_assert_int_gt(h.calls, 0);
    ck_ok(mp_pool_set_policy(p, NULL));
    for (int k = 0; k < 24; k++)
        if (x[k]) {
            mp__sim_watch(x[k], n[k], home[k]);
            ck_ok(mp_pool_deallocate_on_stream(p, x[k], home[k]));
        }
    for (int k = 0; k < 8; k++)
        if (h.x[k])
            ck_ok(mp_pool_deallocate_on_stream(p, h.x[k], h.home[k]));
    ends_clean(p);
}
END_TEST


/* ---- fork while threads allocate and free on streams -------------------- */

static volatile int forking;
static size_t child_max = SIZE_MAX;

static void *fork_churn(void *arg)
{
    racer3 *r = arg;
    void *held[8] = {0};
    void *mine = wstream(r->id);
    while (__atomic_load_n(&forking, __ATOMIC_ACQUIRE)) {
        int k = (int)(rand_r(&r->seed) % 8);
        if (held[k]) {
            void *on = wstream((int)(rand_r(&r->seed) % W));
            after(on, mine);
            mp_pool_deallocate_on_stream(r->pool, held[k], on);
            held[k] = NULL;
        } else {
            size_t n = (size_t)4096 << (rand_r(&r->seed) % 10);
            mp_pool_allocate_on_stream(r->pool, n > child_max ? child_max : n, mine, &held[k]);
        }
        if (rand_r(&r->seed) % 32 == 0)
            mp_pool_trim(r->pool, 0);
        if (rand_r(&r->seed) % 8 == 0)
            mp__sim_sync(wstream((int)(rand_r(&r->seed) % W)));
    }
    for (int k = 0; k < 8; k++)
        if (held[k])
            mp_pool_deallocate_on_stream(r->pool, held[k], mine);
    return NULL;
}

/* The child's side: every stream call answers a clean status. */
static int child_uses(mp_pool *p)
{
    alarm(20);
    int bad = 0;
    void *x[16] = {0};
    for (int i = 0; i < 200; i++) {
        int k = i % 16;
        void *st = STREAM(1 + i % 5);
        if (x[k]) {
            mp_status s = mp_pool_deallocate_on_stream(p, x[k], st);
            bad += s != MP_OK && s != MP_ERR_CUDA;
            x[k] = NULL;
        } else {
            size_t n = (size_t)8192 << (i % 8);
            n = n > child_max ? child_max : n;
            mp_status s = mp_pool_allocate_on_stream(p, n, st, &x[k]);
            bad += s != MP_OK && s != MP_ERR_CUDA && s != MP_ERR_OUT_OF_MEMORY;
            if (s == MP_OK && !mp__sim_handout_safe(x[k], n, st))
                bad += 100;
        }
        if (i % 40 == 0) {
            mp_stats st2 = MP_STATS_INIT;
            bad += mp_pool_get_stats(p, &st2) != MP_OK;
            mp_status s = mp_pool_trim(p, 0);
            bad += s != MP_OK && s != MP_ERR_CUDA;
            mp__sim_sync_all();
        }
    }
    mp_status s = mp_pool_reset(p);
    bad += s != MP_OK;
    s = mp_pool_set_device(p, 1);
    bad += s != MP_OK && s != MP_ERR_INVALID_OPERATION && s != MP_ERR_CUDA;
    bad += mp_pool_destroy(p) != MP_OK;
    return bad > 255 ? 255 : bad;
}

START_TEST(a_child_forked_while_threads_steal_and_fence_gets_clean_answers)
{
    mp_config c = preset_cfg(_i);
    mp_pool *p = new_gpu_pool("fork3", c);
    child_max = _i == 1 ? 64 * KiB : SIZE_MAX;
    __atomic_store_n(&forking, 1, __ATOMIC_RELEASE);
    pthread_t t[W];
    racer3 r[W];
    for (int i = 0; i < W; i++) {
        r[i] = (racer3){.pool = p, .id = i, .seed = 3u * (unsigned)i + 1u};
        pthread_create(&t[i], NULL, fork_churn, &r[i]);
    }
    for (int f = 0; f < 12; f++) {
        nanosleep(&(struct timespec){0, 2000000}, NULL);
        pid_t pid = fork();
        if (pid == 0)
            _exit(child_uses(p));
        ck_assert_int_gt(pid, 0);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "fork %d: child died (signal %d)", f,
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        ck_assert_msg(WEXITSTATUS(status) == 0, "fork %d: %d bad answers in the child", f, WEXITSTATUS(status));
    }
    __atomic_store_n(&forking, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < W; i++)
        pthread_join(t[i], NULL);
    ends_clean(p);
}
END_TEST

static Suite *streams_attack3_suite(void)
{
    Suite *s = suite_create("streams_attack3");
    TCase *t = tcase_create("attack3");
    tcase_set_timeout(t, 300);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, bad_input_on_the_stream_calls_is_refused_and_the_pool_works_on, 0, 4);
    tcase_add_loop_test(t, threads_free_on_each_others_streams_while_the_pool_is_looked_at, 0, 12);
    tcase_add_loop_test(t, a_walk_with_one_failing_cuda_call_at_a_time_stays_safe, 0, 24);
    tcase_add_loop_test(t, hooks_that_call_the_stream_paths_keep_every_handout_safe, 0, 12);
    tcase_add_loop_test(t, a_child_forked_while_threads_steal_and_fence_gets_clean_answers, 0, 3);
    suite_add_tcase(s, t);
    TCase *b = tcase_create("ordering_fails_whole");
    tcase_add_checked_fixture(b, setup, teardown);
    tcase_add_loop_test(b, set_stream_whose_record_or_wait_and_sync_fail_hands_out_nothing_in_use, 0, 4);
    tcase_add_loop_test(b, reset_whose_waits_and_device_sync_fail_changes_nothing_in_use, 0, 2);
    suite_add_tcase(s, b);
    return s;
}

MP_TEST_MAIN(streams_attack3_suite)
