/* GPU pools. Two suites in one binary:
 *   test_gpu device    - needs a CUDA device; skips (exit 77) without one
 *   test_gpu nodevice  - runs where no device is: every GPU path must answer
 *                        MP_ERR_UNSUPPORTED with a message and harm nothing
 * Only the C ABI is used: data moves through the pool's copy helpers. */
#include "mp_test.h"

#define SKIP 77

#ifdef MEMPOOL_TEST_CUDA
#include <cuda_runtime_api.h>
int mpt_fill(void *p, size_t words, unsigned seed, void *stream);
int mpt_spin(void *p, double ms, void *stream);

static mp_pool *fixed_gpu(const char *name, size_t block, size_t blocks)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_fixed_size_gpu(&c, block, 0));
    c.initial_size = c.max_size = block * blocks;
    mp_pool *p = NULL;
    ck_ok(mp_pool_create(name, MP_MEMORY_GPU, &c, &p));
    return p;
}

/* A kernel writes a pattern into pool memory; the host reads it back. */
START_TEST(a_kernel_writes_pool_memory)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    mp_pool *p = NULL;
    ck_ok(mp_pool_create("kernel", MP_MEMORY_GPU, &c, &p));
    enum { WORDS = 1 << 18 };
    unsigned *d = NULL, *h = malloc(WORDS * sizeof *h);
    ck_ok(mp_pool_allocate(p, WORDS * sizeof *d, (void **)&d));
    ck_assert_int_eq(mpt_fill(d, WORDS, 0xABCDu, NULL), 0);
    ck_assert_int_eq(cudaMemsetAsync(d, 0, 16, NULL), 0); /* and cudaMemset on pool memory */
    ck_ok(mp_pool_copy_device_to_host(p, h, d, WORDS * sizeof *d));
    for (unsigned i = 0; i < WORDS; i++)
        ck_assert_uint_eq(h[i], i < 4 ? 0u : (0xABCDu ^ (unsigned)(i * 2654435761u)));
    ck_ok(mp_pool_deallocate(p, d));
    free(h);
    mp_pool_destroy(p);
}
END_TEST

/* A block that a long kernel on another stream still uses is handed out
 * again, when the pool is otherwise full, only behind that kernel: the
 * pool's stream is made to wait for it (cudaMallocAsync's internal
 * dependencies), so no work on the pool's stream touches the block early. */
START_TEST(a_block_in_use_on_another_stream_is_reused_only_behind_it)
{
    cudaStream_t other;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking), 0);
    mp_pool *p = fixed_gpu("stream-safe", 1 << 20, 2);
    void *a, *b, *x = NULL;
    ck_ok(mp_pool_allocate(p, 1 << 20, &a));
    ck_ok(mp_pool_allocate(p, 1 << 20, &b));
    ck_assert_int_eq(cudaStreamSynchronize(NULL), 0);
    ck_assert_int_eq(mpt_spin(a, 400.0, other), 0);
    ck_ok(mp_pool_deallocate_on_stream(p, a, other));
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.pending_frees, 1);
    ck_assert_uint_eq(s.live_allocations, 1);
    mp_memory_snapshot m = MP_MEMORY_SNAPSHOT_INIT; /* a's bytes wait: neither free nor in use */
    ck_ok(mp_pool_memory_snapshot(p, MP_SNAPSHOT_NOW, &m, NULL, 0, NULL, 0));
    ck_assert_uint_eq(m.pending_bytes, 1 << 20);
    ck_assert_uint_eq(m.pending_blocks, 1);
    ck_assert_uint_eq(m.live_blocks, 1);
    ck_assert_uint_eq(m.backend, MP_BACKEND_CUDA_DEVICE);
    ck_assert_uint_eq(m.memory_type, MP_MEMORY_GPU);
    ck_status(mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER);
    ck_detail_has("already freed on a stream");
    bool owned = true;
    ck_ok(mp_pool_owns(p, a, &owned));
    ck_assert(!owned);
    ck_intact(p);
    ck_ok(mp_pool_allocate(p, 1 << 20, &x)); /* the pool is full but for a */
    ck_assert_ptr_eq(x, a);
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_assert_int_eq(cudaStreamQuery(other), cudaErrorNotReady);  /* the kernel still runs */
    ck_assert_int_eq(cudaStreamQuery(NULL), cudaErrorNotReady);   /* and the pool's stream waits for it */
    ck_assert_int_eq(cudaStreamSynchronize(other), 0);
    ck_assert_int_eq(cudaStreamSynchronize(NULL), 0);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, b));
    ck_intact(p);
    mp_pool_destroy(p);
    cudaStreamDestroy(other);
}
END_TEST

