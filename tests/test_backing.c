/* GPU pools whose memory is mapped on demand (core/backing.h), on the
 * host-side stand-in for a device (backend/cuda_sim.h), so that every
 * machine runs them: what is mapped, when it goes back, out-of-memory,
 * max_size, stream frees, reset, trim, destroy, the release threshold, the
 * fallback where the device cannot map on demand, and threads. The
 * stand-in counts device memory itself, so each test checks the pool's
 * figures against what the "device" saw. */
#include "mp_test.h"

#include "backend/cuda_sim.h"

#include <pthread.h>

#define MiB ((size_t)1 << 20)
#define GRANULE (2 * MiB)

static void sim_on(size_t memory, size_t granule)
{
    mp__sim_begin(&(mp__sim_config){.devices = 1, .memory = memory, .granule = granule});
}

static void setup(void) { sim_on(1024 * MiB, GRANULE); }
static void teardown(void) { mp__sim_end(); }

static size_t device_use(void)
{
    mp__sim_usage u;
    mp__sim_usage_get(0, &u);
    return u.in_use;
}

static mp__sim_usage usage(void)
{
    mp__sim_usage u;
    mp__sim_usage_get(0, &u);
    return u;
}

/* Frees go on: the pool reads its clock every 32nd free past the threshold. */
static void frees_go_on(mp_pool *p)
{
    for (int i = 0; i < 64; i++) {
        void *x = alloc_ok(p, 256);
        ck_ok(mp_pool_deallocate(p, x));
    }
}

static mp_pool *gpu_pool(const char *name)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    return new_gpu_pool(name, c);
}

START_TEST(memory_is_mapped_under_live_blocks_only)
{
    mp_pool *p = gpu_pool("on-demand");
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 0); /* address space only */
    ck_assert_uint_eq(device_use(), 0);
    void *a = alloc_ok(p, 3 * MiB); /* two granules */
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 2 * GRANULE);
    ck_assert_uint_eq(device_use(), 2 * GRANULE);
    void *b = alloc_ok(p, 1000); /* on the second granule's spare room: nothing new */
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 2 * GRANULE);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_deallocate(p, b));
    /* Freed memory stays mapped for the next blocks: reused, not mapped again. */
    uint64_t maps = usage().maps;
    void *c = alloc_ok(p, 3 * MiB);
    ck_assert_uint_eq(usage().maps, maps);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 2 * GRANULE);
    ck_assert_uint_eq(stats_of(p).peak_reserved_bytes, 2 * GRANULE);
    ck_ok(mp_pool_deallocate(p, c));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(device_use(), 0);
}
END_TEST

START_TEST(trim_gives_idle_memory_back_at_once)
{
    mp_pool *p = gpu_pool("trim");
    void *keep = alloc_ok(p, 100);
    void *big = alloc_ok(p, 64 * MiB);
    ck_ok(mp_pool_deallocate(p, big));
    ck_assert_uint_ge(stats_of(p).reserved_bytes, 64 * MiB);
    ck_ok(mp_pool_trim(p, 0));
    /* The granule under the live block stays; everything idle went. */
    ck_assert_uint_eq(stats_of(p).reserved_bytes, GRANULE);
    ck_assert_uint_eq(device_use(), GRANULE);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, keep));
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
    ck_assert_uint_eq(device_use(), 0);
    ck_assert_uint_eq(stats_of(p).chunk_count, 0);
    void *again = alloc_ok(p, 5 * MiB); /* a trimmed pool grows again */
    ck_assert_uint_eq(device_use(), 3 * GRANULE);
    ck_ok(mp_pool_deallocate(p, again));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* The granules a block lacks map together, as allocations of at most
 * MP__BACKED_RUN granules, and each goes back whole: a small block placed
 * on a large freed run keeps that run (and only that one) mapped. */
