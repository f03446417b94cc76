/* Pools on two GPUs at once. Needs two CUDA devices: with fewer it prints
 * why and exits 77 (ctest: skipped); device selection with one device is
 * tested by test_gpu (device 0 works, an absent device is an invalid
 * argument). Each test checks, through cudaPointerGetAttributes, that every
 * block is memory of its pool's device, and that the library leaves the
 * caller's current device as it was. */
#include "mp_test.h"

#define SKIP 77

#ifdef MEMPOOL_TEST_CUDA
#include <cuda_runtime_api.h>
#include <pthread.h>

int mpt_fill(void *p, size_t words, unsigned seed, void *stream);
int mpt_spin(void *p, double ms, void *stream);

/* The device whose memory p is, or -1. */
static int device_of(const void *p)
{
    struct cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess)
        return -1;
    return a.type == cudaMemoryTypeDevice ? a.device : -1;
}

static int current_device(void)
{
    int d = -1;
    ck_assert_int_eq(cudaGetDevice(&d), cudaSuccess);
    return d;
}

static mp_config on_device(int device, mp_sync_type sync)
{
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_default_gpu(&c));
    c.device_id = device;
    c.initial_size = 8 << 20;
    c.sync_type = sync;
    c.track_stats = sync != MP_SYNC_LOCK_FREE;
    return c;
}

static void check_words(const unsigned *h, size_t words, unsigned seed)
{
    for (size_t i = 0; i < words; i++)
        if (h[i] != (seed ^ (unsigned)(i * 2654435761u)))
            ck_abort_msg("word %zu is %#x", i, h[i]);
}

/* A pool on each device, both in use at once, for each sync mode (_i) and a
 * fixed-size pool: every block is on its pool's device, whichever device is
 * current when it is allocated, and the current device stays put. */
START_TEST(pools_on_both_devices_hand_out_their_own_memory)
{
    static const mp_sync_type syncs[] = {MP_SYNC_LOCK_FREE, MP_SYNC_MUTEX};
    mp_pool *p[2];
    for (int d = 0; d < 2; d++) {
        mp_config c = on_device(d, syncs[_i]);
        p[d] = new_gpu_pool(d ? "mg-1" : "mg-0", c);
        int got = -1;
        ck_ok(mp_pool_get_device(p[d], &got));
        ck_assert_int_eq(got, d);
    }
    enum { N = 64 };
    void *b[2][N];
    for (int cur = 0; cur < 2; cur++) {
        ck_assert_int_eq(cudaSetDevice(cur), cudaSuccess);
        for (int i = 0; i < N; i++)
            for (int d = 0; d < 2; d++)
                ck_ok(mp_pool_allocate(p[d], 256 + (size_t)i * 4096, &b[d][i]));
        ck_assert_int_eq(current_device(), cur);
        for (int i = 0; i < N; i++)
            for (int d = 0; d < 2; d++)
                ck_assert_int_eq(device_of(b[d][i]), d);
        ck_status(mp_pool_deallocate(p[1], b[0][0]), MP_ERR_INVALID_POINTER); /* the other device's pool */
        for (int i = 0; i < N; i++)
            for (int d = 0; d < 2; d++)
                ck_ok(mp_pool_deallocate(p[d], b[d][i]));
        ck_assert_int_eq(current_device(), cur);
    }
    mp_config f = MP_CONFIG_INIT;
    ck_ok(mp_config_fixed_size_gpu(&f, 1 << 16, 1));
    mp_pool *fx = new_gpu_pool("mg-fixed-1", f);
    void *x;
    ck_ok(mp_pool_allocate(fx, 1 << 16, &x));
    ck_assert_int_eq(device_of(x), 1);
    ck_ok(mp_pool_deallocate(fx, x));
    ck_intact(fx);
    mp_pool_destroy(fx);
    ck_assert_int_eq(cudaSetDevice(0), cudaSuccess);
    for (int d = 0; d < 2; d++) {
        ck_intact(p[d]);
        mp_pool_destroy(p[d]);
    }
}
END_TEST

/* A kernel fills a block on device 0; the copy helper moves it to a block
 * on device 1 (peer to peer where the hardware allows, and then with peer
 * access enabled by the library) and back to the host through device 1's
 * pool; device 1's kernel output comes back through device 0's pool. */