/* Frees wait per stream: a block freed on a slow stream does not hold back
 * one freed later on a fast stream (one FIFO for every stream would). */
START_TEST(a_slow_stream_does_not_hold_back_a_fast_one)
{
    cudaStream_t slow, fast;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&slow, cudaStreamNonBlocking), 0);
    ck_assert_int_eq(cudaStreamCreateWithFlags(&fast, cudaStreamNonBlocking), 0);
    mp_pool *p = fixed_gpu("two-lanes", 1 << 20, 2);
    void *a, *b, *x = NULL;
    ck_ok(mp_pool_allocate(p, 1 << 20, &a));
    ck_ok(mp_pool_allocate(p, 1 << 20, &b));
    ck_assert_int_eq(mpt_spin(a, 400.0, slow), 0);
    ck_ok(mp_pool_deallocate_on_stream(p, a, slow)); /* first in, still busy */
    ck_assert_int_eq(mpt_spin(b, 1.0, fast), 0);
    ck_ok(mp_pool_deallocate_on_stream(p, b, fast));
    ck_assert_uint_eq(stats_of(p).pending_frees, 2);
    ck_assert_int_eq(cudaStreamSynchronize(fast), 0);
    ck_ok(mp_pool_allocate(p, 1 << 20, &x)); /* the pool is full: only b can serve */
    ck_assert_ptr_eq(x, b);
    ck_assert_int_eq(cudaStreamQuery(slow), cudaErrorNotReady); /* a still waits behind its kernel */
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.pending_frees, 1);
    ck_assert_uint_eq(s.live_allocations, 1);
    ck_intact(p);
    ck_assert_int_eq(cudaStreamSynchronize(slow), 0);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_trim(p, 0)); /* collects a too */
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    mp_pool_destroy(p);
    cudaStreamDestroy(slow);
    cudaStreamDestroy(fast);
}
END_TEST

/* On the pool's own stream, reuse is immediate: later work on that stream
 * runs after the kernel that used the block. */
START_TEST(a_block_freed_on_the_pools_stream_is_reused_at_once)
{
    cudaStream_t own;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&own, cudaStreamNonBlocking), 0);
    mp_pool *p = fixed_gpu("own-stream", 1 << 20, 2);
    ck_ok(mp_pool_set_stream(p, own));
    void *stream = NULL;
    ck_ok(mp_pool_get_stream(p, &stream));
    ck_assert_ptr_eq(stream, own);
    void *a, *x;
    ck_ok(mp_pool_allocate(p, 1 << 20, &a));
    ck_assert_int_eq(mpt_spin(a, 200.0, own), 0);
    ck_ok(mp_pool_deallocate_on_stream(p, a, own));
    ck_assert_uint_eq(stats_of(p).pending_frees, 0);
    ck_ok(mp_pool_allocate(p, 1 << 20, &x));
    ck_assert_ptr_eq(x, a);
    ck_assert_int_eq(cudaStreamQuery(own), cudaErrorNotReady); /* reused while the kernel runs: stream order */
    ck_assert_int_eq(cudaStreamSynchronize(own), 0);
    ck_ok(mp_pool_deallocate(p, x));
    mp_pool_destroy(p);
    cudaStreamDestroy(own);
}
END_TEST

/* The high-performance preset runs lock-free (thread caches): device blocks
 * cycle through the cache, a kernel writes them, a block freed on another
 * stream stays off the cache until the stream is done, and double frees
 * are refused on the fast path. */