START_TEST(runs_map_as_one_allocation_and_go_back_whole)
{
    mp_pool *p = gpu_pool("runs");
    uint64_t maps = usage().maps;
    void *big = alloc_ok(p, 64 * MiB); /* 32 granules: two allocations of 16 */
    ck_assert_uint_eq(usage().maps, maps + 2);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 64 * MiB);
    ck_ok(mp_pool_deallocate(p, big));
    void *small = alloc_ok(p, 100); /* best fit: at the start, on the first allocation */
    ck_assert_ptr_eq(small, big);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 16 * GRANULE); /* the second went, the first stays whole */
    ck_assert_uint_eq(device_use(), 16 * GRANULE);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, small));
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(device_use(), 0);
    /* A block over mapped and unmapped granules maps each missing run. */
    void *a = alloc_ok(p, 2 * MiB), *b = alloc_ok(p, 2 * MiB);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_trim(p, 2 * MiB)); /* a's granule goes, b's stays */
    ck_ok(mp_pool_deallocate(p, b));
    maps = usage().maps;
    void *c = alloc_ok(p, 8 * MiB); /* granule 0, then 2 and 3 around b's */
    ck_assert_ptr_eq(c, a);
    ck_assert_uint_eq(usage().maps, maps + 2);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 4 * GRANULE);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, c));
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(device_use(), 0);
}
END_TEST

START_TEST(idle_memory_goes_back_after_a_second_once_the_stream_has_passed)
{
    mp_pool *p = gpu_pool("decay");
    size_t t;
    ck_ok(mp_pool_get_release_threshold(p, &t));
    ck_assert_uint_eq(t, MP_DEFAULT_RELEASE_THRESHOLD);
    void *small = alloc_ok(p, 256);
    void *big = alloc_ok(p, 32 * MiB);
    ck_ok(mp_pool_deallocate(p, big)); /* idle now: a boundary is marked (an event on the stream) */
    mp__sim_advance(2000000000ull);     /* two seconds later... */
    frees_go_on(p);
    /* ...but the stream has not passed the free: the memory stays. */
    ck_assert_uint_ge(stats_of(p).reserved_bytes, 32 * MiB);
    mp__sim_sync(NULL); /* the pool's stream (NULL) catches up */
    frees_go_on(p);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, GRANULE); /* only the granule under `small` */
    ck_assert_uint_eq(device_use(), GRANULE);
    ck_assert_uint_eq(stats_of(p).peak_reserved_bytes, 17 * GRANULE);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, small));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(a_young_or_kept_idle_memory_stays)
{
    mp_pool *p = gpu_pool("threshold");
    void *small = alloc_ok(p, 256);
    /* Idle for less than a second: stays, stream or not. Four blocks of
     * 8 MiB, each mapped when it came (a mapped allocation goes back
     * whole, so the threshold below keeps whole ones). */
    void *big[4];
    for (int i = 0; i < 4; i++)
        big[i] = alloc_ok(p, 8 * MiB);
    for (int i = 0; i < 4; i++)
        ck_ok(mp_pool_deallocate(p, big[i]));
    mp__sim_sync(NULL);
    mp__sim_advance(400000000ull);
    frees_go_on(p);
    ck_assert_uint_ge(stats_of(p).reserved_bytes, 32 * MiB);
    /* Under the threshold: stays however old. */
    ck_ok(mp_pool_set_release_threshold(p, SIZE_MAX));
    mp__sim_advance(5000000000ull);
    mp__sim_sync(NULL);
    frees_go_on(p);
    ck_assert_uint_ge(stats_of(p).reserved_bytes, 32 * MiB);
    /* A threshold of 8 MiB keeps that much of it. */
    ck_ok(mp_pool_set_release_threshold(p, 8 * MiB));
    mp__sim_advance(5000000000ull);
    mp__sim_sync(NULL);
    for (int i = 0; i < 3; i++) { /* a boundary, then its maturity */
        frees_go_on(p);
        mp__sim_advance(1500000000ull);
        mp__sim_sync(NULL);
    }
    ck_assert_uint_eq(stats_of(p).reserved_bytes, GRANULE + 8 * MiB);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, small));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(device_out_of_memory_is_a_clear_error_and_idle_memory_is_used_first)
{
    mp__sim_end();
    sim_on(64 * MiB, GRANULE);
    mp_pool *p = gpu_pool("small-device");
    mp_pool_set_release_threshold(p, SIZE_MAX); /* nothing goes back on its own */
    void *a = alloc_ok(p, 48 * MiB);
    void *b = NULL;
    ck_status(mp_pool_allocate(p, 32 * MiB, &b), MP_ERR_OUT_OF_MEMORY);
    ck_assert_ptr_null(b);
    ck_detail_has("no device memory");
    ck_detail_has("small-device");
    ck_intact(p);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 48 * MiB);
    ck_assert_uint_eq(stats_of(p).failed_allocations, 1);
    /* Freed, the 48 MiB stay mapped (threshold), and are unmapped when the
     * device cannot give more: the request is served. */
    ck_ok(mp_pool_deallocate(p, a));
    b = alloc_ok(p, 60 * MiB);
    ck_assert_uint_le(device_use(), 64 * MiB);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(device_use(), 0);
}
END_TEST

