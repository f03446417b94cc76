/* What the stream suites share (test_streams.c, test_streams_attack.c,
 * test_streams_steal.c): GPU pools on the host-side stand-in for two
 * devices (backend/cuda_sim.h), streams named by made-up handles, and the
 * caller's side of a stream free: work queued on the stream uses the
 * block, then it is freed there. */
#ifndef MP_STREAMS_TEST_H
#define MP_STREAMS_TEST_H

#include "mp_test.h"

#include "backend/cuda_sim.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define STREAM(i) ((void *)(uintptr_t)(0x5000 + 0x100 * (uintptr_t)(i)))
#define S1 STREAM(1)
#define S2 STREAM(2)

static inline void sim_on(size_t memory, size_t granule)
{
    mp__sim_begin(&(mp__sim_config){.devices = 2, .memory = memory, .granule = granule});
}

static inline void setup(void) { sim_on(1024 * MiB, 2 * MiB); }
static inline void teardown(void) { mp__sim_end(); }

static inline mp__sim_usage usage(void)
{
    mp__sim_usage u;
    mp__sim_usage_get(0, &u);
    return u;
}

static inline mp_config gpu_cfg(void)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    return c;
}

/* A GPU pool that keeps its idle memory mapped (nothing unmapped behind the
 * tests' backs). */
static inline mp_pool *gpu_pool_of(const char *name, mp_config c)
{
    mp_pool *p = new_gpu_pool(name, c);
    ck_ok(mp_pool_set_release_threshold(p, SIZE_MAX));
    return p;
}

/* A block for stream, which the stand-in says may go there. */
static inline void *on_stream(mp_pool *p, size_t n, void *stream)
{
    void *x = NULL;
    ck_ok(mp_pool_allocate_on_stream(p, n, stream, &x));
    ck_assert_ptr_nonnull(x);
    ck_assert(mp__sim_handout_safe(x, n, stream));
    return x;
}

static inline void used_then_freed(mp_pool *p, void *x, size_t n, void *stream)
{
    mp__sim_watch(x, n, stream);
    ck_ok(mp_pool_deallocate_on_stream(p, x, stream));
}

static inline uint64_t pending_bytes(mp_pool *p)
{
    mp_memory_snapshot snap = MP_MEMORY_SNAPSHOT_INIT;
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &snap, NULL, 0, NULL, 0));
    return snap.pending_bytes;
}

/* The end of a test: every stream done, every block back, the device
 * holding what the pool says, nothing it would not forgive; then the pool
 * goes and gives all back. */
static inline void ends_clean(mp_pool *p)
{
    mp__sim_sync_all();
    ck_ok(mp_pool_trim(p, 0));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.pending_frees, 0);
    ck_assert_uint_eq(s.live_allocations, 0);
    ck_assert_uint_eq(s.reserved_bytes, usage().in_use);
    ck_assert_uint_eq(usage().violations, 0);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(usage().in_use, 0);
}

#endif