START_TEST(lock_free_gpu_pool_caches_device_blocks)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_high_performance_gpu(&c, 0));
    ck_assert_int_eq(c.sync_type, MP_SYNC_LOCK_FREE);
    c.initial_size = 64 << 20;
    mp_pool *p = NULL;
    ck_ok(mp_pool_create("lf-gpu", MP_MEMORY_GPU, &c, &p));
    void *a, *b;
    ck_ok(mp_pool_allocate(p, 4096, &a));
    ck_ok(mp_pool_deallocate(p, a)); /* into this thread's cache */
    ck_ok(mp_pool_allocate(p, 4096, &b));
    ck_assert_ptr_eq(a, b); /* and straight back out */
    struct cudaPointerAttributes attr;
    ck_assert_int_eq(cudaPointerGetAttributes(&attr, b), 0);
    ck_assert_int_eq(attr.type, cudaMemoryTypeDevice);
    ck_assert_int_eq(mpt_fill(b, 1024, 7u, NULL), 0);
    unsigned h[1024];
    ck_ok(mp_pool_copy_device_to_host(p, h, b, sizeof h));
    ck_assert_uint_eq(h[5], 7u ^ (unsigned)(5 * 2654435761u));
    ck_ok(mp_pool_deallocate(p, b));
    ck_status(mp_pool_deallocate(p, b), MP_ERR_INVALID_POINTER);
    cudaStream_t other;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking), 0);
    ck_ok(mp_pool_allocate(p, 4096, &a));
    ck_assert_int_eq(mpt_spin(a, 200.0, other), 0);
    ck_ok(mp_pool_deallocate_on_stream(p, a, other));
    ck_status(mp_pool_deallocate(p, a), MP_ERR_INVALID_POINTER); /* waiting: not the cache's */
    ck_ok(mp_pool_allocate(p, 4096, &b));
    ck_assert_ptr_ne(a, b); /* the busy block is not handed out */
    ck_assert_int_eq(cudaStreamSynchronize(other), 0);
    ck_ok(mp_pool_deallocate(p, b));
    ck_assert_uint_eq(stats_of(p).live_allocations, 0);
    ck_intact(p);
    mp_pool_destroy(p);
    cudaStreamDestroy(other);
}
END_TEST

/* A fixed GPU pool of one thread at a time keeps one cache of device
 * blocks (no lock), still moves to a device once its blocks are freed, and
 * a counters-only lock-free GPU pool counts its cached blocks exactly. */
START_TEST(one_thread_and_counters_only_gpu_pools)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_fixed_size_gpu(&c, 4096, 0));
    c.thread_safe = false;
    c.track_stats = false;
    mp_pool *p = NULL;
    ck_ok(mp_pool_create("solo-gpu", MP_MEMORY_GPU, &c, &p));
    void *v[100];
    for (int i = 0; i < 100; i++)
        ck_ok(mp_pool_allocate(p, 4096, &v[i]));
    ck_assert_int_eq(mpt_fill(v[7], 1024, 3u, NULL), 0);
    unsigned h[1024];
    ck_ok(mp_pool_copy_device_to_host(p, h, v[7], sizeof h));
    ck_assert_uint_eq(h[9], 3u ^ (unsigned)(9 * 2654435761u));
    for (int i = 0; i < 100; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    ck_status(mp_pool_deallocate(p, v[0]), MP_ERR_INVALID_POINTER);
    ck_ok(mp_pool_set_device(p, 0)); /* the cached blocks go back first */
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
    ck_ok(mp_pool_allocate(p, 4096, &v[0]));
    ck_ok(mp_pool_deallocate(p, v[0]));
    ck_intact(p);
    mp_pool_destroy(p);

    ck_ok(mp_config_high_performance_gpu(&c, 0));
    c.track_stats = c.counters_only = true;
    c.initial_size = 16 << 20;
    ck_ok(mp_pool_create("counted-gpu", MP_MEMORY_GPU, &c, &p));
    for (int i = 0; i < 100; i++)
        ck_ok(mp_pool_allocate(p, 1000, &v[i])); /* class 1024 */
    for (int i = 0; i < 50; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    mp_stats st = stats_of(p);
    ck_assert_uint_eq(st.allocation_count, 100);
    ck_assert_uint_eq(st.deallocation_count, 50);
    ck_assert_uint_eq(st.current_used, 50 * 1024);
    size_t n;
    ck_status(mp_pool_get_allocations(p, NULL, 0, &n), MP_ERR_INVALID_OPERATION);
    for (int i = 50; i < 100; i++)
        ck_ok(mp_pool_deallocate(p, v[i]));
    ck_assert_uint_eq(stats_of(p).current_used, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* Device out of memory is MP_ERR_OUT_OF_MEMORY with the CUDA error named. */
START_TEST(device_out_of_memory_is_out_of_memory)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    c.initial_size = 0;
    mp_pool *p = NULL;
    ck_ok(mp_pool_create("huge", MP_MEMORY_GPU, &c, &p));
    void *x = (void *)1;
    ck_status(mp_pool_allocate(p, (size_t)1 << 42, &x), MP_ERR_OUT_OF_MEMORY); /* 4 TiB */
    /* Named as the driver or the runtime says it: mapped on demand, or cudaMalloc'd. */
    ck_assert_msg(strstr(mp_last_error_message(), "CUDA_ERROR_OUT_OF_MEMORY") ||
                      strstr(mp_last_error_message(), "cudaErrorMemoryAllocation"),
                  "detail \"%s\" names no CUDA out-of-memory error", mp_last_error_message());
    ck_assert_ptr_null(x);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, 0);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* A debug pool fills a freed block with its free pattern, but not a block
 * freed on a stream: work queued there may still read it (here, a pinned
 * host block the host reads back). A plain free still fills. Sizes: a
 * small-block page's and a TLSF block's. */
START_TEST(a_debug_pool_leaves_a_block_freed_on_a_stream_as_it_was)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_debug_cpu(&c));
    c.use_pinned_memory = true;
    mp_pool *p = NULL;
    ck_ok(mp_pool_create("debug-pinned", MP_MEMORY_CPU, &c, &p));
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), 0);
    static const size_t sizes[] = {4096, 256 * 1024};
    for (int k = 0; k < 2; k++) {
        size_t n = sizes[k];
        unsigned char *b = NULL, *d = NULL;
        ck_ok(mp_pool_allocate(p, n, (void **)&b));
        ck_ok(mp_pool_allocate(p, n, (void **)&d));
        memset(b, 0x5A, n);
        memset(d, 0x5A, n);
        ck_ok(mp_pool_deallocate_on_stream(p, b, s));
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(b[i] == 0x5A, "byte %zu of a %zu-byte block freed on a stream is 0x%02x", i, n, b[i]);
        ck_ok(mp_pool_deallocate(p, d));
        ck_assert_uint_eq(d[0], 0xDD); /* the debug free pattern (debug.h) */
    }
    ck_assert_int_eq(cudaStreamSynchronize(s), 0);
    ck_ok(mp_pool_check(p));
    mp_pool_destroy(p);
    cudaStreamDestroy(s);
}
END_TEST
#endif