START_TEST(max_size_bounds_mapped_memory)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    c.max_size = 64 * MiB;
    mp_pool *p = new_gpu_pool("capped", c);
    void *a = alloc_ok(p, 40 * MiB), *b = NULL;
    ck_status(mp_pool_allocate(p, 40 * MiB, &b), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("max_size");
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, a));
    b = alloc_ok(p, 40 * MiB); /* the idle memory again, or new in its place */
    void *d = NULL;
    ck_status(mp_pool_allocate(p, 30 * MiB, &d), MP_ERR_OUT_OF_MEMORY);
    ck_assert_uint_le(stats_of(p).reserved_bytes, 64 * MiB);
    ck_assert_uint_le(stats_of(p).peak_reserved_bytes, 64 * MiB);
    ck_assert_uint_le(usage().peak, 64 * MiB);
    d = alloc_ok(p, 20 * MiB);
    ck_ok(mp_pool_deallocate(p, b));
    ck_ok(mp_pool_deallocate(p, d));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(a_pool_capped_below_sixteen_granules_takes_exact_chunks)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    c.max_size = 16 * MiB; /* whole 2 MiB granules would round it: served exactly */
    mp_pool *p = new_gpu_pool("capped-small", c);
    void *a = alloc_ok(p, 10 * MiB), *b = NULL;
    ck_assert_uint_eq(usage().maps, 0);
    ck_assert_uint_ge(usage().mallocs, 1);
    b = alloc_ok(p, 3 * MiB + 123);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_deallocate(p, b));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(device_use(), 0);
}
END_TEST

START_TEST(a_block_freed_on_another_stream_keeps_its_memory_until_that_stream_passes)
{
    mp_pool *p = gpu_pool("streams");
    void *other = (void *)(uintptr_t)0x5000;
    void *a = alloc_ok(p, 8 * MiB);
    ck_ok(mp_pool_deallocate_on_stream(p, a, other));
    ck_ok(mp_pool_trim(p, 0)); /* waits for the pool's stream, not for `other` */
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 4 * GRANULE);
    ck_assert_uint_eq(stats_of(p).pending_frees, 1);
    mp__sim_sync(other);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
    ck_assert_uint_eq(device_use(), 0);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(blocks_waiting_on_other_streams_are_reused_before_more_memory_is_mapped)
{
    mp_pool *p = gpu_pool("steal");
    void *producer = (void *)(uintptr_t)0x5000, *consumer = (void *)(uintptr_t)0x6000;
    void *a = NULL, *b = NULL;
    ck_ok(mp_pool_allocate_on_stream(p, 8 * MiB, producer, &a));
    ck_ok(mp_pool_deallocate_on_stream(p, a, consumer)); /* the consumer still reads it */
    ck_assert_uint_eq(stats_of(p).pending_frees, 1);
    /* Its event has not completed: rather than map 8 MiB more, the pool's
     * stream waits for it, and the block is reused. */
    ck_ok(mp_pool_allocate_on_stream(p, 8 * MiB, producer, &b));
    ck_assert_ptr_eq(a, b);
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 8 * MiB);
    ck_assert_uint_eq(usage().maps, 1); /* its four granules, one allocation */
    ck_intact(p);
    ck_ok(mp_pool_deallocate_on_stream(p, b, producer));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