START_TEST(copies_between_devices_carry_the_data)
{
    enum { WORDS = 1 << 20 };
    const size_t bytes = WORDS * sizeof(unsigned);
    mp_pool *p0 = new_gpu_pool("mg-copy-0", on_device(0, MP_SYNC_LOCK_FREE));
    mp_pool *p1 = new_gpu_pool("mg-copy-1", on_device(1, MP_SYNC_LOCK_FREE));
    unsigned *d0, *d1, *h = malloc(bytes);
    ck_ok(mp_pool_allocate(p0, bytes, (void **)&d0));
    ck_ok(mp_pool_allocate(p1, bytes, (void **)&d1));
    ck_assert_int_eq(cudaSetDevice(0), cudaSuccess);
    ck_assert_int_eq(mpt_fill(d0, WORDS, 0x1234u, NULL), 0);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);
    ck_ok(mp_pool_copy_device_to_device(p1, d1, d0, bytes));
    memset(h, 0, bytes);
    ck_ok(mp_pool_copy_device_to_host(p1, h, d1, bytes));
    check_words(h, WORDS, 0x1234u);

    ck_assert_int_eq(cudaSetDevice(1), cudaSuccess);
    ck_assert_int_eq(mpt_fill(d1, WORDS, 0x9876u, NULL), 0);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);
    ck_assert_int_eq(cudaSetDevice(0), cudaSuccess);
    ck_ok(mp_pool_copy_device_to_device(p0, d0, d1, bytes)); /* the other way, on device 0's stream */
    ck_assert_int_eq(current_device(), 0);
    memset(h, 0, bytes);
    ck_ok(mp_pool_copy_device_to_host(p0, h, d0, bytes));
    check_words(h, WORDS, 0x9876u);

    int can01 = 0, can10 = 0;
    ck_assert_int_eq(cudaDeviceCanAccessPeer(&can01, 0, 1), cudaSuccess);
    ck_assert_int_eq(cudaDeviceCanAccessPeer(&can10, 1, 0), cudaSuccess);
    printf("peer access: device 0 -> 1 %s, 1 -> 0 %s\n", can01 ? "yes" : "no", can10 ? "yes" : "no");
    if (can01) { /* the library turned it on: turning it on again says so */
        ck_assert_int_eq(cudaDeviceEnablePeerAccess(1, 0), cudaErrorPeerAccessAlreadyEnabled);
        cudaGetLastError();
    }

    /* Peer bandwidth, for the record (not asserted). */
    cudaEvent_t t0, t1;
    cudaEventCreate(&t0);
    cudaEventCreate(&t1);
    cudaEventRecord(t0, NULL);
    for (int i = 0; i < 10; i++)
        ck_ok(mp_pool_copy_device_to_device(p0, d0, d1, bytes));
    cudaEventRecord(t1, NULL);
    cudaEventSynchronize(t1);
    float ms = 0;
    cudaEventElapsedTime(&ms, t0, t1);
    printf("device 1 -> 0 through mp_pool_copy_device_to_device: %.1f GB/s (4 MiB copies)\n",
           10.0 * bytes / (ms * 1e6));
    cudaEventDestroy(t0);
    cudaEventDestroy(t1);

    ck_status(mp_pool_copy_device_to_device(p0, d0, NULL, bytes), MP_ERR_INVALID_ARGUMENT);
    ck_status(mp_pool_copy_device_to_device(p0, d0, d1, 0), MP_ERR_INVALID_ARGUMENT);
    ck_ok(mp_pool_deallocate(p0, d0));
    ck_ok(mp_pool_deallocate(p1, d1));
    ck_intact(p0);
    ck_intact(p1);
    mp_pool_destroy(p0);
    mp_pool_destroy(p1);
    free(h);
}
END_TEST

/* The registry holds a pool per device; the global helpers allocate and
 * free by name, each on its device, and refuse a block of the other one. */