/* ---- with a device ------------------------------------------------------ */

static void round_trip(mp_pool *p, size_t n)
{
    unsigned char *host = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++)
        host[i] = (unsigned char)(i * 31 + n);
    void *d1 = NULL, *d2 = NULL;
    ck_ok(mp_pool_allocate(p, n, &d1));
    ck_ok(mp_pool_allocate(p, n, &d2));
    ck_ok(mp_pool_copy_host_to_device(p, d1, host, n));
    ck_ok(mp_pool_copy_device_to_device(p, d2, d1, n));
    memset(back, 0, n);
    ck_ok(mp_pool_copy_device_to_host(p, back, d2, n));
    ck_assert_int_eq(memcmp(host, back, n), 0);
    ck_ok(mp_pool_deallocate(p, d1));
    ck_ok(mp_pool_deallocate(p, d2));
    ck_intact(p);
    free(host);
    free(back);
}

START_TEST(device_pools_round_trip_data)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    mp_pool *v = new_gpu_pool("gpu-var", c);
    mp_backend_kind k;
    ck_ok(mp_pool_get_backend(v, &k));
    ck_assert_int_eq(k, MP_BACKEND_CUDA_DEVICE);
    for (size_t n = 1; n <= (4u << 20); n *= 7)
        round_trip(v, n);
    ck_ok(mp_config_fixed_size_gpu(&c, 4096, 0));
    mp_pool *f = new_gpu_pool("gpu-fixed", c);
    round_trip(f, 4096);
    round_trip(f, 1);
    mp_pool_destroy(v);
    mp_pool_destroy(f);
}
END_TEST

START_TEST(pinned_and_managed_pools_round_trip_data)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    c.use_managed_memory = true;
    mp_pool *m = new_gpu_pool("managed", c);
    round_trip(m, 1 << 16);
    /* Managed memory is readable from the host directly. */
    unsigned char *b = NULL;
    ck_ok(mp_pool_allocate(m, 64, (void **)&b));
    memset(b, 7, 64);
    ck_assert_uint_eq(b[63], 7);
    ck_ok(mp_pool_deallocate(m, b));
    mp_pool_destroy(m);

    ck_ok(mp_config_default_cpu(&c));
    c.use_pinned_memory = true;
    mp_pool *pinned = NULL;
    ck_ok(mp_pool_create("pinned", MP_MEMORY_CPU, &c, &pinned));
    mp_backend_kind k;
    ck_ok(mp_pool_get_backend(pinned, &k));
    ck_assert_int_eq(k, MP_BACKEND_CUDA_PINNED);
    ck_ok(mp_pool_allocate(pinned, 4096, (void **)&b));
    memset(b, 9, 4096);
    ck_ok(mp_pool_deallocate(pinned, b));
    mp_pool_destroy(pinned);
}
END_TEST