/* A snapshot of an on-demand pool tells memory (reserved, idle, per chunk
 * mapped) from address space, and counts blocks waiting on a stream in
 * bytes; a failure for want of device memory says all of it. */
static mp_memory_snapshot snapshot_of(const mp_pool *p, mp_snapshot_kind kind, mp_chunk_info *chunks, size_t cap)
{
    mp_memory_snapshot s = MP_MEMORY_SNAPSHOT_INIT;
    if (cap)
        chunks[0].struct_size = sizeof *chunks;
    ck_ok(mp_pool_memory_snapshot(p, kind, &s, cap ? chunks : NULL, cap, NULL, 0));
    ck_assert_uint_le(s.chunks_listed, cap);
    return s;
}

START_TEST(snapshots_tell_memory_from_address_space_and_count_stream_frees)
{
    mp_pool *p = gpu_pool("snapshot");
    mp_pool_set_release_threshold(p, SIZE_MAX); /* idle memory stays */
    void *other = (void *)(uintptr_t)0x5000;
    void *a = alloc_ok(p, 3 * MiB), *b = alloc_ok(p, 8 * MiB);
    mp_chunk_info ch[4];
    mp_memory_snapshot s = snapshot_of(p, MP_SNAPSHOT_NOW, ch, 4);
    mp_stats st = stats_of(p);
    ck_assert_uint_eq(s.reserved_bytes, st.reserved_bytes);
    ck_assert_uint_eq(s.reserved_bytes, device_use());
    ck_assert_uint_gt(s.address_space_bytes, s.reserved_bytes); /* address space, mapped where blocks are */
    ck_assert_uint_eq(s.idle_bytes, 0);
    ck_assert_uint_eq(s.in_use_bytes, 11 * MiB);
    ck_assert_uint_eq(s.chunk_count, 1);
    ck_assert_uint_eq(ch[0].mapped_bytes, s.reserved_bytes);
    ck_assert_uint_eq(ch[0].size, s.address_space_bytes);
    ck_assert_uint_eq(ch[0].live_blocks, 2);
    ck_assert_uint_eq(ch[0].backend, MP_BACKEND_CUDA_DEVICE);
    ck_assert_uint_eq(s.memory_type, MP_MEMORY_GPU);

    ck_ok(mp_pool_deallocate(p, b)); /* its granules but the one it shares with a: idle */
    s = snapshot_of(p, MP_SNAPSHOT_NOW, ch, 4);
    ck_assert_uint_eq(s.reserved_bytes, device_use());
    ck_assert_uint_gt(s.idle_bytes, 0);
    ck_assert_uint_eq(s.idle_bytes, ch[0].idle_bytes);
    ck_assert_uint_eq(s.reserved_bytes - s.idle_bytes, 2 * GRANULE); /* under a */
    ck_assert_uint_eq(s.in_use_bytes, 3 * MiB);

    ck_ok(mp_pool_deallocate_on_stream(p, a, other)); /* the other stream still reads it */
    s = snapshot_of(p, MP_SNAPSHOT_NOW, ch, 4);
    ck_assert_uint_eq(s.pending_bytes, 3 * MiB);
    ck_assert_uint_eq(s.pending_blocks, 1);
    ck_assert_uint_eq(s.live_blocks, 0);
    ck_assert_uint_eq(s.in_use_bytes, 0);
    ck_assert_uint_eq(ch[0].live_blocks, 1); /* handed out still, to the stream */
    mp__sim_sync(other);
    ck_ok(mp_pool_trim(p, 0));
    s = snapshot_of(p, MP_SNAPSHOT_NOW, ch, 4);
    ck_assert_uint_eq(s.pending_bytes, 0);
    ck_assert_uint_eq(s.reserved_bytes, 0);
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));

    mp__sim_end();
    sim_on(64 * MiB, GRANULE);
    p = gpu_pool("snapshot-small-device");
    mp_pool_set_release_threshold(p, SIZE_MAX);
    a = alloc_ok(p, 48 * MiB);
    void *x = NULL;
    ck_status(mp_pool_allocate(p, 32 * MiB, &x), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("no device memory for a 33554432-byte block"); /* the reason, whole */
    ck_detail_has("cudaErrorMemoryAllocation");
    ck_detail_has("; request 33554432 bytes aligned 256: reserved 50331648 of ");
    /* The peak is the device's: the request's one allocation of 32 MiB
     * failed whole, so it stayed at 48 MiB. */
    ck_detail_has(" address space, 0 idle (peak 50331648, no max_size), in use 50331648 in 1 blocks");
    ck_assert_uint_eq(stats_of(p).peak_reserved_bytes, usage().peak);
    s = snapshot_of(p, MP_SNAPSHOT_LAST_OOM, ch, 4);
    ck_assert_uint_eq(s.request_bytes, 32 * MiB);
    ck_assert_uint_eq(s.reserved_bytes, 48 * MiB);
    ck_assert_uint_eq(s.in_use_bytes, 48 * MiB);
    ck_assert_uint_eq(s.chunks_listed, s.chunk_count);
    uint64_t mapped = 0;
    for (size_t i = 0; i < s.chunks_listed; i++)
        mapped += ch[i].mapped_bytes;
    ck_assert_uint_eq(mapped, 48 * MiB);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(allocate_on_stream_checks_its_input)
{
    mp_pool *p = gpu_pool("on-stream");
    void *x = (void *)1;
    ck_status(mp_pool_allocate_on_stream(p, 0, NULL, &x), MP_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(x);
    ck_status(mp_pool_allocate_on_stream(p, 16, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_allocate_on_stream(NULL, 16, NULL, &x), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_allocate_on_stream(p, (size_t)1 << 50, NULL, &x), MP_ERR_OUT_OF_MEMORY);
    mp_pool *h = new_pool("host", cfg_variable(0));
    ck_status(mp_pool_allocate_on_stream(h, 16, NULL, &x), MP_ERR_INVALID_OPERATION);
    ck_ok(mp_pool_destroy(h));
    /* On the pool's own stream it is a plain allocation. */
    ck_ok(mp_pool_allocate_on_stream(p, 16, NULL, &x));
    ck_ok(mp_pool_deallocate(p, x));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
}
END_TEST

START_TEST(reset_leaves_memory_idle_and_destroy_gives_everything_back)
{
    mp_pool *p = gpu_pool("reset");
    for (int i = 0; i < 10; i++)
        alloc_ok(p, (size_t)(i + 1) * MiB);
    size_t mapped = stats_of(p).reserved_bytes;
    ck_assert_uint_ge(mapped, 55 * MiB);
    ck_ok(mp_pool_reset(p));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, mapped);
    ck_intact(p);
    void *a = alloc_ok(p, 20 * MiB); /* on the idle memory */
    ck_assert_uint_eq(stats_of(p).reserved_bytes, mapped);
    (void)a;
    ck_ok(mp_pool_destroy(p)); /* a live block and idle memory: all goes */
    ck_assert_uint_eq(device_use(), 0);
}
END_TEST

START_TEST(without_on_demand_mapping_chunks_come_from_cudaMalloc)
{
    mp__sim_end();
    sim_on(1024 * MiB, 0); /* the device cannot map on demand */
    mp_pool *p = gpu_pool("fallback");
    void *a = alloc_ok(p, 3 * MiB);
    ck_assert_uint_eq(usage().maps, 0);
    ck_assert_uint_ge(usage().mallocs, 1);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, device_use());
    ck_ok(mp_pool_deallocate(p, a));
    ck_intact(p);
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(device_use(), 0);
}
END_TEST

START_TEST(release_threshold_calls_check_their_input)
{
    mp_pool *p = gpu_pool("api");
    ck_status(mp_pool_get_release_threshold(p, NULL), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_set_release_threshold(NULL, 0), MP_ERR_INVALID_ARGUMENT);
    ck_ok(mp_pool_set_release_threshold(p, 123));
    size_t t = 0;
    ck_ok(mp_pool_get_release_threshold(p, &t));
    ck_assert_uint_eq(t, 123);
    mp_pool *h = new_pool("host", cfg_variable(0));
    ck_status(mp_pool_set_release_threshold(h, 0), MP_ERR_INVALID_OPERATION);
    ck_status(mp_pool_get_release_threshold(h, &t), MP_ERR_INVALID_OPERATION);
    ck_ok(mp_pool_destroy(h));
    ck_ok(mp_pool_destroy(p));
}
END_TEST

typedef struct worker {
    mp_pool *pool;
    unsigned seed;
    int failures;
} worker;

static void *churn(void *arg)
{
    worker *w = arg;
    void *held[32] = {0};
    for (int i = 0; i < mp_test_scaled(4000); i++) {
        int k = (int)(rand_r(&w->seed) % 32);
        if (held[k]) {
            if (mp_pool_deallocate(w->pool, held[k]) != MP_OK)
                w->failures++;
            held[k] = NULL;
        } else {
            size_t n = (size_t)1 << (rand_r(&w->seed) % 23); /* 1 B .. 4 MiB */
            if (mp_pool_allocate(w->pool, n, &held[k]) != MP_OK)
                w->failures++;
        }
    }
    for (int k = 0; k < 32; k++)
        if (held[k] && mp_pool_deallocate(w->pool, held[k]) != MP_OK)
            w->failures++;
    return NULL;
}

static void threads_on(const char *name, mp_config c)
{
    mp_pool *p = new_gpu_pool(name, c);
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){p, (unsigned)i * 7919u + 1, 0};
        pthread_create(&t[i], NULL, churn, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    ck_intact(p);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, device_use());
    ck_ok(mp_pool_trim(p, 0));
    ck_assert_uint_eq(stats_of(p).reserved_bytes, device_use());
    ck_ok(mp_pool_destroy(p));
    ck_assert_uint_eq(device_use(), 0);
}