START_TEST(registry_and_global_helpers_keep_a_pool_per_device)
{
    const char *names[2] = {"mg-reg-0", "mg-reg-1"};
    for (int d = 0; d < 2; d++) {
        mp_config c = on_device(d, MP_SYNC_LOCK_FREE);
        mp_pool *p = NULL;
        ck_ok(mp_registry_create_gpu_pool(names[d], &c, &p));
        mp_pool *q = NULL;
        ck_ok(mp_registry_get_gpu_pool(names[d], &q));
        ck_assert_ptr_eq(p, q);
        int got = -1;
        ck_ok(mp_pool_get_device(q, &got));
        ck_assert_int_eq(got, d);
    }
    void *b[2][16];
    for (int i = 0; i < 16; i++)
        for (int d = 0; d < 2; d++) {
            ck_ok(mp_allocate_gpu(names[d], 1000 + (size_t)i * 100, &b[d][i]));
            ck_assert_int_eq(device_of(b[d][i]), d);
        }
    ck_status(mp_deallocate_gpu(names[0], b[1][3]), MP_ERR_INVALID_POINTER);
    ck_status(mp_deallocate_gpu(names[1], b[0][3]), MP_ERR_INVALID_POINTER);
    for (int i = 0; i < 16; i++)
        for (int d = 0; d < 2; d++)
            ck_ok(mp_deallocate_gpu(names[d], b[d][i]));
    char *json = NULL;
    ck_ok(mp_registry_stats_json(&json));
    ck_assert_ptr_nonnull(strstr(json, names[0]));
    ck_assert_ptr_nonnull(strstr(json, names[1]));
    mp_string_free(json);
    for (int d = 0; d < 2; d++) {
        mp_pool *p = NULL;
        ck_ok(mp_registry_find(names[d], &p));
        ck_intact(p);
        ck_ok(mp_registry_destroy(names[d]));
    }
}
END_TEST

/* A block freed on a stream of device 1 waits for that stream's work (the
 * event is recorded on device 1). A full pool reuses it rather than fail,
 * its own stream (device 1's) made to wait for that work: cudaMallocAsync's
 * internal dependencies (issue 22). */
START_TEST(stream_ordered_free_on_the_second_device)
{
    cudaStream_t s1;
    ck_assert_int_eq(cudaSetDevice(1), cudaSuccess);
    ck_assert_int_eq(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking), cudaSuccess);
    ck_assert_int_eq(cudaSetDevice(0), cudaSuccess);
    mp_config c = MP_CONFIG_INIT;
    ck_ok(mp_config_fixed_size_gpu(&c, 1 << 20, 1));
    c.initial_size = c.max_size = 2 << 20;
    mp_pool *p = new_gpu_pool("mg-stream-1", c);
    void *a, *b, *x = NULL;
    ck_ok(mp_pool_allocate(p, 1 << 20, &a));
    ck_ok(mp_pool_allocate(p, 1 << 20, &b));
    ck_assert_int_eq(device_of(a), 1);
    ck_assert_int_eq(cudaSetDevice(1), cudaSuccess);
    ck_assert_int_eq(mpt_spin(a, 300.0, s1), 0);
    ck_assert_int_eq(cudaSetDevice(0), cudaSuccess);
    ck_ok(mp_pool_deallocate_on_stream(p, a, s1));
    ck_ok(mp_pool_allocate(p, 1 << 20, &x)); /* full: a comes back behind the kernel */
    ck_assert_ptr_eq(x, a);
    ck_assert_int_eq(current_device(), 0);
    ck_assert_int_eq(cudaSetDevice(1), cudaSuccess);
    ck_assert_int_eq(cudaStreamQuery(s1), cudaErrorNotReady);
    ck_assert_int_eq(cudaStreamQuery(0), cudaErrorNotReady); /* the pool's stream waits for s1's kernel */
    ck_assert_int_eq(cudaStreamSynchronize(s1), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(0), cudaSuccess);
    ck_assert_int_eq(cudaSetDevice(0), cudaSuccess);
    ck_ok(mp_pool_deallocate(p, x));
    ck_ok(mp_pool_deallocate(p, b));
    ck_intact(p);
    mp_pool_destroy(p);
    cudaStreamDestroy(s1);
}
END_TEST

/* An idle pool moves from device 0 to device 1; one with live blocks may
 * not; a device past the last is an invalid argument. */