START_TEST(allocation_flags_use_side_arenas)
{
    mp_pool *p = new_pool("host-with-flags", cfg_variable(1 << 16));
    unsigned char *pinned = NULL, *managed = NULL;
    ck_ok(mp_pool_allocate_flags(p, 1000, MP_ALLOC_PINNED, (void **)&pinned));
    ck_ok(mp_pool_allocate_flags(p, 1000, MP_ALLOC_MANAGED, (void **)&managed));
    memset(pinned, 1, 1000);
    memset(managed, 2, 1000);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 2);
    ck_assert_uint_eq(s.chunk_count, 3);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, pinned));
    ck_ok(mp_pool_deallocate(p, managed));
    ck_ok(mp_pool_trim(p, 1 << 16));
    ck_assert_uint_eq(stats_of(p).chunk_count, 1);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(gpu_pool_serves_pinned_and_managed_flags)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    mp_pool *p = new_gpu_pool("gpu-flags", c);
    unsigned char *pinned = NULL, *managed = NULL;
    void *device = NULL;
    ck_ok(mp_pool_allocate(p, 4096, &device));
    ck_ok(mp_pool_allocate_flags(p, 4096, MP_ALLOC_PINNED, (void **)&pinned));
    ck_ok(mp_pool_allocate_flags(p, 4096, MP_ALLOC_MANAGED, (void **)&managed));
    memset(pinned, 0x5C, 4096); /* both are host-accessible */
    ck_ok(mp_pool_copy_host_to_device(p, device, pinned, 4096));
    ck_ok(mp_pool_copy_device_to_host(p, managed, device, 4096));
    ck_assert_uint_eq(managed[4095], 0x5C);
    ck_assert_uint_eq(stats_of(p).chunk_count, 3);
    ck_ok(mp_pool_deallocate(p, pinned));
    ck_ok(mp_pool_deallocate(p, managed));
    ck_ok(mp_pool_deallocate(p, device));
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(live_device_blocks_never_overlap)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    c.initial_size = 1 << 20;
    mp_pool *p = new_gpu_pool("overlap", c);
    enum { N = 200 };
    uintptr_t at[N];
    size_t len[N];
    for (int i = 0; i < N; i++) {
        len[i] = 1 + (size_t)(i * 7919) % 50000;
        void *b;
        ck_ok(mp_pool_allocate(p, len[i], &b));
        at[i] = (uintptr_t)b;
        ck_assert_uint_eq(at[i] % 256, 0);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            ck_assert(at[i] + len[i] <= at[j] || at[j] + len[j] <= at[i]);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

START_TEST(device_selection_and_limits)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    c.max_size = 2 << 20;
    mp_pool *p = new_gpu_pool("limits", c);
    int dev = -1;
    ck_ok(mp_pool_get_device(p, &dev));
    ck_assert_int_eq(dev, 0);
    ck_status(mp_pool_set_device(p, 4096), MP_ERR_INVALID_ARGUMENT);
    ck_ok(mp_pool_set_device(p, 0));
    void *a, *b;
    ck_ok(mp_pool_allocate(p, 1 << 20, &a));
    ck_status(mp_pool_set_device(p, 0), MP_ERR_INVALID_OPERATION);
    ck_status(mp_pool_allocate(p, 3 << 20, &b), MP_ERR_OUT_OF_MEMORY);
    ck_detail_has("max_size");
    ck_ok(mp_pool_deallocate(p, a));
    mp_stats before = stats_of(p);
    ck_ok(mp_pool_trim(p, 0));
    ck_assert(stats_of(p).reserved_bytes < before.reserved_bytes);
    c.device_id = 4096;
    mp_pool *q = (mp_pool *)1;
    ck_status(mp_pool_create("nodev", MP_MEMORY_GPU, &c, &q), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
}
END_TEST

/* ---- without a device ----------------------------------------------------- */

START_TEST(gpu_pools_are_unsupported_without_a_device)
{
    int n = -1;
    ck_ok(mp_gpu_device_count(&n));
    ck_assert_int_eq(n, 0);
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    mp_pool *p = (mp_pool *)1;
    ck_status(mp_pool_create("gpu", MP_MEMORY_GPU, &c, &p), MP_ERR_UNSUPPORTED);
    ck_assert(strstr(mp_last_error_message(), "CUDA") || strstr(mp_last_error_message(), "device"));
    ck_assert_ptr_null(p);
    ck_ok(mp_config_default_cpu(&c));
    c.use_pinned_memory = true;
    ck_status(mp_pool_create("pinned", MP_MEMORY_CPU, &c, &p), MP_ERR_UNSUPPORTED);
    c.use_pinned_memory = false;
    c.use_managed_memory = true;
    ck_status(mp_pool_create("managed", MP_MEMORY_CPU, &c, &p), MP_ERR_UNSUPPORTED);
    void *x = (void *)1;
    ck_status(mp_allocate_gpu(NULL, 16, &x), MP_ERR_UNSUPPORTED);
    ck_assert_ptr_null(x);
    ck_status(mp_deallocate_gpu(NULL, x), MP_ERR_UNSUPPORTED);
}
END_TEST

START_TEST(flagged_allocations_are_unsupported_and_harm_nothing)
{
    mp_pool *p = new_pool("host", cfg_variable(1 << 16));
    void *keep = alloc_ok(p, 10);
    void *x = (void *)1;
    ck_status(mp_pool_allocate_flags(p, 64, MP_ALLOC_PINNED, &x), MP_ERR_UNSUPPORTED);
    ck_assert_ptr_null(x);
    ck_status(mp_pool_allocate_flags(p, 64, MP_ALLOC_MANAGED, &x), MP_ERR_UNSUPPORTED);
    mp_stats s = stats_of(p);
    ck_assert_uint_eq(s.live_allocations, 1);
    ck_assert_uint_eq(s.chunk_count, 1);
    ck_intact(p);
    ck_ok(mp_pool_deallocate(p, keep));
    mp_pool_destroy(p);
}
END_TEST

static Suite *device_suite(void)
{
    Suite *s = suite_create("gpu-device");
    TCase *t = tcase_create("device");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, device_pools_round_trip_data);
    tcase_add_test(t, pinned_and_managed_pools_round_trip_data);
    tcase_add_test(t, allocation_flags_use_side_arenas);
    tcase_add_test(t, gpu_pool_serves_pinned_and_managed_flags);
    tcase_add_test(t, live_device_blocks_never_overlap);
    tcase_add_test(t, device_selection_and_limits);
#ifdef MEMPOOL_TEST_CUDA
    tcase_add_test(t, a_kernel_writes_pool_memory);
    tcase_add_test(t, a_block_in_use_on_another_stream_is_reused_only_behind_it);
    tcase_add_test(t, a_block_freed_on_the_pools_stream_is_reused_at_once);
    tcase_add_test(t, a_slow_stream_does_not_hold_back_a_fast_one);
    tcase_add_test(t, device_out_of_memory_is_out_of_memory);
    tcase_add_test(t, lock_free_gpu_pool_caches_device_blocks);
    tcase_add_test(t, one_thread_and_counters_only_gpu_pools);
    tcase_add_test(t, a_debug_pool_leaves_a_block_freed_on_a_stream_as_it_was);
#endif
    suite_add_tcase(s, t);
    return s;
}

static Suite *nodevice_suite(void)
{
    Suite *s = suite_create("gpu-nodevice");
    TCase *t = tcase_create("nodevice");
    tcase_add_test(t, gpu_pools_are_unsupported_without_a_device);
    tcase_add_test(t, flagged_allocations_are_unsupported_and_harm_nothing);
    suite_add_tcase(s, t);
    return s;
}

int main(int argc, char **argv)
{
    int devices = 0;
    mp_gpu_device_count(&devices);
    int want_device = argc < 2 || strcmp(argv[1], "nodevice") != 0;
    if (want_device && devices == 0) {
        printf("SKIP: no CUDA device found (%s); the GPU device suite runs on a machine with one\n",
               mp_version_string());
        return SKIP;
    }
    if (!want_device && devices > 0) {
        printf("SKIP: %d CUDA device(s) present; the no-device suite runs where there is none\n", devices);
        return SKIP;
    }
    SRunner *sr = srunner_create(want_device ? device_suite() : nodevice_suite());
    /* The device count above initialised CUDA, which does not survive fork:
     * the tests run in this process. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