START_TEST(threads_keep_the_counts_exact)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    threads_on("threads", c);
    ck_ok(mp_config_high_performance_gpu(&c, 0)); /* thread caches in front */
    threads_on("threads-lock-free", c);
}
END_TEST

static Suite *backing_suite(void)
{
    Suite *s = suite_create("backing");
    TCase *t = tcase_create("on-demand");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, memory_is_mapped_under_live_blocks_only);
    tcase_add_test(t, trim_gives_idle_memory_back_at_once);
    tcase_add_test(t, runs_map_as_one_allocation_and_go_back_whole);
    tcase_add_test(t, idle_memory_goes_back_after_a_second_once_the_stream_has_passed);
    tcase_add_test(t, a_young_or_kept_idle_memory_stays);
    tcase_add_test(t, device_out_of_memory_is_a_clear_error_and_idle_memory_is_used_first);
    tcase_add_test(t, max_size_bounds_mapped_memory);
    tcase_add_test(t, a_pool_capped_below_sixteen_granules_takes_exact_chunks);
    tcase_add_test(t, a_block_freed_on_another_stream_keeps_its_memory_until_that_stream_passes);
    tcase_add_test(t, blocks_waiting_on_other_streams_are_reused_before_more_memory_is_mapped);
    tcase_add_test(t, snapshots_tell_memory_from_address_space_and_count_stream_frees);
    tcase_add_test(t, allocate_on_stream_checks_its_input);
    tcase_add_test(t, reset_leaves_memory_idle_and_destroy_gives_everything_back);
    tcase_add_test(t, without_on_demand_mapping_chunks_come_from_cudaMalloc);
    tcase_add_test(t, release_threshold_calls_check_their_input);
    tcase_add_test(t, threads_keep_the_counts_exact);
    suite_add_tcase(s, t);
    return s;
}

MP_TEST_MAIN(backing_suite)