START_TEST(an_idle_pool_moves_to_the_other_device)
{
    int n = 0;
    ck_ok(mp_gpu_device_count(&n));
    mp_pool *p = new_gpu_pool("mg-move", on_device(0, MP_SYNC_MUTEX));
    void *a;
    ck_ok(mp_pool_allocate(p, 4096, &a));
    ck_assert_int_eq(device_of(a), 0);
    ck_status(mp_pool_set_device(p, 1), MP_ERR_INVALID_OPERATION);
    ck_ok(mp_pool_deallocate(p, a));
    ck_ok(mp_pool_set_device(p, 1));
    ck_ok(mp_pool_allocate(p, 4096, &a));
    ck_assert_int_eq(device_of(a), 1);
    ck_ok(mp_pool_deallocate(p, a));
    ck_status(mp_pool_set_device(p, n), MP_ERR_INVALID_ARGUMENT);
    int got = -1;
    ck_ok(mp_pool_get_device(p, &got));
    ck_assert_int_eq(got, 1);
    ck_intact(p);
    mp_pool_destroy(p);
}
END_TEST

/* Two threads, one per device, churn their device's lock-free pool at once;
 * a third frees blocks of both. Every block is on its device, and both
 * pools end with nothing live. */
typedef struct {
    mp_pool *pool;
    int device;
    int wrong;
} churn_arg;

static void *churn_device(void *v)
{
    churn_arg *a = v;
    void *keep[32] = {0};
    cudaSetDevice(a->device);
    for (int i = 0; i < 20000; i++) {
        int k = i % 32;
        if (keep[k] && mp_pool_deallocate(a->pool, keep[k]) != MP_OK)
            a->wrong++;
        keep[k] = NULL;
        if (mp_pool_allocate(a->pool, 64 + (size_t)(i % 50) * 128, &keep[k]) != MP_OK || device_of(keep[k]) != a->device)
            a->wrong++;
    }
    for (int k = 0; k < 32; k++)
        if (keep[k] && mp_pool_deallocate(a->pool, keep[k]) != MP_OK)
            a->wrong++;
    return NULL;
}

START_TEST(threads_on_both_devices_at_once)
{
    mp_pool *p[2] = {new_gpu_pool("mg-thr-0", on_device(0, MP_SYNC_MUTEX)), new_gpu_pool("mg-thr-1", on_device(1, MP_SYNC_MUTEX))};
    mp_pool *q[2] = {new_gpu_pool("mg-thr-lf-0", on_device(0, MP_SYNC_LOCK_FREE)),
                     new_gpu_pool("mg-thr-lf-1", on_device(1, MP_SYNC_LOCK_FREE))};
    churn_arg a[4] = {{p[0], 0, 0}, {p[1], 1, 0}, {q[0], 0, 0}, {q[1], 1, 0}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, churn_device, &a[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(a[i].wrong, 0);
    }
    for (int d = 0; d < 2; d++) {
        ck_assert_uint_eq(stats_of(p[d]).live_allocations, 0);
        ck_assert_uint_eq(stats_of(q[d]).live_allocations, 0);
        ck_intact(p[d]);
        ck_intact(q[d]);
        mp_pool_destroy(p[d]);
        mp_pool_destroy(q[d]);
    }
}
END_TEST

static Suite *multigpu_suite(void)
{
    Suite *s = suite_create("multi-gpu");
    TCase *t = tcase_create("two devices");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, pools_on_both_devices_hand_out_their_own_memory, 0, 2);
    tcase_add_test(t, copies_between_devices_carry_the_data);
    tcase_add_test(t, registry_and_global_helpers_keep_a_pool_per_device);
    tcase_add_test(t, stream_ordered_free_on_the_second_device);
    tcase_add_test(t, an_idle_pool_moves_to_the_other_device);
    tcase_add_test(t, threads_on_both_devices_at_once);
    suite_add_tcase(s, t);
    return s;
}
#endif

int main(void)
{
    int devices = 0;
    mp_gpu_device_count(&devices);
#ifndef MEMPOOL_TEST_CUDA
    printf("SKIP: built without nvcc and cudart (%d device(s) present); the multi-GPU suite needs both\n", devices);
    return SKIP;
#else
    if (devices < 2) {
        printf("SKIP: %d CUDA device(s) found; the multi-GPU suite needs two (%s)\n", devices, mp_version_string());
        return SKIP;
    }
    printf("multi-GPU suite on %d devices\n", devices);
    SRunner *sr = srunner_create(multigpu_suite());
    srunner_set_fork_status(sr, CK_NOFORK); /* CUDA does not survive fork */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
#endif
}
